/**
 * `/proc/kpagecount`: one little-endian u64 per physical frame, indexed by PFN,
 * counting the page-table entries that map the frame system-wide.
 *
 * @module
 */

import { openProcFile, readAt, readAtAsync } from "./files.ts";
import { ENTRY_BYTES } from "./pagemap_bits.ts";

/** An open `/proc/kpagecount`. */
export interface KpagecountFile {
  /** The open file. */
  file: Deno.FsFile;
  /** Its path, for error messages. */
  path: string;
}

/**
 * Opens `ROOT/kpagecount` (mode 0400 root).
 *
 * @throws {ProcError} "permission" for non-root, "sandbox" without Deno's `-A`.
 */
export function openKpagecount(procRoot: string): KpagecountFile {
  const path = `${procRoot}/kpagecount`;
  return { file: openProcFile(path), path };
}

/**
 * Reads the counts of `frameCount` consecutive frames starting at `firstPfn` into
 * `buffer` (which must hold 8 bytes per frame).
 *
 * @returns the number of frames read (fewer past the last PFN).
 * @throws {ProcError} on a read error.
 * @example
 * ```ts
 * const words = new Uint32Array(buffer.buffer);
 * const n = readKpagecounts(kpc, 0x1234, 64, buffer); // counts at words[2 * i]
 * ```
 */
export function readKpagecounts(
  source: KpagecountFile,
  firstPfn: number,
  frameCount: number,
  buffer: Uint8Array,
): number {
  const bytes = readAt(
    source.file,
    source.path,
    firstPfn * ENTRY_BYTES,
    buffer.subarray(0, frameCount * ENTRY_BYTES),
  );
  return Math.floor(bytes / ENTRY_BYTES);
}

/**
 * {@link readKpagecounts} on Deno's I/O thread pool (for large reads).
 *
 * @throws {ProcError} on a read error.
 * @example
 * ```ts
 * const n = await readKpagecountsAsync(kpc, 0x1234, 4096, buffer);
 * ```
 */
export async function readKpagecountsAsync(
  source: KpagecountFile,
  firstPfn: number,
  frameCount: number,
  buffer: Uint8Array,
): Promise<number> {
  const bytes = await readAtAsync(
    source.file,
    source.path,
    firstPfn * ENTRY_BYTES,
    buffer.subarray(0, frameCount * ENTRY_BYTES),
  );
  return Math.floor(bytes / ENTRY_BYTES);
}
