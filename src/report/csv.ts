/**
 * Results as CSV (RFC 4180): a header row of column ids, one record per row,
 * integer bytes, empty fields for what is not known, CRLF line breaks. The
 * columns are every figure of the row kind (or `--columns`); processes add
 * their parent, state and error, so that a row without figures says why.
 *
 * @module
 */

import {
  type Cell,
  type Column,
  type ColumnContext,
  COLUMNS,
  defaultMeasureIds,
  resolveColumns,
  type RowKind,
  type RowOf,
} from "./columns.ts";
import { csvField } from "./escape.ts";
import type { ViewResult } from "./result.ts";

function field(column: Column<unknown>, value: Cell): string {
  if (value === null) return "";
  if (column.kind === "bytes" || column.kind === "count") {
    return String(Math.round(value as number));
  }
  if (column.kind === "percent") return (value as number).toFixed(3);
  return csvField(String(value));
}

function* records<Kind extends RowKind>(
  kind: Kind,
  rows: Iterable<RowOf[Kind]>,
  ids: readonly string[],
  context: ColumnContext,
): Generator<string> {
  const columns = resolveColumns(COLUMNS[kind] as Column<RowOf[Kind]>[], ids);
  yield `${columns.map((column) => csvField(column.id)).join(",")}\r\n`;
  for (const row of rows) {
    const fields = columns.map((column) =>
      field(column as Column<unknown>, column.value(row, context))
    );
    yield `${fields.join(",")}\r\n`;
  }
}

/**
 * A result as CSV records, each with its `\r\n`, made as they are taken.
 * `columns` (ids) replaces the default columns.
 *
 * @throws {ColumnError} for a column the view lacks (when the header is taken).
 * @example
 * ```ts
 * import { csvRecords } from "./csv.ts";
 * const [header] = csvRecords({ kind: "groups", by: "name", groups: [], members: null,
 *   accounting: null, method: "smaps", notes: [], exitCode: 0, memory: null }, null);
 * header;
 * // "group,procs,uss,uss_sum,uss_anon,uss_file,pss,rss,ram,swap,swap_pss,swap_uss,hugetlb,hugetlb_uss,method\r\n"
 * ```
 */
export function* csvRecords(
  result: ViewResult,
  columns: readonly string[] | null,
): Generator<string> {
  const context: ColumnContext = { memoryTotal: result.memory?.total ?? null };
  const figures = defaultMeasureIds(true, true, true);
  switch (result.kind) {
    case "processes":
      yield* records(
        "process",
        result.processes,
        columns ?? ["pid", "ppid", "user", "name", ...figures, "method", "state", "error"],
        context,
      );
      return;
    case "groups":
      yield* records(
        "group",
        result.groups,
        columns ?? [
          "group",
          "procs",
          "uss",
          "uss_sum",
          ...figures.slice(1),
          "method",
          ...(result.by === "cgroup" ? ["path", "charge", "charge_anon", "charge_file"] : []),
        ],
        context,
      );
      return;
    case "mappings":
      yield* records(
        "mapping",
        result.mappings,
        columns ?? ["address", "perms", "offset", "device", "inode", ...figures, "mapping"],
        context,
      );
      return;
    case "files":
      yield* records(
        "file",
        result.files,
        columns ?? [result.process ? "maps" : "procs", ...figures, "path"],
        context,
      );
      return;
  }
}
