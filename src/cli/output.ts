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

/** Characters encoded per write: a 30 MB JSON text is never held twice (as text and as UTF-8). */
const WRITE_CHARS = 65536;
/** Characters of pieces joined before they are encoded for a write. */
const JOIN_CHARS = 4096;
/** Room for {@link WRITE_CHARS} UTF-16 units as UTF-8 (three bytes each at most). */
let writeBuffer: Uint8Array | null = null;

type Stream = typeof Deno.stdout | typeof Deno.stderr;

/** Writes all of `bytes` (a write may take part of them). */
function writeBytes(stream: Stream, bytes: Uint8Array): void {
  for (let offset = 0; offset < bytes.length;) offset += stream.writeSync(bytes.subarray(offset));
}

function writeAll(stream: Stream, text: string): void {
  writeBuffer ??= new Uint8Array(WRITE_CHARS * 3);
  for (let from = 0; from < text.length;) {
    let to = Math.min(text.length, from + WRITE_CHARS);
    // Never split a surrogate pair between two writes.
    const last = text.charCodeAt(to - 1);
    if (to < text.length && last >= 0xd800 && last <= 0xdbff) to--;
    const { written } = encoder.encodeInto(text.slice(from, to), writeBuffer);
    writeBytes(stream, writeBuffer.subarray(0, written));
    from = to;
  }
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

/**
 * Writes the pieces of a text to stdout, in writes of tens of KiB as the pieces
 * come (a table of 100,000 rows is never held whole), and a newline at the end
 * unless the text is empty or ends with one.
 *
 * @throws {OutputError} when stdout cannot be written.
 */
export function printPieces(pieces: Iterable<string>): void {
  // Pieces are joined a few KiB at a time, then encoded into the write buffer:
  // text joined up to a whole write stayed alive through the garbage
  // collector's young-space passes, which then grew that space (2 MiB more peak
  // for 65,000 rows); encoding each piece alone cost 6% more time.
  const buffer = writeBuffer ??= new Uint8Array(WRITE_CHARS * 3);
  let filled = 0;
  let pending = "";
  const flush = () => {
    try {
      writeBytes(Deno.stdout, buffer.subarray(0, filled));
    } catch (error) {
      throw new OutputError(error);
    }
    filled = 0;
  };
  const encode = () => {
    if (filled + pending.length * 3 > buffer.length) flush();
    // A piece too large for the buffer is written through it by writeOut: the
    // buffer was just flushed.
    if (pending.length > WRITE_CHARS) writeOut(pending);
    else filled += encoder.encodeInto(pending, buffer.subarray(filled)).written;
    pending = "";
  };
  // Nothing at all is written for an empty text.
  let endsLine = true;
  for (const piece of pieces) {
    if (piece === "") continue;
    endsLine = piece.endsWith("\n");
    pending += piece;
    if (pending.length >= JOIN_CHARS) encode();
  }
  if (!endsLine) pending += "\n";
  encode();
  flush();
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
