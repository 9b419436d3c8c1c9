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
 * import { openKpagecount, readKpagecounts } from "./kpagecount.ts";
 * const counts = new BigUint64Array([1n, 0n, 3n]); // the kpagecount of frames 0, 1 and 2
 * const root = Deno.makeTempDirSync(); // a stand-in for /proc
 * Deno.writeFileSync(`${root}/kpagecount`, new Uint8Array(counts.buffer));
 * const kpagecount = openKpagecount(root);
 * const buffer = new Uint8Array(64 * 8);
 * readKpagecounts(kpagecount, 1, 64, buffer); // 2: frames 1 and 2, the last ones
 * new BigUint64Array(buffer.buffer, 0, 2); // BigUint64Array(2) [ 0n, 3n ]
 * kpagecount.file.close();
 * Deno.removeSync(root, { recursive: true });
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
 * import { openKpagecount, readKpagecountsAsync } from "./kpagecount.ts";
 * const counts = new BigUint64Array(8192).fill(1n); // 8192 frames, each mapped once
 * const root = Deno.makeTempDirSync(); // a stand-in for /proc
 * Deno.writeFileSync(`${root}/kpagecount`, new Uint8Array(counts.buffer));
 * const kpagecount = openKpagecount(root);
 * await readKpagecountsAsync(kpagecount, 0, 4096, new Uint8Array(4096 * 8)); // 4096
 * kpagecount.file.close();
 * Deno.removeSync(root, { recursive: true });
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
