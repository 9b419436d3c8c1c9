/**
 * Figures of a group of processes: the memory the machine gets back when the
 * whole group exits. Pure.
 *
 * A frame is unique to a group when its kpagecount equals the group's total
 * entries for it (less the measuring tool's own), so memory shared only inside
 * the group (copy-on-write after fork, shared anonymous memory, a library only
 * the group maps) counts, once. Group USS is at least the sum of its members'.
 *
 * @module
 */

import { FRAME_FILE, FRAME_HUGETLB, type FrameRefs, type ScanTally } from "./pagemap_scan.ts";
import {
  type AccountingScratch,
  addUsage,
  emptyUsage,
  type FrameCounts,
  type Usage,
} from "./usage.ts";

/** One member of a group: its scan and its own figures. */
export interface GroupMember {
  tally: ScanTally;
  refs: FrameRefs;
  /** The refs' places in the counts' frame set (`framePositions`). */
  positions: Int32Array;
  /** The member's own figures (from `accountProcess`). */
  usage: Usage;
}

/** A group's figures. */
export interface GroupFigures {
  /**
   * uss/ussAnon/ussFile and hugetlbUss: frames unique to the group; rss and
   * hugetlb: distinct frames the group maps; pss and swap: sums over members.
   */
  usage: Usage;
  /** The sum of the members' own USS (memory shared inside the group is not in it). */
  ussSum: number;
}

/**
 * Computes a group's figures from its members' scans and the frames' counts, in
 * one pass over the members' frame references.
 *
 * @example
 * ```ts
 * const { usage, ussSum } = accountGroup(members, counts, 4096, createScratch(frames));
 * usage.uss >= ussSum; // true
 * ```
 */
export function accountGroup(
  members: readonly GroupMember[],
  counts: FrameCounts,
  pageSize: number,
  scratch: AccountingScratch,
): GroupFigures {
  const usage = emptyUsage();
  let ussSum = 0;
  for (const member of members) {
    ussSum += member.usage.uss;
    usage.pss += member.usage.pss;
    usage.swap += member.usage.swap;
    const { exclusiveAnon, exclusiveFile, exclusiveHugetlb } = member.tally;
    for (let vma = 0; vma < exclusiveAnon.length; vma++) {
      usage.ussAnon += exclusiveAnon[vma] * pageSize;
      usage.ussFile += exclusiveFile[vma] * pageSize;
      usage.rss += (exclusiveAnon[vma] + exclusiveFile[vma]) * pageSize;
      usage.hugetlb += exclusiveHugetlb[vma] * pageSize;
      usage.hugetlbUss += exclusiveHugetlb[vma] * pageSize;
    }
  }

  const epoch = ++scratch.epoch;
  const { stamps, owns } = scratch;
  for (const member of members) {
    const { positions, refs } = member;
    for (let row = 0; row < refs.length; row++) {
      const position = positions[row];
      const raw = counts.raw[position];
      if (raw === 0) continue;
      const others = counts.self === null ? raw : raw - counts.self[position];
      const hugetlb = (refs.kinds[row] & FRAME_HUGETLB) !== 0;
      let own: number;
      if (stamps[position] !== epoch) {
        stamps[position] = epoch;
        owns[position] = own = 1;
        if (hugetlb) usage.hugetlb += pageSize;
        else usage.rss += pageSize;
      } else {
        own = ++owns[position];
      }
      if (own !== others && !(own === 1 && others < 1)) continue;
      // The group's entries now account for every mapping of the frame.
      if (hugetlb) usage.hugetlbUss += pageSize;
      else if ((refs.kinds[row] & FRAME_FILE) !== 0) usage.ussFile += pageSize;
      else usage.ussAnon += pageSize;
    }
  }

  usage.uss = usage.ussAnon + usage.ussFile;
  return { usage, ussSum };
}

/**
 * Adds up groups (or processes) without claiming exactness: USS of the sum is
 * the sum of USS. For total rows.
 *
 * @example
 * ```ts
 * const total = sumUsages(groups.map((group) => group.usage));
 * ```
 */
export function sumUsages(usages: readonly Usage[]): Usage {
  return usages.reduce((total, usage) => addUsage(total, usage), emptyUsage());
}
