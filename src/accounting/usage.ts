/**
 * Turns a scan (exclusive-page tallies plus frame references) and the frames'
 * kpagecounts into figures: USS, PSS, RSS, swap, hugetlb.
 *
 * The rule (see `docs` in the README): a frame is unique to a process when its
 * kpagecount equals the number of the process's own entries that map it, counted
 * once per frame. Frames with kpagecount 0 (zero page, untracked PFNs) are not
 * resident memory. PSS adds `PAGE_SIZE / kpagecount` per entry, untruncated.
 * Hugetlb frames count only in the hugetlb fields, as the kernel keeps them out of
 * Rss and Pss.
 *
 * Pure: no I/O.
 *
 * @module
 */

import type { FrameSet } from "./frame_set.ts";
import { FRAME_FILE, FRAME_HUGETLB, type FrameRefs, type ScanTally } from "./pagemap_scan.ts";

/** Memory figures of a process, a mapping or a group, in bytes. */
export interface Usage {
  /** Unique set size: frames no other process maps. */
  uss: number;
  /** The anonymous part of {@link Usage.uss}. */
  ussAnon: number;
  /** The file-backed and shmem part of {@link Usage.uss}. */
  ussFile: number;
  /** Proportional set size: each frame divided among the entries that map it. */
  pss: number;
  /** Resident frames, each counted once. */
  rss: number;
  /** Swapped-out pages. */
  swap: number;
  /** Resident hugetlb frames (kept out of USS, PSS and RSS, as the kernel does). */
  hugetlb: number;
  /** The hugetlb frames no other process maps. */
  hugetlbUss: number;
}

/**
 * A Usage of zeros.
 *
 * @example
 * ```ts
 * const total = emptyUsage();
 * ```
 */
export function emptyUsage(): Usage {
  return { uss: 0, ussAnon: 0, ussFile: 0, pss: 0, rss: 0, swap: 0, hugetlb: 0, hugetlbUss: 0 };
}

/**
 * Adds `part` into `total` field by field and returns `total`.
 *
 * @example
 * ```ts
 * const sum = rows.reduce((acc, row) => addUsage(acc, row), emptyUsage());
 * ```
 */
export function addUsage(total: Usage, part: Usage): Usage {
  total.uss += part.uss;
  total.ussAnon += part.ussAnon;
  total.ussFile += part.ussFile;
  total.pss += part.pss;
  total.rss += part.rss;
  total.swap += part.swap;
  total.hugetlb += part.hugetlb;
  total.hugetlbUss += part.hugetlbUss;
  return total;
}

/** kpagecounts of the frames in a {@link FrameSet}, aligned with its `pfns`. */
export interface FrameCounts {
  set: FrameSet;
  /** kpagecount as read. */
  raw: Uint32Array;
  /** Entries the measuring tool itself holds on each frame, or null when none. */
  self: Uint32Array | null;
}

/** The figures of one process, per VMA and in total. */
export interface ProcessFigures {
  /** One Usage per VMA, in the scan's VMA order. */
  perVma: Usage[];
  /** The sum of `perVma`: PSS is summed from each VMA's rounded PSS, so rows add up exactly. */
  total: Usage;
  /** Frames whose kpagecount was below this process's own entries: they moved mid-scan. */
  moved: number;
}

const USS_ANON = 0;
const USS_FILE = 1;
const PSS = 2;
const RSS = 3;
const SWAP = 4;
const HUGETLB = 5;
const HUGETLB_USS = 6;
const FIELDS = 7;
const FIRST_SEEN = 0x8000_0000;

/**
 * Where each referenced frame sits in `set` (its index into the count arrays).
 *
 * @throws {RangeError} when a frame is missing from the set (a caller bug).
 * @example
 * ```ts
 * const positions = framePositions(refs, counts.set);
 * ```
 */
export function framePositions(refs: FrameRefs, set: FrameSet): Int32Array {
  const positions = new Int32Array(refs.length);
  for (let row = 0; row < refs.length; row++) {
    const position = set.indexOf(refs.pfns[row]);
    if (position < 0) throw new RangeError(`frame ${refs.pfns[row]} missing from the frame set`);
    positions[row] = position;
  }
  return positions;
}

/**
 * Computes a process's figures from its scan and the frames' counts.
 *
 * `positions` are the refs' places in `counts.set` ({@link framePositions});
 * `scratch` is a zeroed Uint32Array as long as `counts.set.pfns`, zeroed again
 * on return so one buffer serves many processes.
 *
 * @example
 * ```ts
 * const positions = framePositions(refs, counts.set);
 * const figures = accountProcess(tally, refs, positions, vmas.length, counts, 4096, scratch);
 * figures.total.uss;
 * ```
 */
export function accountProcess(
  tally: ScanTally,
  refs: FrameRefs,
  positions: Int32Array,
  vmaCount: number,
  counts: FrameCounts,
  pageSize: number,
  scratch: Uint32Array,
): ProcessFigures {
  const figures = new Float64Array(vmaCount * FIELDS);
  for (let vma = 0; vma < vmaCount; vma++) {
    const anon = tally.exclusiveAnon[vma] * pageSize;
    const file = tally.exclusiveFile[vma] * pageSize;
    const base = vma * FIELDS;
    figures[base + USS_ANON] = anon;
    figures[base + USS_FILE] = file;
    figures[base + PSS] = anon + file;
    figures[base + RSS] = anon + file;
    figures[base + SWAP] = tally.swapped[vma] * pageSize;
    figures[base + HUGETLB] = figures[base + HUGETLB_USS] = tally.exclusiveHugetlb[vma] * pageSize;
  }

  for (let row = 0; row < refs.length; row++) scratch[positions[row]]++;

  let moved = 0;
  const self = counts.self;
  for (let row = 0; row < refs.length; row++) {
    const position = positions[row];
    const raw = counts.raw[position];
    if (raw === 0) continue;
    const state = scratch[position];
    const own = state & ~FIRST_SEEN;
    const others = raw - (self === null ? 0 : self[position]);
    const mapCount = others < own ? own : others;
    const base = refs.vmas[row] * FIELDS;
    const kind = refs.kinds[row];
    if (state < FIRST_SEEN) {
      scratch[position] = state | FIRST_SEEN;
      if (others < own) moved++;
      const unique = mapCount === own;
      if ((kind & FRAME_HUGETLB) !== 0) {
        figures[base + HUGETLB] += pageSize;
        if (unique) figures[base + HUGETLB_USS] += pageSize;
      } else {
        figures[base + RSS] += pageSize;
        if (unique) figures[base + ((kind & FRAME_FILE) !== 0 ? USS_FILE : USS_ANON)] += pageSize;
      }
    }
    if ((kind & FRAME_HUGETLB) === 0) figures[base + PSS] += pageSize / mapCount;
  }
  for (let row = 0; row < refs.length; row++) scratch[positions[row]] = 0;

  const perVma: Usage[] = [];
  const total = emptyUsage();
  for (let vma = 0; vma < vmaCount; vma++) {
    const base = vma * FIELDS;
    const usage: Usage = {
      uss: figures[base + USS_ANON] + figures[base + USS_FILE],
      ussAnon: figures[base + USS_ANON],
      ussFile: figures[base + USS_FILE],
      pss: Math.round(figures[base + PSS]),
      rss: figures[base + RSS],
      swap: figures[base + SWAP],
      hugetlb: figures[base + HUGETLB],
      hugetlbUss: figures[base + HUGETLB_USS],
    };
    perVma.push(usage);
    addUsage(total, usage);
  }
  return { perVma, total, moved };
}
