/**
 * The figures every view reports (USS with its anonymous and file parts, PSS,
 * RSS, swap, hugetlb) and how a process's figures are put together from its scan
 * and its frame references (the rule itself is in `frame_table.ts`). Hugetlb
 * frames count only in the hugetlb fields, as the kernel keeps them out of Rss
 * and Pss.
 *
 * Pure: no I/O.
 *
 * @module
 */

import {
  FIELDS,
  HUGETLB,
  HUGETLB_USS,
  type ProcessAccount,
  PSS,
  RAM,
  RSS,
  USS_ANON,
  USS_FILE,
} from "./frame_table.ts";
import type { ScanTally } from "./pagemap_scan.ts";

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
  /** Resident pages: page-table entries of resident frames, as the kernel's Rss counts them. */
  rss: number;
  /** Resident memory counted once per physical frame (a frame mapped twice counts once). */
  ram: number;
  /**
   * Swapped-out pages: one per swap entry in the process's page tables (a
   * group counts each swap slot once).
   */
  swap: number;
  /** Swap divided among the entries referencing each swap slot (the kernel's SwapPss). */
  swapPss: number;
  /** Swapped-out pages whose swap slot nothing outside the process (group) references. */
  swapUss: number;
  /** Resident hugetlb pages mapped (kept out of USS, PSS and RSS, as the kernel does). */
  hugetlb: number;
  /** The hugetlb frames no other process maps. */
  hugetlbUss: number;
}

/**
 * A Usage of zeros.
 *
 * @example
 * ```ts
 * import { emptyUsage } from "./usage.ts";
 * const total = emptyUsage();
 * [total.uss, total.pss, total.rss]; // [0, 0, 0]
 * ```
 */
export function emptyUsage(): Usage {
  return {
    uss: 0,
    ussAnon: 0,
    ussFile: 0,
    pss: 0,
    rss: 0,
    ram: 0,
    swap: 0,
    swapPss: 0,
    swapUss: 0,
    hugetlb: 0,
    hugetlbUss: 0,
  };
}

/**
 * Adds `part` into `total` field by field and returns `total`.
 *
 * @example
 * ```ts
 * import { addUsage, emptyUsage } from "./usage.ts";
 * const total = emptyUsage();
 * addUsage(total, { ...emptyUsage(), uss: 4096, rss: 8192 });
 * addUsage(total, { ...emptyUsage(), uss: 4096, rss: 4096 });
 * [total.uss, total.rss]; // [8192, 12288]
 * ```
 */
export function addUsage(total: Usage, part: Usage): Usage {
  total.uss += part.uss;
  total.ussAnon += part.ussAnon;
  total.ussFile += part.ussFile;
  total.pss += part.pss;
  total.rss += part.rss;
  total.ram += part.ram;
  total.swap += part.swap;
  total.swapPss += part.swapPss;
  total.swapUss += part.swapUss;
  total.hugetlb += part.hugetlb;
  total.hugetlbUss += part.hugetlbUss;
  return total;
}

/**
 * The figures of slot `slot` (a mapping, or 0 for process totals): what the scan
 * settled at once (`tally`: pages mapped exactly once, swap entries) joined to
 * what frame references added (`account`) and, when swap slots were accounted,
 * what they added (`swap`: its PSS is the swap PSS, its unique pages the swap
 * USS). Without `swap`, swap PSS and swap USS equal swap (the caller marks them
 * unknown). PSS is rounded to a byte.
 *
 * @example
 * ```ts
 * import { createProcessAccount, PSS, RSS } from "./frame_table.ts";
 * import { createScanTally } from "./pagemap_scan.ts";
 * import { slotUsage } from "./usage.ts";
 * const tally = createScanTally(2);
 * tally.exclusiveAnon[1] = 2; // two pages of mapping 1 the scan settled as mapped once
 * const account = createProcessAccount(2);
 * const usage = slotUsage(tally, account, 1, 4096);
 * [usage.uss, usage.pss, usage.rss]; // [8192, 8192, 8192]
 * ```
 */
export function slotUsage(
  tally: ScanTally,
  account: ProcessAccount,
  slot: number,
  pageSize: number,
  swap: ProcessAccount | null = null,
): Usage {
  const figures = account.figures;
  const base = slot * FIELDS;
  const anon = tally.exclusiveAnon[slot] * pageSize;
  const file = tally.exclusiveFile[slot] * pageSize;
  const hugetlb = tally.exclusiveHugetlb[slot] * pageSize;
  return {
    uss: anon + file + figures[base + USS_ANON] + figures[base + USS_FILE],
    ussAnon: anon + figures[base + USS_ANON],
    ussFile: file + figures[base + USS_FILE],
    pss: Math.round(anon + file + figures[base + PSS]),
    rss: anon + file + figures[base + RSS],
    ram: anon + file + figures[base + RAM],
    swap: tally.swapped[slot] * pageSize,
    // Swap slots accounted like frames (PSS per reference, unique when the
    // references are the process's own); without them, as if none were shared.
    swapPss: swap ? Math.round(swap.figures[base + PSS]) : tally.swapped[slot] * pageSize,
    swapUss: swap ? swap.figures[base + USS_ANON] : tally.swapped[slot] * pageSize,
    hugetlb: hugetlb + figures[base + HUGETLB],
    hugetlbUss: hugetlb + figures[base + HUGETLB_USS],
  };
}

/**
 * A process's total over its `slots` slots: the sum of each {@link slotUsage}
 * (PSS summed from each slot's rounded PSS, so rows add up exactly).
 *
 * @example
 * ```ts
 * import { createProcessAccount, PSS, RSS } from "./frame_table.ts";
 * import { createScanTally } from "./pagemap_scan.ts";
 * import { processTotal } from "./usage.ts";
 * const tally = createScanTally(1);
 * tally.exclusiveAnon[0] = 2; // two pages the scan settled as mapped once
 * const account = createProcessAccount(1);
 * // What accountRefs adds for a frame shared with one other process:
 * account.figures[PSS] = 2048;
 * account.figures[RSS] = 4096;
 * const total = processTotal(tally, account, 1, 4096);
 * [total.uss, total.pss, total.rss]; // [8192, 10240, 12288]
 * ```
 */
export function processTotal(
  tally: ScanTally,
  account: ProcessAccount,
  slots: number,
  pageSize: number,
  swap: ProcessAccount | null = null,
): Usage {
  const total = emptyUsage();
  for (let slot = 0; slot < Math.max(1, slots); slot++) {
    addUsage(total, slotUsage(tally, account, slot, pageSize, swap));
  }
  return total;
}
