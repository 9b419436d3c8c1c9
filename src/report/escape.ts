/**
 * Text from processes (names, command lines, paths) is chosen by whoever runs
 * them: any user can name a process with an escape sequence or a newline. These
 * functions make such text safe for each output: a terminal, CSV, Prometheus
 * labels. JSON needs nothing more than JSON.stringify.
 *
 * @module
 */

/** C0 controls, DEL, C1 controls and the backslash that starts an escape. */
// deno-lint-ignore no-control-regex
const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\\]/g;
// deno-lint-ignore no-control-regex
const HAS_UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\\]/;

const NAMED: Record<string, string> = { "\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\" };

/**
 * Replaces control characters with visible escapes (`\n`, `\t`, `\r`, `\xHH`)
 * and doubles backslashes, so that text from a process cannot move the cursor,
 * colour the terminal or split a row.
 *
 * @example
 * ```ts
 * import { printable } from "./escape.ts";
 * printable("evil\x1b[31m\nname"); // "evil\\x1b[31m\\nname"
 * ```
 */
export function printable(text: string): string {
  // Almost every text is clean: RegExp#test allocates nothing, a replace with a callback does.
  if (!HAS_UNPRINTABLE.test(text)) return text;
  return text.replace(
    UNPRINTABLE,
    (char) => NAMED[char] ?? `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/** C0 controls, DEL and C1 controls: what a terminal may act on. */
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f]/g;

/**
 * Replaces control characters with visible stand-ins, leaving all other text
 * exact (backslashes included): C0 controls and DEL become their Unicode control
 * pictures (a tab `␉`, a line feed `␊`, ESC `␛`), C1 controls `�`. For data
 * formats, where `\xHH`-style escapes would be ambiguous with the same text
 * typed literally.
 *
 * @example
 * ```ts
 * import { controlPictures } from "./escape.ts";
 * controlPictures("t\tab\x1b[m"); // "t␉ab␛[m"
 * ```
 */
export function controlPictures(text: string): string {
  return text.replace(CONTROL, (char) => {
    const code = char.charCodeAt(0);
    if (code < 0x20) return String.fromCharCode(0x2400 + code);
    return code === 0x7f ? "\u2421" : "\ufffd";
  });
}

/**
 * One CSV field per RFC 4180: quoted when it holds a comma or a quote, quotes
 * doubled. Control characters become {@link controlPictures}, so a record is
 * one physical line and a terminal showing the file is never driven by it.
 *
 * @example
 * ```ts
 * import { csvField } from "./escape.ts";
 * csvField('a "quoted", name'); // '"a ""quoted"", name"'
 * ```
 */
export function csvField(text: string): string {
  const safe = controlPictures(text);
  return /[",]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

const LABEL_ESCAPES: Record<string, string> = { "\\": "\\\\", '"': '\\"', "\n": "\\n" };

/**
 * A Prometheus label value (text exposition format): backslash, double quote and
 * line feed escaped as the format defines, the other control characters made
 * {@link controlPictures} (the format has no escape for them).
 *
 * @example
 * ```ts
 * import { labelValue } from "./escape.ts";
 * labelValue('say "hi"\n'); // 'say \\"hi\\"\\n'
 * ```
 */
export function labelValue(text: string): string {
  return controlPictures(text.replace(/[\\"\n]/g, (char) => LABEL_ESCAPES[char]));
}
