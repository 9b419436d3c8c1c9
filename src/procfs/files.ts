/**
 * The only module that touches the filesystem. Every other procfs module goes
 * through these functions, so kernel and sandbox errors become one typed error
 * ({@link ProcError}) that callers can turn into a per-process reason.
 *
 * @module
 */

/** Why a procfs read failed, in terms a user can act on. */
export type ProcErrorKind =
  /** ENOENT: the file (usually the process) does not exist. */
  | "not-found"
  /** EACCES/EPERM from the kernel: needs root or the same user. */
  | "permission"
  /** Deno's own sandbox refused the path (missing `-A` / `--allow-read`). */
  | "sandbox"
  /** ESRCH and friends: the process went away while we were reading it. */
  | "gone"
  /** Anything else the kernel said. */
  | "io";

/** A failed read of a procfs file, classified by {@link ProcErrorKind}. */
export class ProcError extends Error {
  /** The classified reason. */
  readonly kind: ProcErrorKind;
  /** The path that failed. */
  readonly path: string;

  /** Wraps `cause` (whatever Deno threw) for `path`. */
  constructor(kind: ProcErrorKind, path: string, cause?: unknown) {
    super(`${path}: ${describeKind(kind, cause)}`, { cause });
    this.name = "ProcError";
    this.kind = kind;
    this.path = path;
  }
}

function describeKind(kind: ProcErrorKind, cause: unknown): string {
  switch (kind) {
    case "not-found":
      return "no such file";
    case "permission":
      return "permission denied";
    case "sandbox":
      return "Deno denied access";
    case "gone":
      return "process exited";
    default:
      return cause instanceof Error ? cause.message : String(cause);
  }
}

/**
 * Maps whatever Deno threw for `path` to a {@link ProcError}.
 *
 * @example
 * ```ts
 * import { toProcError } from "./files.ts";
 * const error = toProcError(new Deno.errors.NotFound("ENOENT"), "/proc/42/maps");
 * error.kind; // "not-found"
 * error.message; // "/proc/42/maps: no such file"
 * ```
 */
export function toProcError(error: unknown, path: string): ProcError {
  if (error instanceof ProcError) return error;
  if (error instanceof Deno.errors.NotFound) return new ProcError("not-found", path, error);
  if (error instanceof Deno.errors.PermissionDenied) {
    return new ProcError("permission", path, error);
  }
  if (error instanceof Deno.errors.NotCapable) return new ProcError("sandbox", path, error);
  const code = (error as { code?: string })?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === "ESRCH" || /ESRCH|No such process/.test(message)) {
    return new ProcError("gone", path, error);
  }
  if (code === "EACCES" || code === "EPERM") return new ProcError("permission", path, error);
  return new ProcError("io", path, error);
}

/**
 * Bytes read at once from a procfs file: most (stat, status, a process's maps)
 * fit whole, and {@link procLineChunks} hands out pieces of this size (larger
 * only for a line longer than it).
 */
export const READ_BYTES = 65536;
/** The shared read buffer, while no read holds it across a yield ({@link procLineChunks}). */
let readBuffer: Uint8Array | null = null;
const decoder = new TextDecoder();
const NEWLINE = 0x0a;

/**
 * Reads the file at `path` to its end and hands its bytes to `use`: a view of
 * a shared buffer, valid only during the call, unless `fresh` (a large file's
 * bytes, in an array of their own). Procfs reports size 0, and Deno's reader
 * then starts at 32 bytes and doubles: ten reads for a 4 KiB maps. The kernel
 * hands out at most a page per read of a seq_file (maps, smaps), so a large
 * buffer takes stat, status or a small maps in one read, then one more to see
 * the end.
 */
function readWhole<T>(path: string, use: (bytes: Uint8Array, fresh: boolean) => T): T {
  let file: Deno.FsFile | null = null;
  try {
    file = Deno.openSync(path, { read: true });
    // A file larger than the shared buffer goes on in a buffer of its own,
    // doubled as it fills: its pieces and the whole are never both held.
    let buffer = readBuffer ??= new Uint8Array(READ_BYTES);
    let filled = 0;
    for (;;) {
      if (filled === buffer.length) buffer = doubled(buffer);
      const got = file.readSync(buffer.subarray(filled));
      if (got === null) break;
      filled += got;
    }
    return use(buffer.subarray(0, filled), buffer !== readBuffer);
  } catch (error) {
    throw toProcError(error, path);
  } finally {
    file?.close();
  }
}

/** A copy of `buffer` in one twice as long. */
function doubled(buffer: Uint8Array): Uint8Array {
  const larger = new Uint8Array(buffer.length * 2);
  larger.set(buffer);
  return larger;
}

/**
 * Reads a whole procfs text file (procfs reports size 0, so this reads to EOF).
 *
 * @throws {ProcError} classified by kind.
 * @example
 * ```ts
 * import { readProcText } from "./files.ts";
 * readProcText("/proc/self/stat").startsWith(`${Deno.pid} (`); // true
 * ```
 */
export function readProcText(path: string): string {
  return readWhole(path, (bytes) => decoder.decode(bytes));
}

/**
 * Reads a whole procfs binary file (e.g. `auxv`).
 *
 * @throws {ProcError} classified by kind.
 * @example
 * ```ts
 * import { readProcBytes } from "./files.ts";
 * readProcBytes("/proc/self/auxv").length % 16; // 0: (type, value) pairs of 8 bytes
 * ```
 */
export function readProcBytes(path: string): Uint8Array {
  return readWhole(path, (bytes, fresh) => fresh ? bytes : bytes.slice());
}

/**
 * The bytes of the procfs file at `path` in pieces that each end at a line's end
 * (the last at the file's end), read as they are consumed: a file of tens of MB
 * (the smaps of a JVM with 65,000 VMAs is 46 MB, its maps 3 MB) is never held
 * whole. Each piece is a view of a buffer the next piece reuses: use it before
 * asking for the next. A line longer than the buffer makes it grow.
 *
 * @throws {ProcError} classified by kind, when the file cannot be opened or read.
 * @example
 * ```ts
 * import { procLineChunks } from "./files.ts";
 * let bytes = 0;
 * let whole = true;
 * for (const piece of procLineChunks("/proc/self/maps")) {
 *   bytes += piece.length;
 *   whole &&= piece[piece.length - 1] === 0x0a; // "\n"
 * }
 * [bytes > 0, whole]; // [true, true]
 * ```
 */
export function* procLineChunks(path: string): Generator<Uint8Array> {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (error) {
    throw toProcError(error, path);
  }
  // The shared buffer, held across yields: reads meanwhile take one of their own.
  let buffer = readBuffer ?? new Uint8Array(READ_BYTES);
  readBuffer = null;
  try {
    let kept = 0; // bytes of an unfinished line, moved to the front
    for (let ended = false; !ended;) {
      // The kernel hands out a seq_file a page per read: fill the buffer first.
      let filled = kept;
      while (filled < buffer.length) {
        let got: number | null;
        try {
          got = file.readSync(buffer.subarray(filled));
        } catch (error) {
          throw toProcError(error, path);
        }
        if (got === null) {
          ended = true;
          break;
        }
        filled += got;
      }
      const end = ended ? filled : buffer.lastIndexOf(NEWLINE, filled - 1) + 1;
      if (end === 0 && !ended) {
        buffer = doubled(buffer);
        kept = filled;
        continue;
      }
      if (end > 0) yield buffer.subarray(0, end);
      buffer.copyWithin(0, end, filled);
      kept = filled - end;
    }
  } finally {
    file.close();
    if (readBuffer === null && buffer.length === READ_BYTES) readBuffer = buffer;
  }
}

/**
 * The text of the procfs file at `path` in pieces that each end at a line's end
 * (the last at the file's end), as {@link procLineChunks} reads them.
 *
 * @throws {ProcError} classified by kind, when the file cannot be opened or read.
 * @example
 * ```ts
 * import { procTextChunks } from "./files.ts";
 * const pieces = [...procTextChunks("/proc/self/status")];
 * [pieces.join("").startsWith("Name:"), pieces.every((piece) => piece.endsWith("\n"))]; // [true, true]
 * ```
 */
export function* procTextChunks(path: string): Generator<string> {
  // Pieces end at a newline, so no UTF-8 sequence is split between two.
  for (const bytes of procLineChunks(path)) yield decoder.decode(bytes);
}

/**
 * Opens a procfs file for positioned reads (`pagemap`, `kpagecount`).
 *
 * @throws {ProcError} classified by kind.
 */
export function openProcFile(path: string): Deno.FsFile {
  try {
    return Deno.openSync(path, { read: true });
  } catch (error) {
    throw toProcError(error, path);
  }
}

/**
 * Reads into `buffer` starting at byte `offset` of `file`: one seek and one read,
 * as pagemap and kpagecount answer a read in full or clamp it at their end.
 *
 * @returns bytes read (0 at the end of the file, e.g. above a task's size).
 * @throws {ProcError} classified by kind.
 */
export function readAt(
  file: Deno.FsFile,
  path: string,
  offset: number,
  buffer: Uint8Array,
): number {
  try {
    file.seekSync(offset, Deno.SeekMode.Start);
    return file.readSync(buffer) ?? 0;
  } catch (error) {
    throw toProcError(error, path);
  }
}

/**
 * {@link readAt} on Deno's I/O thread pool: the kernel's work for this read can
 * run while JavaScript goes on, and reads of different files run in parallel.
 * Each call costs a round trip of tens of microseconds, so it pays only for
 * large reads.
 *
 * @returns bytes read (0 at the end of the file).
 * @throws {ProcError} classified by kind.
 * @example
 * ```ts
 * import { openProcFile, readAtAsync } from "./files.ts";
 * const path = "/proc/self/pagemap";
 * const file = openProcFile(path);
 * await readAtAsync(file, path, 0, new Uint8Array(8 * 512)); // 4096: 512 entries of 8 bytes
 * file.close();
 * ```
 */
export async function readAtAsync(
  file: Deno.FsFile,
  path: string,
  offset: number,
  buffer: Uint8Array,
): Promise<number> {
  try {
    // A seek costs the kernel nothing: a round trip to the thread pool for it would not pay.
    file.seekSync(offset, Deno.SeekMode.Start);
    return (await file.read(buffer)) ?? 0;
  } catch (error) {
    throw toProcError(error, path);
  }
}

/**
 * Lists the names in a procfs directory.
 *
 * @throws {ProcError} classified by kind.
 */
export function listProcDir(path: string): string[] {
  try {
    const names: string[] = [];
    for (const entry of Deno.readDirSync(path)) names.push(entry.name);
    return names;
  } catch (error) {
    throw toProcError(error, path);
  }
}

/**
 * Reads a symbolic link such as `/proc/self`.
 *
 * @throws {ProcError} classified by kind.
 */
export function readProcLink(path: string): string {
  try {
    return Deno.readLinkSync(path);
  } catch (error) {
    throw toProcError(error, path);
  }
}
