/**
 * Which pagemap reads cover a process's VMAs: one read per run of nearby VMAs
 * rather than one per VMA (a JVM or a browser has tens of thousands), never
 * across a VMA that is not to be read, at most a chunk long and cut only at
 * PMD block boundaries (so reads stay bounded and a PMD block is never split
 * between two reads). Pure.
 *
 * @module
 */

import type { MapRanges } from "../procfs/maps.ts";

/** The runs of pages to read, in address order. */
export interface ReadPlan {
  /** First page of each run. */
  firstPage: Float64Array;
  /** Pages in each run. */
  pages: Float64Array;
  /**
   * VMAs merged into each run (each piece of a run cut at a chunk carries the
   * whole run's): the kernel's cost of a read grows with them as with pages.
   */
  vmas: Float64Array;
  /** Number of runs. */
  count: number;
}

/**
 * Plans the reads of the VMAs whose `selected` entry is non-zero (every VMA when
 * `selected` is null). Selected VMAs next to each other in the list merge into
 * one run when the hole between them is at most `maxGapPages` (unmapped pages
 * read as zero entries, cheaply). A run longer than `chunkPages` is cut into
 * pieces as long as they can be, each ending at a multiple of `alignPages`:
 * cuts at fixed multiples of the chunk would leave a small piece wherever a
 * region straddles one, and small reads are made in place, on the thread that
 * scans (a pre-forking server's 64 MiB region cut 7,168 + 9,216 pages cost ~60
 * ms of that thread over 300 workers).
 *
 * @throws {RangeError} when `alignPages` is not between 1 and `chunkPages`.
 * @example
 * ```ts
 * import { parseMaps, rangesOf } from "../procfs/maps.ts";
 * import { planReads } from "./read_plan.ts";
 * const vmas = parseMaps(
 *   "1000-3000 r--p 0 00:00 0\n4000-5000 rw-p 0 00:00 0\n100000-101000 rw-p 0 00:00 0\n",
 *   4096,
 * ); // pages 1-2, 4, 256
 * const plan = planReads(rangesOf(vmas, 4096), new Uint8Array([1, 1, 1]), 65536, 16, 512);
 * [plan.count, [...plan.firstPage], [...plan.pages], [...plan.vmas]]; // [2, [1, 256], [4, 1], [2, 1]]
 * ```
 */
export function planReads(
  ranges: MapRanges,
  selected: Uint8Array | null,
  chunkPages: number,
  maxGapPages: number,
  alignPages: number,
): ReadPlan {
  if (!(alignPages >= 1 && alignPages <= chunkPages)) {
    throw new RangeError(`alignment ${alignPages} is not between 1 and the chunk (${chunkPages})`);
  }
  const firstPage: number[] = [];
  const pages: number[] = [];
  const vmas: number[] = [];
  const flush = (start: number, end: number) => {
    for (let page = start; page < end;) {
      const stop = Math.min(end, Math.floor((page + chunkPages) / alignPages) * alignPages);
      firstPage.push(page);
      pages.push(stop - page);
      vmas.push(runVmas);
      page = stop;
    }
  };
  let runStart = -1;
  let runEnd = -1;
  let runVmas = 0;
  let previous = -2;
  for (let index = 0; index < ranges.count; index++) {
    const start = ranges.startPage[index];
    const end = ranges.endPage[index];
    if (selected?.[index] === 0 || end <= start) continue;
    if (
      runStart >= 0 && previous === index - 1 && start >= runEnd && start - runEnd <= maxGapPages
    ) {
      runEnd = end;
      runVmas++;
    } else {
      if (runStart >= 0) flush(runStart, runEnd);
      runStart = start;
      runEnd = end;
      runVmas = 1;
    }
    previous = index;
  }
  if (runStart >= 0) flush(runStart, runEnd);
  return {
    firstPage: Float64Array.from(firstPage),
    pages: Float64Array.from(pages),
    vmas: Float64Array.from(vmas),
    count: firstPage.length,
  };
}
