/**
 * The figures `uss` reports, defined once: each measure's key in {@link Usage},
 * its JSON and CSV key, its table header, what it means, whether a group's
 * figure is exact or a sum, and whether it is exported to Prometheus. Table
 * columns, JSON, CSV, Prometheus names and HELP lines, and `--help` all come
 * from this list.
 *
 * @module
 */

import type { Usage } from "../accounting/usage.ts";

/** One reported figure, in bytes. */
export interface Measure {
  /** Its field in {@link Usage}. */
  key: keyof Usage;
  /** JSON and CSV key (snake case); also the name accepted by `--columns`. */
  json: string;
  /** Table header. */
  header: string;
  /** One line: what it counts. */
  help: string;
  /**
   * For a group: true when the figure is the group's own (exact only with
   * frame-level access, unknown otherwise), false when it is the sum of the
   * members' figures.
   */
  exactInGroups: boolean;
  /** Exported as `uss_process_<json>_bytes` and `uss_group_<json>_bytes`. */
  prometheus: boolean;
}

/** Every measure, in the order tables and JSON show them. */
export const MEASURES: readonly Measure[] = [
  {
    key: "uss",
    json: "uss",
    header: "USS",
    help: "unique set size: memory no other process maps, given back when it exits",
    exactInGroups: true,
    prometheus: true,
  },
  {
    key: "ussAnon",
    json: "uss_anon",
    header: "ANON",
    help: "the anonymous part of USS",
    exactInGroups: true,
    prometheus: false,
  },
  {
    key: "ussFile",
    json: "uss_file",
    header: "FILE",
    help: "the file-backed and shared-memory (tmpfs, shmem) part of USS",
    exactInGroups: true,
    prometheus: false,
  },
  {
    key: "pss",
    json: "pss",
    header: "PSS",
    help: "proportional set size: each page divided among the page-table entries that map it",
    exactInGroups: false,
    prometheus: true,
  },
  {
    key: "rss",
    json: "rss",
    header: "RSS",
    help: "resident set size as the kernel counts it: one page per page-table entry",
    exactInGroups: false,
    prometheus: true,
  },
  {
    key: "ram",
    json: "ram",
    header: "RAM",
    help: "resident memory with each physical frame counted once (a frame mapped twice, once)",
    exactInGroups: true,
    prometheus: true,
  },
  {
    key: "swap",
    json: "swap",
    header: "SWAP",
    help: "swapped-out pages of its page tables (a group: each swap slot once)",
    exactInGroups: true,
    prometheus: true,
  },
  {
    key: "swapPss",
    json: "swap_pss",
    header: "SWAP_PSS",
    help: "swap divided among the entries that reference each swap slot (the kernel's SwapPss)",
    exactInGroups: false,
    prometheus: true,
  },
  {
    key: "swapUss",
    json: "swap_uss",
    header: "SWAP_USS",
    help: "swap whose slots nothing else references: freed from swap when it exits",
    exactInGroups: true,
    prometheus: true,
  },
  {
    key: "hugetlb",
    json: "hugetlb",
    header: "HUGETLB",
    help: "hugetlb pages mapped (kept out of USS, PSS and RSS, as the kernel does)",
    exactInGroups: false,
    prometheus: false,
  },
  {
    key: "hugetlbUss",
    json: "hugetlb_uss",
    header: "HUGETLB_USS",
    help: "hugetlb pages no other process maps",
    exactInGroups: true,
    prometheus: false,
  },
];

/**
 * The measure with JSON key or header `name` (case-insensitive), or undefined.
 *
 * @example
 * ```ts
 * import { measureNamed } from "./measures.ts";
 * measureNamed("ANON")?.key; // "ussAnon"
 * ```
 */
export function measureNamed(name: string): Measure | undefined {
  const wanted = name.toLowerCase();
  return MEASURES.find((measure) =>
    measure.json === wanted || measure.header.toLowerCase() === wanted
  );
}

/**
 * A row whose figures may be partly unknown: a process, a group, a total, a
 * mapping or a file.
 */
export interface FigureRow {
  /** Its figures, null when it was not measured. */
  usage: Usage | null;
  /** Figures that could not be told (e.g. swap USS with an incomplete census). */
  unknown?: readonly (keyof Usage)[];
  /** For a group: whether every member was accounted frame by frame. */
  exact?: boolean;
}

/**
 * A row's figure of `measure`, or null when it is not known: the row was not
 * measured, it is a group's own figure and the group is not exact, or the row
 * marks it unknown. Every renderer asks this, so a figure is known or not
 * alike in tables, JSON, CSV, Prometheus and watch deltas.
 *
 * @example
 * ```ts
 * import { emptyUsage } from "../accounting/usage.ts";
 * import { figureOf, measureNamed } from "./measures.ts";
 * const usage = { ...emptyUsage(), uss: 8192, pss: 4096 };
 * figureOf({ usage, exact: false }, measureNamed("uss")!); // null: a group's own, inexact
 * figureOf({ usage, exact: false }, measureNamed("pss")!); // 4096: a sum
 * ```
 */
export function figureOf(row: FigureRow, measure: Measure): number | null {
  if (row.usage === null) return null;
  if (measure.exactInGroups && row.exact === false) return null;
  if (row.unknown?.includes(measure.key)) return null;
  return row.usage[measure.key];
}

/**
 * A row's figures as their JSON keys, in integer bytes, null where
 * {@link figureOf} says unknown.
 *
 * @example
 * ```ts
 * import { emptyUsage } from "../accounting/usage.ts";
 * import { figuresJson } from "./measures.ts";
 * figuresJson({ usage: { ...emptyUsage(), uss: 4096.4 }, unknown: ["swapUss"] }).swap_uss; // null
 * ```
 */
export function figuresJson(row: FigureRow): Record<string, number | null> {
  const json: Record<string, number | null> = {};
  for (const measure of MEASURES) {
    const value = figureOf(row, measure);
    json[measure.json] = value === null ? null : Math.round(value);
  }
  return json;
}
