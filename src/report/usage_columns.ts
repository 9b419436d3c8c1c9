/**
 * The figure columns every table shares (USS, its anonymous and file parts, PSS,
 * RSS, swap, hugetlb) and their JSON keys, defined once.
 *
 * @module
 */

import type { Usage } from "../accounting/usage.ts";
import { type Column, formatBytes } from "./format.ts";

/** Which optional figure columns a table shows. */
export interface UsageLayout {
  /** Show hugetlb columns (only when some row has hugetlb pages). */
  hugetlb: boolean;
  /** Show the RAM column (distinct frames: for groups, where it differs from RSS most). */
  ram?: boolean;
  /** Print exact byte counts. */
  bytes: boolean;
}

/**
 * Picks the layout for a set of rows: hugetlb columns only if some row has any.
 *
 * @example
 * ```ts
 * const layout = usageLayout(reports.map((r) => r.usage), options.bytes);
 * ```
 */
export function usageLayout(usages: readonly (Usage | null)[], bytes = false): UsageLayout {
  return { hugetlb: usages.some((usage) => (usage?.hugetlb ?? 0) > 0), bytes };
}

/** The figure columns, in order. */
export function usageColumns(layout: UsageLayout): Column[] {
  const right = (header: string): Column => ({ header, align: "right" });
  return [
    right("USS"),
    right("ANON"),
    right("FILE"),
    right("PSS"),
    right("RSS"),
    ...(layout.ram ? [right("RAM")] : []),
    right("SWAP"),
    ...(layout.hugetlb ? [right("HUGETLB"), right("HUGETLB_USS")] : []),
  ];
}

/**
 * The figure cells of one row; `unknown` lists fields to print as "-" (figures
 * that cannot be known, e.g. exact group USS without privilege).
 */
export function usageCells(
  usage: Usage,
  layout: UsageLayout,
  unknown: ReadonlySet<keyof Usage> = new Set(),
): string[] {
  const cell = (field: keyof Usage) =>
    unknown.has(field) ? "-" : formatBytes(usage[field], { exact: layout.bytes });
  return [
    cell("uss"),
    cell("ussAnon"),
    cell("ussFile"),
    cell("pss"),
    cell("rss"),
    ...(layout.ram ? [cell("ram")] : []),
    cell("swap"),
    ...(layout.hugetlb ? [cell("hugetlb"), cell("hugetlbUss")] : []),
  ];
}

/** The JSON size keys of a Usage, as integer bytes. */
export interface UsageJson {
  /** Unique set size. */
  uss: number;
  /** Its anonymous part. */
  uss_anon: number;
  /** Its file-backed and shmem part. */
  uss_file: number;
  /** Proportional set size. */
  pss: number;
  /** Resident pages, as the kernel's Rss. */
  rss: number;
  /** Resident memory, each physical frame once. */
  ram: number;
  /** Swapped-out pages. */
  swap: number;
  /** Resident hugetlb frames. */
  hugetlb: number;
  /** Hugetlb frames no other process maps. */
  hugetlb_uss: number;
}

/**
 * A Usage as JSON keys, rounded to integer bytes.
 *
 * @example
 * ```ts
 * usageJson(report.usage).uss_anon;
 * ```
 */
export function usageJson(usage: Usage): UsageJson {
  return {
    uss: Math.round(usage.uss),
    uss_anon: Math.round(usage.ussAnon),
    uss_file: Math.round(usage.ussFile),
    pss: Math.round(usage.pss),
    rss: Math.round(usage.rss),
    ram: Math.round(usage.ram),
    swap: Math.round(usage.swap),
    hugetlb: Math.round(usage.hugetlb),
    hugetlb_uss: Math.round(usage.hugetlbUss),
  };
}
