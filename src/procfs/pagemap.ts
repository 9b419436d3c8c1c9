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
 * import { readMaps } from "./maps.ts";
 * import { openPagemap, readPagemap } from "./pagemap.ts";
 * import { readPageSize } from "./process_info.ts";
 * const pageSize = readPageSize("/proc");
 * const stack = readMaps("/proc", "self", pageSize).find((vma) => vma.path === "[stack]")!;
 * const pagemap = openPagemap("/proc", "self");
 * readPagemap(pagemap, stack.startPage, new Uint8Array(16 * 8)); // 16
 * pagemap.file.close();
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
 * import { readMaps } from "./maps.ts";
 * import { openPagemap, readPagemapAsync } from "./pagemap.ts";
 * import { readPageSize } from "./process_info.ts";
 * const pageSize = readPageSize("/proc");
 * const stack = readMaps("/proc", "self", pageSize).find((vma) => vma.path === "[stack]")!;
 * const pagemap = openPagemap("/proc", "self");
 * await readPagemapAsync(pagemap, stack.startPage, new Uint8Array(16 * 8)); // 16
 * pagemap.file.close();
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
