/**
 * Figures of a group of processes: the memory the machine gets back when the
 * whole group exits. Pure.
 *
 * A group is accounted like one process over its members' entries (the rule in
 * `frame_table.ts`), so memory shared only inside the group (copy-on-write after
 * fork, shared anonymous memory, a library only the group maps) counts, once.
 * Group USS is at least the sum of its members'; RAM (distinct frames) is at
 * most the sum of theirs; swap counts each swap slot once. PSS, RSS and swap
 * PSS are the members' sums, as the kernel would add them up.
 *
 * @module
 */

import type { GroupAccount } from "./frame_table.ts";
import type { ScanTally } from "./pagemap_scan.ts";
import { addUsage, emptyUsage, type Usage } from "./usage.ts";

/** A group being accounted: frame-derived figures plus what its members settled alone. */
export interface GroupTotals {
  /** Frames that became unique to the group through its members' references. */
  frames: GroupAccount;
  /** Swap slots likewise (their `ram`: the distinct slots the group references). */
  swapSlots: GroupAccount;
  /** Whether the members' swap slots were accounted (else swap figures are sums). */
  swapTracked: boolean;
  /** The members' figures, added up. */
  sum: Usage;
  /** Pages the members' scans settled as mapped exactly once (unique to anyone holding them). */
  settledAnon: number;
  settledFile: number;
  settledHugetlb: number;
  /** Members added. */
  members: number;
}

/**
 * An empty group.
 *
 * @example
 * ```ts
 * import { createGroupTotals } from "./group.ts";
 * const totals = createGroupTotals();
 * [totals.members, totals.sum.uss]; // [0, 0]
 * ```
 */
export function createGroupTotals(): GroupTotals {
  return {
    frames: { ussAnon: 0, ussFile: 0, hugetlbUss: 0, ram: 0 },
    swapSlots: { ussAnon: 0, ussFile: 0, hugetlbUss: 0, ram: 0 },
    swapTracked: false,
    sum: emptyUsage(),
    settledAnon: 0,
    settledFile: 0,
    settledHugetlb: 0,
    members: 0,
  };
}

/**
 * Adds a member measured at frame level: its figures and its scan's settled pages.
 *
 * @example
 * ```ts
 * import { addGroupMember, createGroupTotals } from "./group.ts";
 * import { createScanTally } from "./pagemap_scan.ts";
 * import { emptyUsage } from "./usage.ts";
 * const totals = createGroupTotals();
 * const tally = createScanTally(1);
 * tally.exclusiveAnon[0] = 3; // pages its scan found mapped exactly once
 * addGroupMember(totals, { ...emptyUsage(), uss: 12288, ussAnon: 12288 }, tally, 4096);
 * [totals.members, totals.settledAnon, totals.sum.uss]; // [1, 12288, 12288]
 * ```
 */
export function addGroupMember(
  totals: GroupTotals,
  usage: Usage,
  tally: ScanTally | null,
  pageSize: number,
): void {
  addUsage(totals.sum, usage);
  totals.members++;
  if (tally === null) return;
  for (let slot = 0; slot < tally.exclusiveAnon.length; slot++) {
    totals.settledAnon += tally.exclusiveAnon[slot] * pageSize;
    totals.settledFile += tally.exclusiveFile[slot] * pageSize;
    totals.settledHugetlb += tally.exclusiveHugetlb[slot] * pageSize;
  }
}

/** A group's figures. */
export interface GroupFigures {
  /**
   * uss, ussAnon, ussFile, hugetlbUss: frames unique to the group; ram: distinct
   * frames the group maps; swap and swapUss (when swap slots were accounted):
   * distinct slots, and slots only the group references; the rest: members' sums.
   */
  usage: Usage;
  /** The sum of the members' own USS (memory shared inside the group is not in it). */
  ussSum: number;
}

/**
 * The figures of a group whose members were all accounted at frame level.
 *
 * @example
 * ```ts
 * import { addGroupMember, createGroupTotals, groupFigures } from "./group.ts";
 * import { createScanTally } from "./pagemap_scan.ts";
 * import { emptyUsage } from "./usage.ts";
 * const totals = createGroupTotals();
 * for (let member = 0; member < 2; member++) {
 *   const tally = createScanTally(1);
 *   tally.exclusiveAnon[0] = 1; // a page only this member maps
 *   addGroupMember(totals, { ...emptyUsage(), uss: 4096, ussAnon: 4096 }, tally, 4096);
 * }
 * totals.frames.ussAnon = 4096; // from accountRefs: a frame the two share with nobody else
 * const { usage, ussSum } = groupFigures(totals);
 * [usage.uss, ussSum]; // [12288, 8192]
 * ```
 */
export function groupFigures(totals: GroupTotals): GroupFigures {
  const usage = { ...totals.sum };
  usage.ussAnon = totals.settledAnon + totals.frames.ussAnon;
  usage.ussFile = totals.settledFile + totals.frames.ussFile;
  usage.uss = usage.ussAnon + usage.ussFile;
  usage.hugetlbUss = totals.settledHugetlb + totals.frames.hugetlbUss;
  usage.ram = totals.settledAnon + totals.settledFile + totals.frames.ram;
  if (totals.swapTracked) {
    usage.swap = totals.swapSlots.ram;
    usage.swapUss = totals.swapSlots.ussAnon;
  }
  return { usage, ussSum: totals.sum.uss };
}

/**
 * Adds up groups (or processes) without claiming exactness: USS of the sum is
 * the sum of USS. For total rows.
 *
 * @example
 * ```ts
 * import { sumUsages } from "./group.ts";
 * import { emptyUsage } from "./usage.ts";
 * const total = sumUsages([{ ...emptyUsage(), uss: 4096 }, { ...emptyUsage(), uss: 8192 }]);
 * total.uss; // 12288
 * ```
 */
export function sumUsages(usages: readonly Usage[]): Usage {
  return usages.reduce((total, usage) => addUsage(total, usage), emptyUsage());
}
