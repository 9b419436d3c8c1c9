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
  return text.replace(
    UNPRINTABLE,
    (char) => NAMED[char] ?? `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/**
 * One CSV field per RFC 4180: quoted when it holds a comma, a quote or a line
 * break, quotes doubled. Text is made {@link printable} first, so a field never
 * spans lines.
 *
 * @example
 * ```ts
 * import { csvField } from "./escape.ts";
 * csvField('a "quoted", name'); // '"a ""quoted"", name"'
 * ```
 */
export function csvField(text: string): string {
  const safe = printable(text);
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/**
 * A Prometheus label value (text exposition format): backslash, double quote and
 * newline escaped, other control characters made {@link printable}.
 *
 * @example
 * ```ts
 * import { labelValue } from "./escape.ts";
 * labelValue('say "hi"'); // 'say \\"hi\\"'
 * ```
 */
export function labelValue(text: string): string {
  return printable(text).replaceAll('"', '\\"');
}
