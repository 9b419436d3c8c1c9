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
 * import { emptyUsage } from "../accounting/usage.ts";
 * import { orderRows } from "./order.ts";
 * const rows = [
 *   { pid: 1, name: "init", usage: { ...emptyUsage(), pss: 4096 } },
 *   { pid: 2, name: "gone", usage: null },
 *   { pid: 3, name: "db", usage: { ...emptyUsage(), pss: 8192 } },
 * ];
 * orderRows(rows, { sort: "pss", reverse: false, limit: null }, {
 *   usage: (row) => row.usage, id: (row) => row.pid, name: (row) => row.name,
 * }).map((row) => row.pid); // [3, 1, 2]: largest first, rows without figures last
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
 * import { failedReport } from "../measure/scan_process.ts";
 * import { orderProcesses } from "./order.ts";
 * const reports = [failedReport(7, "zombie"), failedReport(3, "exited")];
 * const ordering = { sort: "pid", reverse: false, limit: null };
 * orderProcesses(reports, ordering).map((report) => report.pid); // [3, 7]
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
 * import { emptyUsage } from "../accounting/usage.ts";
 * import { orderGroups } from "./order.ts";
 * const group = (name: string, uss: number) => ({
 *   group: name, members: [1], method: null, exact: true,
 *   usage: { ...emptyUsage(), uss }, ussSum: uss,
 * });
 * const groups = [group("small", 4096), group("large", 8192)];
 * orderGroups(groups, { sort: "uss", reverse: false, limit: null }).map((g) => g.group);
 * // ["large", "small"]
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
 * import { emptyUsage } from "../accounting/usage.ts";
 * import { parseMaps } from "../procfs/maps.ts";
 * import { orderMappings } from "./order.ts";
 * const maps = "1000-2000 r--p 0 08:01 8 /usr/lib/b.so\n3000-4000 r--p 0 08:01 7 /lib/a.so\n";
 * const mappings = parseMaps(maps, 4096).map((vma) => ({ vma, usage: emptyUsage() }));
 * orderMappings(mappings, { sort: "name", reverse: false, limit: null }).map((m) => m.vma.path);
 * // ["/lib/a.so", "/usr/lib/b.so"]
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
 * import { emptyUsage } from "../accounting/usage.ts";
 * import { orderFiles } from "./order.ts";
 * const file = (path: string, pss: number) => ({
 *   file: path, pids: [1], mappings: 1, usage: { ...emptyUsage(), pss },
 * });
 * const files = [file("/lib/a.so", 8192), file("[heap]", 4096), file("/bin/sh", 16384)];
 * orderFiles(files, { sort: "pss", reverse: true, limit: 2 }).map((f) => f.file);
 * // ["[heap]", "/lib/a.so"]: smallest first, then cut
 * ```
 */
export function orderFiles(files: readonly FileReport[], ordering: Ordering): FileReport[] {
  return orderRows(files, ordering, {
    usage: (file) => file.usage,
    id: (file) => file.pids[0] ?? 0,
    name: (file) => file.file,
  });
}
