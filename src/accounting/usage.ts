/**
 * Turns a scan (exclusive-page tallies plus frame references) and the frames'
 * kpagecounts into figures: USS, PSS, RSS, swap, hugetlb.
 *
 * The rule (README, "Methods"): a frame is unique to a process when its
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

/**
 * Per-frame scratch for counting one process's (or group's) own entries in a
 * single pass: a frame's counters are valid only while its stamp equals the
 * current epoch, so nothing needs clearing between processes.
 */
export interface AccountingScratch {
  stamps: Uint32Array;
  /** Own entries seen so far, per frame. */
  owns: Uint32Array;
  /** The VMA of the frame's first entry: where its USS and RSS are attributed. */
  firstVmas: Uint32Array;
  epoch: number;
}

/**
 * Scratch for a frame set of `frames` frames, reusable across processes and groups.
 *
 * @example
 * ```ts
 * const scratch = createScratch(counts.set.pfns.length);
 * ```
 */
export function createScratch(frames: number): AccountingScratch {
  return {
    stamps: new Uint32Array(frames),
    owns: new Uint32Array(frames),
    firstVmas: new Uint32Array(frames),
    epoch: 0,
  };
}

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
 * Computes a process's figures from its scan and the frames' counts, in one pass
 * over its frame references.
 *
 * A frame becomes unique when the entries seen reach its count (others' entries
 * = kpagecount less the tool's own), so a frame mapped twice turns unique at its
 * second entry. Seeing more entries than the count means the frame moved during
 * the scan: it is counted in `moved` (and as unique, clamped).
 *
 * `positions` are the refs' places in `counts.set` ({@link framePositions}).
 *
 * @example
 * ```ts
 * const positions = framePositions(refs, counts.set);
 * const scratch = createScratch(counts.set.pfns.length);
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
  scratch: AccountingScratch,
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

  const epoch = ++scratch.epoch;
  const { stamps, owns, firstVmas } = scratch;
  const raws = counts.raw;
  const self = counts.self;
  let moved = 0;
  for (let row = 0; row < refs.length; row++) {
    const position = positions[row];
    const raw = raws[position];
    if (raw === 0) continue;
    const others = self === null ? raw : raw - self[position];
    const kind = refs.kinds[row];
    const hugetlb = (kind & FRAME_HUGETLB) !== 0;
    const vma = refs.vmas[row];
    let own: number;
    let base: number;
    if (stamps[position] !== epoch) {
      stamps[position] = epoch;
      owns[position] = own = 1;
      firstVmas[position] = vma;
      base = vma * FIELDS;
      figures[base + (hugetlb ? HUGETLB : RSS)] += pageSize;
    } else {
      own = ++owns[position];
      base = firstVmas[position] * FIELDS;
    }
    // The entry that makes the own count reach the frame's count makes it unique;
    // a count below the first entry means the frame moved (counted unique, clamped).
    if (own === others || (own === 1 && others < 1)) {
      const field = hugetlb ? HUGETLB_USS : (kind & FRAME_FILE) !== 0 ? USS_FILE : USS_ANON;
      figures[base + field] += pageSize;
    }
    if (own > others && own === (others < 1 ? 1 : others + 1)) moved++;
    if (!hugetlb) figures[vma * FIELDS + PSS] += pageSize / (others > own ? others : own);
  }

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
