/**
 * The columns of every row kind (processes, groups, mappings, files): the
 * identity columns of each kind and, from the table of measures, one column per
 * measure and one per measure as a share of the machine's memory (`uss%`).
 * `--columns` picks and orders them by id; each view has its default list.
 *
 * @module
 */

import type { FileReport, GroupReport } from "../measure/aggregate.ts";
import { mappingLabel } from "../measure/aggregate.ts";
import type { MappingReport } from "../measure/types.ts";
import { figureOf, type FigureRow, measureNamed, MEASURES } from "./measures.ts";
import type { ProcessRow } from "./result.ts";

/** A cell before formatting: a number (bytes, count or percent), text, or null (unknown). */
export type Cell = number | string | null;

/** A row's change in watch mode: since the last sample and since the first (null: new). */
export interface Change {
  sinceLast: number | null;
  sinceFirst: number | null;
}

/** What columns may need besides the row. */
export interface ColumnContext {
  /** The machine's memory in bytes, for shares; null when unknown. */
  memoryTotal: number | null;
  /** In watch mode: how a row's watched figure changed. */
  change?: (row: unknown) => Change | null;
}

/** One column of a row kind. */
export interface Column<Row> {
  /** Its name in `--columns` and the CSV header. */
  id: string;
  /** The table header. */
  header: string;
  /** Numbers align right, words left. */
  align: "left" | "right";
  /** How the value prints: bytes (units, or exact with `--bytes`), a count, a percentage, text. */
  kind: "bytes" | "count" | "percent" | "text";
  /** One line for `--help`. */
  help: string;
  /** The cell of `row`. */
  value(row: Row, context: ColumnContext): Cell;
}

/** The kinds of rows views produce. */
export type RowKind = "process" | "group" | "mapping" | "file";

/** The row type of each kind. */
export interface RowOf {
  process: ProcessRow;
  group: GroupReport;
  mapping: MappingReport;
  file: FileReport;
}

function share(bytes: number | null, context: ColumnContext): number | null {
  if (bytes === null || !context.memoryTotal) return null;
  return (bytes / context.memoryTotal) * 100;
}

/** A column per measure, then one per measure as a share of memory, for rows with a usage. */
function measureColumns<Row extends FigureRow>(): Column<Row>[] {
  return [
    ...MEASURES.map((measure): Column<Row> => ({
      id: measure.json,
      header: measure.header,
      align: "right",
      kind: "bytes",
      help: measure.help,
      value: (row) => figureOf(row, measure),
    })),
    ...MEASURES.map((measure): Column<Row> => ({
      id: `${measure.json}%`,
      header: `${measure.header}%`,
      align: "right",
      kind: "percent",
      help: `${measure.header} as a share of the machine's memory (MemTotal)`,
      value: (row, context) => share(figureOf(row, measure), context),
    })),
  ];
}

function text<Row>(
  id: string,
  header: string,
  help: string,
  value: (row: Row) => Cell,
  align: "left" | "right" = "left",
  kind: Column<Row>["kind"] = "text",
): Column<Row> {
  return { id, header, align, kind, help, value };
}

const PROCESS_COLUMNS: Column<ProcessRow>[] = [
  text("pid", "PID", "process ID", (row) => row.pid, "right", "count"),
  text("ppid", "PPID", "parent process ID", (row) => row.ppid ?? null, "right", "count"),
  text("uid", "UID", "effective user ID", (row) => row.uid, "right", "count"),
  text("user", "USER", "owner (effective user)", (row) => row.user),
  text("name", "NAME", "command name", (row) => row.name),
  text("command", "COMMAND", "full command line", (row) => row.command ?? null),
  text("state", "STATE", "measured (ok), or why not", (row) => row.state),
  text("error", "ERROR", "why it was not measured", (row) => row.error),
  text("method", "METHOD", "kpagecount (exact) or smaps", (row) => row.method),
  text("vss", "VSS", "virtual size (VmSize)", (row) => row.vss ?? null, "right", "bytes"),
  ...measureColumns<ProcessRow>(),
];

const GROUP_COLUMNS: Column<GroupReport>[] = [
  text("group", "GROUP", "the group", (row) => row.group),
  text(
    "procs",
    "PROCS",
    "processes measured in the group",
    (row) => row.members.length,
    "right",
    "count",
  ),
  text(
    "uss_sum",
    "USS_SUM",
    "the members' own USS added up (USS - USS_SUM: memory shared only inside the group)",
    (row) => row.ussSum,
    "right",
    "bytes",
  ),
  text("method", "METHOD", "kpagecount (exact) or smaps", (row) => row.method),
  ...measureColumns<GroupReport>(),
  text("path", "PATH", "the cgroup's full path", (row) => row.cgroup?.path ?? null),
  text(
    "charge",
    "CHARGE",
    "the kernel's charge of the cgroup: memory.current (v2), memory.usage_in_bytes (v1)",
    (row) => row.cgroup?.charge?.current ?? null,
    "right",
    "bytes",
  ),
  text(
    "charge_anon",
    "CH_ANON",
    "its anonymous part: anon (v2) or total_rss (v1) of memory.stat",
    (row) => row.cgroup?.charge?.anon ?? null,
    "right",
    "bytes",
  ),
  text(
    "charge_file",
    "CH_FILE",
    "its page cache part: file (v2) or total_cache (v1) of memory.stat",
    (row) => row.cgroup?.charge?.file ?? null,
    "right",
    "bytes",
  ),
];

const MAPPING_COLUMNS: Column<MappingReport>[] = [
  text("address", "ADDRESS", "start-end addresses", (row) => `${row.vma.start}-${row.vma.end}`),
  text("perms", "PERMS", "permissions (rwx, s shared / p private)", (row) => row.vma.perms),
  text("offset", "OFFSET", "offset into the file (hex)", (row) => row.vma.offset),
  text("device", "DEVICE", "device of the file (major:minor)", (row) => row.vma.device),
  text("inode", "INODE", "inode of the file", (row) => row.vma.inode, "right", "count"),
  ...measureColumns<MappingReport>(),
  text("mapping", "MAPPING", "the file, pseudo-path or [anon]", mappingLabel),
];

const FILE_COLUMNS: Column<FileReport>[] = [
  text("procs", "PROCS", "processes mapping it", (row) => row.pids.length, "right", "count"),
  text("maps", "MAPS", "mappings merged", (row) => row.mappings, "right", "count"),
  ...measureColumns<FileReport>(),
  text("path", "PATH", "the file, pseudo-path or [anon]", (row) => row.file),
];

/** The two columns watch mode adds: how the watched figure changed. */
function changeColumns<Row>(): Column<Row>[] {
  return [
    {
      id: "+last",
      header: "+LAST",
      align: "right",
      kind: "bytes",
      help: "watch mode: change of the watched figure since the last sample",
      value: (row, context) => context.change?.(row)?.sinceLast ?? null,
    },
    {
      id: "+start",
      header: "+START",
      align: "right",
      kind: "bytes",
      help: "watch mode: change of the watched figure since the first sample",
      value: (row, context) => context.change?.(row)?.sinceFirst ?? null,
    },
  ];
}

/** Every column of each row kind. */
export const COLUMNS: { [Kind in RowKind]: Column<RowOf[Kind]>[] } = {
  process: [...PROCESS_COLUMNS, ...changeColumns<ProcessRow>()],
  group: [...GROUP_COLUMNS, ...changeColumns<GroupReport>()],
  mapping: [...MAPPING_COLUMNS, ...changeColumns<MappingReport>()],
  file: [...FILE_COLUMNS, ...changeColumns<FileReport>()],
};

/**
 * The figure columns every view shows by default: RAM for groups, swap PSS and
 * swap USS when some row has swap, hugetlb ones when some row has hugetlb pages.
 */
export function defaultMeasureIds(hugetlb: boolean, ram = false, swap = false): string[] {
  return [
    "uss",
    "uss_anon",
    "uss_file",
    "pss",
    "rss",
    ...(ram ? ["ram"] : []),
    "swap",
    ...(swap ? ["swap_pss", "swap_uss"] : []),
    ...(hugetlb ? ["hugetlb", "hugetlb_uss"] : []),
  ];
}

/** Thrown for a column a row kind does not have; the message is one line. */
export class ColumnError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ColumnError";
  }
}

/**
 * The columns named by `ids` (column ids, JSON keys or table headers, any case;
 * a measure followed by `%` is its share of memory), in that order.
 *
 * @throws {ColumnError} for a name the row kind has no column for.
 * @example
 * ```ts
 * import { COLUMNS, resolveColumns } from "./columns.ts";
 * resolveColumns(COLUMNS.process, ["PID", "anon", "uss%"]).map((column) => column.id);
 * // ["pid", "uss_anon", "uss%"]
 * ```
 */
export function resolveColumns<Row>(columns: Column<Row>[], ids: readonly string[]): Column<Row>[] {
  return ids.map((name) => {
    const wanted = name.trim().toLowerCase();
    const percent = wanted.endsWith("%");
    const measure = measureNamed(percent ? wanted.slice(0, -1) : wanted);
    const id = measure ? `${measure.json}${percent ? "%" : ""}` : wanted;
    const column = columns.find((candidate) =>
      candidate.id === id || candidate.header.toLowerCase() === wanted
    );
    if (!column) {
      throw new ColumnError(
        `unknown column ${JSON.stringify(name)}: expected one of ${
          columns.filter((candidate) => !candidate.id.endsWith("%")).map((c) => c.id).join(", ")
        } (a figure followed by % gives its share of memory)`,
      );
    }
    return column;
  });
}
