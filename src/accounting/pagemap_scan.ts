/**
 * The hot loop: classifies raw pagemap entries of one VMA into what can be
 * counted at once and what needs `/proc/kpagecount`.
 *
 * A present entry with bit 56 (mapped exactly once) is a frame that only this
 * process maps, so it is unique without a kpagecount read, except where the bit
 * lies: the kernel copies it from the first subpage to all 512 entries of a
 * PMD-mapped THP, and hugetlb sets it regardless. Such entries, and every entry
 * without bit 56, become {@link FrameRefs} for the count pass.
 *
 * Pure: typed arrays in, tallies out.
 *
 * @module
 */

import {
  EXCLUSIVE,
  FILE_OR_SHARED,
  GUARD,
  PFN_HIGH_MASK,
  pfnOf,
  PRESENT,
  SWAPPED,
} from "../procfs/pagemap_bits.ts";

/** A referenced frame is a file or shmem page (pagemap bit 61). */
export const FRAME_FILE = 1;
/** A referenced frame belongs to a hugetlb mapping. */
export const FRAME_HUGETLB = 2;

/** Pages a PMD (huge page) maps: 2 MiB / 4 KiB. */
const PMD_PAGES = 512;

/**
 * Page-table entries whose frames need a kpagecount read: one row per entry, in
 * address order. Growable; `length` rows are valid.
 */
export interface FrameRefs {
  pfns: Float64Array;
  /** Index of the VMA the entry belongs to. */
  vmas: Uint32Array;
  /** {@link FRAME_FILE} | {@link FRAME_HUGETLB} bits. */
  kinds: Uint8Array;
  length: number;
}

/** Per-VMA page counts gathered while scanning, plus sanity counters. */
export interface ScanTally {
  /** Pages mapped exactly once, anonymous, per VMA. */
  exclusiveAnon: Float64Array;
  /** Pages mapped exactly once, file or shmem, per VMA. */
  exclusiveFile: Float64Array;
  /** Swapped-out entries per VMA. */
  swapped: Float64Array;
  /** Hugetlb pages mapped exactly once, per VMA (settled from smaps, never from bit 56). */
  exclusiveHugetlb: Float64Array;
  /** Present entries seen. */
  present: number;
  /** Present entries whose PFN read as 0: the kernel hid PFNs from this reader. */
  presentWithoutPfn: number;
}

/**
 * Creates empty {@link FrameRefs}.
 *
 * @example
 * ```ts
 * const refs = createFrameRefs();
 * ```
 */
export function createFrameRefs(capacity = 4096): FrameRefs {
  return {
    pfns: new Float64Array(capacity),
    vmas: new Uint32Array(capacity),
    kinds: new Uint8Array(capacity),
    length: 0,
  };
}

function grow(refs: FrameRefs): void {
  const capacity = refs.pfns.length * 2;
  const pfns = new Float64Array(capacity);
  pfns.set(refs.pfns);
  const vmas = new Uint32Array(capacity);
  vmas.set(refs.vmas);
  const kinds = new Uint8Array(capacity);
  kinds.set(refs.kinds);
  refs.pfns = pfns;
  refs.vmas = vmas;
  refs.kinds = kinds;
}

/**
 * Creates an empty {@link ScanTally} for `vmaCount` VMAs.
 *
 * @example
 * ```ts
 * const tally = createScanTally(vmas.length);
 * ```
 */
export function createScanTally(vmaCount: number): ScanTally {
  return {
    exclusiveAnon: new Float64Array(vmaCount),
    exclusiveFile: new Float64Array(vmaCount),
    swapped: new Float64Array(vmaCount),
    exclusiveHugetlb: new Float64Array(vmaCount),
    present: 0,
    presentWithoutPfn: 0,
  };
}

/** How {@link scanPagemapEntries} treats a run of entries. */
export interface ScanTarget {
  /** Index of the VMA the entries belong to. */
  vma: number;
  /** The VMA is hugetlb: never trust bit 56, count every frame. */
  hugetlb: boolean;
  /** Trust bit 56 where it cannot be a PMD mapping (false: count every frame). */
  exclusiveShortcut: boolean;
}

/** Anonymous and file pages counted by the last {@link countExclusiveRun}. */
const RUN_COUNTS = new Float64Array(2);
const PRESENT_EXCLUSIVE = (PRESENT | EXCLUSIVE) | 0;

/**
 * Counts the entries from `from` (below `to`) that are present, mapped exactly
 * once and have a PFN whose low word is non-zero, into {@link RUN_COUNTS}; stops
 * at the first other entry and returns its index. Most pages of most processes
 * take this path: a loop this small runs fast even before V8 optimises it, which
 * is most of a short-lived tool's life.
 */
function countExclusiveRun(words: Int32Array, from: number, to: number): number {
  let anon = 0;
  let file = 0;
  let i = from;
  for (; i < to; i++) {
    const high = words[2 * i + 1];
    if ((high & PRESENT_EXCLUSIVE) !== PRESENT_EXCLUSIVE || words[2 * i] === 0) break;
    if ((high & FILE_OR_SHARED) !== 0) file++;
    else anon++;
  }
  RUN_COUNTS[0] = anon;
  RUN_COUNTS[1] = file;
  return i;
}

/**
 * Scans `entryCount` pagemap entries (two little-endian 32-bit words each, viewed
 * as an Int32Array: V8 keeps int32 loads unboxed, which makes this loop ~2.5×
 * faster than over a Uint32Array) that start at virtual page `firstPage`, adding
 * to `tally` and `refs`.
 *
 * Callers must not split a 2 MiB-aligned block of a VMA across two calls: the
 * PMD check needs all 512 entries of a block in one buffer (read in chunks
 * aligned to 512 pages).
 *
 * @example
 * ```ts
 * scanPagemapEntries(new Int32Array(buffer.buffer), bytes / 8, vma.startPage,
 *   { vma: 0, hugetlb: false, exclusiveShortcut: true }, tally, refs);
 * ```
 */
export function scanPagemapEntries(
  words: Int32Array,
  entryCount: number,
  firstPage: number,
  target: ScanTarget,
  tally: ScanTally,
  refs: FrameRefs,
): void {
  const vma = target.vma;
  const shortcut = target.exclusiveShortcut && !target.hugetlb;
  const kindBase = target.hugetlb ? FRAME_HUGETLB : 0;
  // Entry positions i with (firstPage + i) on a 2 MiB boundary satisfy i ≡ firstAligned (mod 512).
  const firstAligned = (PMD_PAGES - (firstPage % PMD_PAGES)) % PMD_PAGES;
  let anon = 0;
  let file = 0;
  let swapped = 0;
  let present = 0;
  let withoutPfn = 0;
  // Entries below this index belong to a block that may be PMD-mapped.
  let pmdCandidateEnd = 0;
  // Locals, not `refs.*` property accesses, in the loop (written back at the end).
  let { pfns, vmas, kinds, length } = refs;
  for (let i = 0; i < entryCount; i++) {
    let high = words[2 * i + 1];
    if (shortcut && (high & PRESENT_EXCLUSIVE) === PRESENT_EXCLUSIVE && i >= pmdCandidateEnd) {
      // Entries before the next 2 MiB boundary (where the PMD check must run) go
      // through the tight loop while they are plainly present and exclusive.
      const sinceBoundary = (i - firstAligned) & (PMD_PAGES - 1);
      if (sinceBoundary !== 0) {
        const end = countExclusiveRun(
          words,
          i,
          Math.min(entryCount, i + PMD_PAGES - sinceBoundary),
        );
        anon += RUN_COUNTS[0];
        file += RUN_COUNTS[1];
        present += end - i;
        i = end;
        if (i === entryCount) break;
        high = words[2 * i + 1];
      }
    }
    if (high >= 0) { // bit 63 (present) is the sign bit
      // Guard regions (bit 58) are swap-format markers, not swapped memory.
      if ((high & (SWAPPED | GUARD)) === SWAPPED) swapped++;
      continue;
    }
    present++;
    const low = words[2 * i];
    if (low === 0 && (high & PFN_HIGH_MASK) === 0) {
      withoutPfn++;
      continue;
    }
    const isFile = (high & FILE_OR_SHARED) !== 0;
    if (shortcut && (high & EXCLUSIVE) !== 0 && i >= pmdCandidateEnd) {
      const last = i + PMD_PAGES - 1;
      const maybePmd = ((i - firstAligned) & (PMD_PAGES - 1)) === 0 &&
        (low & (PMD_PAGES - 1)) === 0 &&
        last < entryCount &&
        (words[2 * last + 1] & (PRESENT | PFN_HIGH_MASK)) === (high & (PRESENT | PFN_HIGH_MASK)) &&
        words[2 * last] === low + PMD_PAGES - 1;
      if (!maybePmd) {
        if (isFile) file++;
        else anon++;
        continue;
      }
      pmdCandidateEnd = i + PMD_PAGES;
    }
    if (length === pfns.length) {
      refs.length = length;
      grow(refs);
      ({ pfns, vmas, kinds } = refs);
    }
    pfns[length] = pfnOf(low, high);
    vmas[length] = vma;
    kinds[length] = kindBase | (isFile ? FRAME_FILE : 0);
    length++;
  }
  refs.length = length;
  tally.exclusiveAnon[vma] += anon;
  tally.exclusiveFile[vma] += file;
  tally.swapped[vma] += swapped;
  tally.present += present;
  tally.presentWithoutPfn += withoutPfn;
}
