/**
 * Ordering and truncating rows of any view by one sort key.
 *
 * @module
 */

import type { Usage } from "../accounting/usage.ts";
import { type FileReport, type GroupReport, mappingLabel } from "../measure/aggregate.ts";
import type { MappingReport, ProcessReport } from "../measure/types.ts";
import { MEASURES } from "./measures.ts";

/**
 * Keys the views sort by: a figure (its JSON key) sorts largest first, pid and
 * name ascending.
 */
export type SortKey = string;

/** Every sort key, for validation: every measure, then pid and name. */
export const SORT_KEYS: readonly SortKey[] = [
  ...MEASURES.map((measure) => measure.json),
  "pid",
  "name",
];

/** How to read a row's sort fields. */
export interface RowFields<T> {
  usage(row: T): Usage | null;
  /** PID, address or any number that orders rows naturally. */
  id(row: T): number;
  name(row: T): string;
}

/** How to order and cut rows. */
export interface Ordering {
  /** The key to sort by; null keeps the rows' order. */
  sort: SortKey | null;
  reverse: boolean;
  limit: number | null;
}

/**
 * Sorts rows by `ordering.sort` (rows without figures last), reverses on
 * request, and keeps the first `limit`.
 *
 * @example
 * ```ts
 * orderRows(reports, { sort: "pss", reverse: false, limit: 10 }, {
 *   usage: (r) => r.usage, id: (r) => r.pid, name: (r) => r.name ?? "",
 * });
 * ```
 */
export function orderRows<T>(rows: readonly T[], ordering: Ordering, fields: RowFields<T>): T[] {
  const key = ordering.sort;
  const figure: keyof Usage = MEASURES.find((measure) => measure.json === key)?.key ?? "uss";
  const compare = (a: T, b: T): number => {
    if (key === null) return 0;
    if (key === "pid") return fields.id(a) - fields.id(b);
    if (key === "name") {
      return fields.name(a).localeCompare(fields.name(b)) || fields.id(a) - fields.id(b);
    }
    const usageA = fields.usage(a);
    const usageB = fields.usage(b);
    if (!usageA || !usageB) {
      return (usageA ? 0 : 1) - (usageB ? 0 : 1) || fields.id(a) - fields.id(b);
    }
    return usageB[figure] - usageA[figure] || fields.id(a) - fields.id(b);
  };
  const sorted = key === null ? [...rows] : [...rows].sort(compare);
  if (ordering.reverse) sorted.reverse();
  return ordering.limit === null ? sorted : sorted.slice(0, ordering.limit);
}

/**
 * Processes ordered as asked (`pid` by PID, `name` by command name).
 *
 * @example
 * ```ts
 * import { orderProcesses } from "./order.ts";
 * orderProcesses([], { sort: "uss", reverse: false, limit: null }); // []
 * ```
 */
export function orderProcesses<T extends ProcessReport>(
  reports: readonly T[],
  ordering: Ordering,
): T[] {
  return orderRows(reports, ordering, {
    usage: (report) => report.usage,
    id: (report) => report.pid,
    name: (report) => report.name ?? "",
  });
}

/**
 * Groups ordered as asked (`pid` by first member, `name` by label).
 *
 * @example
 * ```ts
 * import { orderGroups } from "./order.ts";
 * orderGroups([], { sort: "uss", reverse: false, limit: null }); // []
 * ```
 */
export function orderGroups(groups: readonly GroupReport[], ordering: Ordering): GroupReport[] {
  return orderRows(groups, ordering, {
    usage: (group) => group.usage,
    id: (group) => group.members[0] ?? 0,
    name: (group) => group.group,
  });
}

/**
 * Mappings ordered as asked (`pid` by address, `name` by file).
 *
 * @example
 * ```ts
 * import { orderMappings } from "./order.ts";
 * orderMappings([], { sort: null, reverse: false, limit: 3 }); // []
 * ```
 */
export function orderMappings(
  mappings: readonly MappingReport[],
  ordering: Ordering,
): MappingReport[] {
  return orderRows(mappings, ordering, {
    usage: (mapping) => mapping.usage,
    id: (mapping) => mapping.vma.startPage,
    name: mappingLabel,
  });
}

/**
 * Files ordered as asked (`pid` by first PID, `name` by path).
 *
 * @example
 * ```ts
 * import { orderFiles } from "./order.ts";
 * orderFiles([], { sort: "pss", reverse: true, limit: null }); // []
 * ```
 */
export function orderFiles(files: readonly FileReport[], ordering: Ordering): FileReport[] {
  return orderRows(files, ordering, {
    usage: (file) => file.usage,
    id: (file) => file.pids[0] ?? 0,
    name: (file) => file.file,
  });
}
