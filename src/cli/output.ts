/**
 * Writing to stdout and stderr. A failed write to stdout (a full disk, a closed
 * pipe) is an {@link OutputError} the command turns into one line on stderr and
 * its own exit code; a failed write to stderr is dropped, as there is nowhere
 * left to say anything.
 *
 * @module
 */

const encoder = new TextEncoder();

/** The output (standard output, or a file asked for) could not be written. */
export class OutputError extends Error {
  /** Wraps what Deno threw writing to `target` (a path; standard output by default). */
  constructor(cause: unknown, target?: string) {
    const reason = cause instanceof Deno.errors.BrokenPipe
      ? "the reader closed the pipe"
      : cause instanceof Deno.errors.NotCapable
      ? `Deno refused it: grant --allow-write=${target}`
      : cause instanceof Error
      ? cause.message.replace(/ \(os error \d+\)$/, "")
      : String(cause);
    super(`cannot write to ${target ?? "standard output"}: ${reason}`, { cause });
    this.name = "OutputError";
  }
}

function writeAll(stream: typeof Deno.stdout | typeof Deno.stderr, text: string): void {
  const bytes = encoder.encode(text);
  for (let offset = 0; offset < bytes.length;) offset += stream.writeSync(bytes.subarray(offset));
}

/**
 * Writes `text` and a newline (unless it ends with one) to stdout.
 *
 * @throws {OutputError} when stdout cannot be written.
 */
export function printOut(text: string): void {
  try {
    writeAll(Deno.stdout, text.endsWith("\n") ? text : `${text}\n`);
  } catch (error) {
    throw new OutputError(error);
  }
}

/** Writes `text` as is to stdout (for redrawing a terminal). */
export function writeOut(text: string): void {
  try {
    writeAll(Deno.stdout, text);
  } catch (error) {
    throw new OutputError(error);
  }
}

/** Writes `text` and a newline to stderr; a closed or full stderr is ignored. */
export function printErr(text: string): void {
  try {
    writeAll(Deno.stderr, text.endsWith("\n") ? text : `${text}\n`);
  } catch { /* nowhere left to report it */ }
}
