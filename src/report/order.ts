/**
 * Ordering and truncating rows of any view by one sort key.
 *
 * @module
 */

import type { Usage } from "../accounting/usage.ts";
import { type FileReport, type GroupReport, mappingLabel } from "../measure/aggregate.ts";
import { mappingList } from "../measure/mapping_list.ts";
import type { MappingList, ProcessReport } from "../measure/types.ts";
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
 * The indexes of `count` rows in the order of `ordering.sort` (rows without
 * figures last), reversed on request, the first `limit` kept. `rowAt` gives
 * each row once: its fields are read then, not at each comparison.
 *
 * @example
 * ```ts
 * import { emptyUsage } from "../accounting/usage.ts";
 * import { orderIndexes } from "./order.ts";
 * const sizes = [4096, null, 8192];
 * const rows = sizes.map((pss, pid) => ({ pid, usage: pss === null ? null : { ...emptyUsage(), pss } }));
 * orderIndexes(rows.length, { sort: "pss", reverse: false, limit: 2 }, (index) => rows[index], {
 *   usage: (row) => row.usage, id: (row) => row.pid, name: (row) => String(row.pid),
 * }); // [2, 0]
 * ```
 */
export function orderIndexes<T>(
  count: number,
  ordering: Ordering,
  rowAt: (index: number) => T,
  fields: RowFields<T>,
): number[] {
  const key = ordering.sort;
  const figure: keyof Usage = MEASURES.find((measure) => measure.json === key)?.key ?? "uss";
  const indexes = Array.from({ length: count }, (_, index) => index);
  if (key !== null) {
    const ids = new Float64Array(count);
    // NaN: the row has no figures.
    const values = new Float64Array(count);
    const names: string[] = [];
    for (let index = 0; index < count; index++) {
      const row = rowAt(index);
      ids[index] = fields.id(row);
      if (key === "name") names.push(fields.name(row));
      else values[index] = fields.usage(row)?.[figure] ?? NaN;
    }
    const compare = (a: number, b: number): number => {
      if (key === "pid") return ids[a] - ids[b];
      if (key === "name") return names[a].localeCompare(names[b]) || ids[a] - ids[b];
      const missingA = Number.isNaN(values[a]);
      const missingB = Number.isNaN(values[b]);
      if (missingA || missingB) return Number(missingA) - Number(missingB) || ids[a] - ids[b];
      return values[b] - values[a] || ids[a] - ids[b];
    };
    indexes.sort(compare);
  }
  if (ordering.reverse) indexes.reverse();
  return ordering.limit === null ? indexes : indexes.slice(0, ordering.limit);
}

/**
 * Sorts rows by `ordering.sort` (rows without figures last), reverses on
 * request, and keeps the first `limit` ({@link orderIndexes}).
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
  return orderIndexes(rows.length, ordering, (index) => rows[index], fields).map((index) =>
    rows[index]
  );
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
 * Mappings ordered as asked (`pid` by address, `name` by file): a view of
 * `mappings` in that order (each row's usage read once to order them, its VMA
 * too by name; rows are made again when shown), or `mappings` itself when
 * nothing is to change. The mappings must come in address order, as the
 * kernel lists them: ties are broken by position.
 *
 * @example
 * ```ts
 * import { emptyUsage } from "../accounting/usage.ts";
 * import { parseMaps } from "../procfs/maps.ts";
 * import { orderMappings } from "./order.ts";
 * const maps = "1000-2000 r--p 0 08:01 8 /usr/lib/b.so\n3000-4000 r--p 0 08:01 7 /lib/a.so\n";
 * const mappings = parseMaps(maps, 4096).map((vma) => ({ vma, usage: emptyUsage() }));
 * const ordered = orderMappings(mappings, { sort: "name", reverse: false, limit: null });
 * [...ordered].map((mapping) => mapping.vma.path);
 * // ["/lib/a.so", "/usr/lib/b.so"]
 * ```
 */
export function orderMappings(mappings: MappingList, ordering: Ordering): MappingList {
  if (ordering.sort === null && !ordering.reverse && ordering.limit === null) return mappings;
  // Rows are their indexes: ordering by a figure then makes no VMA when the
  // list gives usages alone. Mappings come in address order, as the kernel
  // lists them, so the index breaks ties as the address would.
  const usageAt = mappings.usageAt?.bind(mappings) ?? ((index) => mappings.at(index)!.usage);
  const indexes = orderIndexes(mappings.length, ordering, (index) => index, {
    usage: usageAt,
    id: (index) => index,
    name: (index) => mappingLabel(mappings.at(index)!),
  });
  return mappingList(
    indexes.length,
    (index) => mappings.at(indexes[index])!,
    (index) => usageAt(indexes[index]),
  );
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
