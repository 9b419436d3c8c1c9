/**
 * `/proc/PID/pagemap`: one 8-byte entry per virtual page, at offset
 * `page * 8`. Reads are positioned and batched by the caller; the kernel takes
 * the target's mmap lock per read, not for the whole walk.
 *
 * @module
 */

import { openProcFile, readAt, readAtAsync } from "./files.ts";
import { ENTRY_BYTES } from "./pagemap_bits.ts";

/** An open pagemap of one process. */
export interface PagemapFile {
  /** The open file. */
  file: Deno.FsFile;
  /** Its path, for error messages. */
  path: string;
}

/**
 * Opens `ROOT/PID/pagemap`.
 *
 * @throws {ProcError} "permission" without ptrace access, "not-found" if the process is gone.
 */
export function openPagemap(procRoot: string, pid: number | "self"): PagemapFile {
  const path = `${procRoot}/${pid}/pagemap`;
  return { file: openProcFile(path), path };
}

/**
 * Reads the entries of `buffer.length / 8` pages starting at page `firstPage`.
 *
 * @returns entries read: fewer at the top of the address space (above the
 * task size, where `[vsyscall]` lives, the kernel returns none).
 * @throws {ProcError} on a read error.
 * @example
 * ```ts
 * const n = readPagemap(pagemap, vma.startPage, buffer);
 * ```
 */
export function readPagemap(source: PagemapFile, firstPage: number, buffer: Uint8Array): number {
  return Math.floor(
    readAt(source.file, source.path, firstPage * ENTRY_BYTES, buffer) / ENTRY_BYTES,
  );
}

/**
 * {@link readPagemap} on Deno's I/O thread pool (for large reads, which can then
 * overlap with other work).
 *
 * @throws {ProcError} on a read error.
 * @example
 * ```ts
 * const n = await readPagemapAsync(pagemap, vma.startPage, buffer);
 * ```
 */
export async function readPagemapAsync(
  source: PagemapFile,
  firstPage: number,
  buffer: Uint8Array,
): Promise<number> {
  const bytes = await readAtAsync(source.file, source.path, firstPage * ENTRY_BYTES, buffer);
  return Math.floor(bytes / ENTRY_BYTES);
}
