/**
 * Writing to stdout and stderr. A closed pipe (`uss | head -1`) ends output
 * quietly instead of raising.
 *
 * @module
 */

const encoder = new TextEncoder();

function writeAll(stream: typeof Deno.stdout | typeof Deno.stderr, text: string): void {
  const bytes = encoder.encode(text);
  try {
    for (let offset = 0; offset < bytes.length;) offset += stream.writeSync(bytes.subarray(offset));
  } catch (error) {
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
  }
}

/** Writes `text` and a newline to stdout. */
export function printOut(text: string): void {
  writeAll(Deno.stdout, text.endsWith("\n") ? text : `${text}\n`);
}

/** Writes `text` and a newline to stderr. */
export function printErr(text: string): void {
  writeAll(Deno.stderr, text.endsWith("\n") ? text : `${text}\n`);
}
