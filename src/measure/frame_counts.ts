/**
 * The count pass: gathers the frames that scans could not settle, reads their
 * kpagecounts in few large reads, and subtracts the entries the tool itself
 * holds, so measuring does not change the answer.
 *
 * @module
 */

import { type FrameSet, frameSetBuilder } from "../accounting/frame_set.ts";
import type { FrameCounts } from "../accounting/usage.ts";
import { ProcError } from "../procfs/files.ts";
import { type KpagecountFile, readKpagecounts } from "../procfs/kpagecount.ts";
import { readMaps, type Vma } from "../procfs/maps.ts";
import { openPagemap, readPagemap } from "../procfs/pagemap.ts";
import { pfnOf, PRESENT } from "../procfs/pagemap_bits.ts";
import type { MeasureContext } from "./context.ts";
import type { ProcessScan } from "./scan_process.ts";

/**
 * Frames further apart than this are read separately: one extra read costs about
 * what ~30 extra kpagecount entries cost the kernel (measured: ~1 µs per
 * seek+read pair, ~30 ns per entry).
 */
const MAX_GAP_FRAMES = 32;
/** Frames per kpagecount read (512 KiB). */
const MAX_SPAN_FRAMES = 65536;
/** Pages per read of the tool's own pagemap. */
const SELF_CHUNK_PAGES = 16384;

/**
 * Reads the kpagecount of every frame in `set`, coalescing nearby frames into
 * one read.
 *
 * @returns counts aligned with `set.pfns` (0 past the last frame).
 * @throws {ProcError} on a read error.
 */
export function readFrameCounts(source: KpagecountFile, set: FrameSet): Uint32Array {
  const pfns = set.pfns;
  const raw = new Uint32Array(pfns.length);
  // No bigger than the whole set needs: a small measurement should not pay for 512 KiB.
  const span = pfns.length === 0
    ? 0
    : Math.min(MAX_SPAN_FRAMES, pfns[pfns.length - 1] - pfns[0] + 1);
  const buffer = new Uint8Array(span * 8);
  const words = new Uint32Array(buffer.buffer);
  let first = 0;
  while (first < pfns.length) {
    const firstPfn = pfns[first];
    let end = first + 1;
    while (
      end < pfns.length &&
      pfns[end] - pfns[end - 1] <= MAX_GAP_FRAMES &&
      pfns[end] - firstPfn < MAX_SPAN_FRAMES
    ) end++;
    const span = pfns[end - 1] - firstPfn + 1;
    const got = readKpagecounts(source, firstPfn, span, buffer);
    for (let i = first; i < end; i++) {
      const offset = pfns[i] - firstPfn;
      if (offset >= got) break;
      // A count above 2^32 cannot happen; saturate rather than wrap if it ever does.
      raw[i] = words[2 * offset + 1] === 0 ? words[2 * offset] : 0xffff_ffff;
    }
    first = end;
  }
  return raw;
}

/** Identifies a mapped file across processes: `device:inode`. */
export function fileKey(vma: Vma): string {
  return `${vma.device}:${vma.inode}`;
}

/**
 * Counts, per frame of `set`, the entries of the tool's own mappings of the
 * files in `sharedFiles` (libc, the runtime binary, … as keyed by
 * {@link fileKey}): a freshly exec'd tool can share frames with a target only
 * through files they both map. Its anonymous memory, its multi-GiB reservations
 * and files no target maps are skipped.
 *
 * @returns the counts, or null when the tool shares no frame with the set or
 * cannot see itself in this procfs.
 */
export function readSelfRefs(
  context: MeasureContext,
  set: FrameSet,
  sharedFiles: ReadonlySet<string>,
): Uint32Array | null {
  if (context.selfPid === null || set.pfns.length === 0) return null;
  let self: Uint32Array | null = null;
  let pagemap;
  try {
    pagemap = openPagemap(context.procRoot, "self");
  } catch (error) {
    if (error instanceof ProcError && error.kind !== "sandbox") return null;
    throw error;
  }
  try {
    const buffer = new Uint8Array(SELF_CHUNK_PAGES * 8);
    const words = new Uint32Array(buffer.buffer);
    for (const vma of readMaps(context.procRoot, "self", context.pageSize)) {
      if (vma.inode === 0 || !sharedFiles.has(fileKey(vma))) continue;
      for (let page = vma.startPage; page < vma.endPage;) {
        const want = Math.min(SELF_CHUNK_PAGES, vma.endPage - page);
        const entries = readPagemap(pagemap, page, buffer.subarray(0, want * 8));
        if (entries === 0) break;
        for (let i = 0; i < entries; i++) {
          const high = words[2 * i + 1];
          if ((high & PRESENT) === 0) continue;
          const position = set.indexOf(pfnOf(words[2 * i], high));
          if (position < 0) continue;
          self ??= new Uint32Array(set.pfns.length);
          self[position]++;
        }
        page += entries;
      }
    }
  } finally {
    pagemap.file.close();
  }
  return self;
}

/**
 * Builds the frame set of `scans`, reads its counts and the tool's own share.
 *
 * @throws {ProcError} when kpagecount or the tool's own maps cannot be read.
 */
export function countFrames(context: MeasureContext, scans: ProcessScan[]): FrameCounts {
  const builder = frameSetBuilder();
  const sharedFiles = new Set<string>();
  for (const scan of scans) {
    const pfns = scan.refs.pfns;
    for (let row = 0; row < scan.refs.length; row++) builder.add(pfns[row]);
    for (const vma of scan.vmas) if (vma.inode !== 0) sharedFiles.add(fileKey(vma));
  }
  const set = builder.build();
  const raw = readFrameCounts(context.kpagecount!, set);
  const self = readSelfRefs(context, set, sharedFiles);
  return { set, raw, self };
}
