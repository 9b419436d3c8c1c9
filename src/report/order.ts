/**
 * Ordering and truncating rows of any view by one sort key.
 *
 * @module
 */

import type { Usage } from "../accounting/usage.ts";

/** Keys the views sort by: sizes sort largest first, pid and name ascending. */
export type SortKey = "uss" | "pss" | "rss" | "swap" | "pid" | "name";

/** Every sort key, for validation. */
export const SORT_KEYS: readonly SortKey[] = ["uss", "pss", "rss", "swap", "pid", "name"];

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
    return usageB[key] - usageA[key] || fields.id(a) - fields.id(b);
  };
  const sorted = key === null ? [...rows] : [...rows].sort(compare);
  if (ordering.reverse) sorted.reverse();
  return ordering.limit === null ? sorted : sorted.slice(0, ordering.limit);
}
