/**
 * Results as aligned text tables for people: the chosen (or default) columns,
 * a total row where one adds up, and footer lines saying what was left out and
 * what could not be read. Text from processes is escaped.
 *
 * @module
 */

import type { Usage } from "../accounting/usage.ts";
import {
  type Cell,
  type Change,
  type Column,
  type ColumnContext,
  COLUMNS,
  defaultMeasureIds,
  resolveColumns,
  type RowKind,
  type RowOf,
} from "./columns.ts";
import { printable } from "./escape.ts";
import { formatBytes, type Row, tableLines } from "./format.ts";
import type { Accounting, ProcessRow, Rows, ViewResult } from "./result.ts";

/** How tables print. */
export interface TableOptions {
  /** Exact byte counts instead of binary units (footers too). */
  bytes: boolean;
  /** Column ids to show, in order; null for each view's default. */
  columns: readonly string[] | null;
  /**
   * Watch mode: how each row's watched figure (`watched`, a column id) changed;
   * its +LAST and +START columns follow that figure's column.
   */
  change?: (row: unknown) => Change | null;
  /** The watched figure's column id. */
  watched?: string;
}

/** Labels longer than this are shortened in tables (JSON keeps them whole). */
const MAX_LABEL = 48;

/**
 * Shortens a long label to {@link MAX_LABEL} characters, saying how much was cut.
 *
 * @example
 * ```ts
 * import { shortLabel } from "./table.ts";
 * shortLabel("[anon:short]"); // "[anon:short]"
 * shortLabel("group:" + "1234,".repeat(20)); // "group:1234,1234,1234,1234,1234,1234… (+71 chars)"
 * ```
 */
export function shortLabel(label: string): string {
  if (label.length <= MAX_LABEL) return label;
  // The suffix says how many characters it hides, and takes room itself.
  let hidden = label.length - MAX_LABEL;
  for (;;) {
    const kept = MAX_LABEL - `… (+${hidden} chars)`.length;
    if (label.length - kept === hidden) return `${label.slice(0, kept)}… (+${hidden} chars)`;
    hidden = label.length - kept;
  }
}

/**
 * Sizes formatted lately, exact and not: a table formats each cell twice
 * (widths, then lines), and the mappings of a process repeat a few sizes
 * (65,000 rows of 8 KiB spent a tenth of `uss maps` formatting them).
 */
const sizeTexts = [new Map<number, string>(), new Map<number, string>()];
const SIZE_TEXTS = 4096;

function sizeText(bytes: number, exact: boolean): string {
  const texts = sizeTexts[exact ? 1 : 0];
  let text = texts.get(bytes);
  if (text === undefined) {
    if (texts.size === SIZE_TEXTS) texts.clear();
    text = formatBytes(bytes, { exact });
    texts.set(bytes, text);
  }
  return text;
}

/**
 * A cell as text: sizes in binary units (or exact), counts as numbers,
 * percentages with two decimals (as smem -p: a process is often well under
 * 1% of a server's memory), text escaped; "-" when unknown.
 */
export function cellText(column: Column<unknown>, value: Cell, bytes: boolean): string {
  if (value === null) return "-";
  if (column.id.startsWith("+") && typeof value === "number") {
    return value > 0 ? `+${sizeText(value, bytes)}` : sizeText(value, bytes);
  }
  switch (column.kind) {
    case "bytes":
      return sizeText(value as number, bytes);
    case "count":
      return String(value);
    case "percent":
      return `${(value as number).toFixed(2)}%`;
    default:
      return printable(String(value));
  }
}

function hasHugetlb(usages: readonly (Usage | null)[]): boolean {
  return usages.some((usage) => (usage?.hugetlb ?? 0) > 0);
}

function hasSwap(usages: readonly (Usage | null)[]): boolean {
  return usages.some((usage) => (usage?.swap ?? 0) > 0);
}

/** The default figure columns for rows with these usages. */
function figureIds(usages: readonly (Usage | null)[], ram = false): string[] {
  return defaultMeasureIds(hasHugetlb(usages), ram, hasSwap(usages));
}

/**
 * The lines of a table of rows of one kind; `summary` rows follow the rows,
 * labelled in `labelColumn`. Cells are formatted as lines are consumed.
 */
function rowsTable<Kind extends RowKind>(
  kind: Kind,
  rows: Rows<RowOf[Kind]>,
  ids: readonly string[],
  options: TableOptions,
  context: ColumnContext,
  extra: {
    /** The message replacing the figures of a row that has none. */
    message?: (row: RowOf[Kind]) => string | null;
    /**
     * Rows after the others: the figures of `row` (and its `also` columns),
     * `label` in column `labelColumn` (else the first column that is not a figure).
     */
    summaries?: { row: RowOf[Kind]; label: string; labelColumn: string; also?: string[] }[];
    label?: (column: Column<RowOf[Kind]>, text: string) => string;
  } = {},
): Iterable<string> {
  const chosen = [...(options.columns ?? ids)];
  if (options.change) {
    const at = chosen.indexOf(options.watched ?? "uss");
    chosen.splice(at < 0 ? chosen.length : at + 1, 0, "+last", "+start");
  }
  const columns = resolveColumns(COLUMNS[kind] as Column<RowOf[Kind]>[], chosen);
  const text = (column: Column<RowOf[Kind]>, row: RowOf[Kind]) => {
    const cell = cellText(column as Column<unknown>, column.value(row, context), options.bytes);
    return extra.label ? extra.label(column, cell) : cell;
  };
  const figure = (column: Column<RowOf[Kind]>) =>
    column.kind === "bytes" || column.kind === "percent";
  const lead = columns.findIndex(figure);
  const leading = columns.slice(0, lead < 0 ? columns.length : lead);
  const summaries = extra.summaries ?? [];
  const rowAt = (index: number): Row => {
    if (index >= rows.length) {
      const summary = summaries[index - rows.length];
      const labelAt = columns.findIndex((column) => column.id === summary.labelColumn);
      const at = labelAt >= 0 ? labelAt : columns.findIndex((column) => !figure(column));
      return columns.map((column, position) =>
        position === at
          ? summary.label
          : figure(column) || summary.also?.includes(column.id)
          ? text(column, summary.row)
          : ""
      );
    }
    const row = rows.at(index)!;
    const message = extra.message?.(row) ?? null;
    if (message === null) return columns.map((column) => text(column, row));
    return { cells: leading.map((column) => text(column, row)), message: printable(message) };
  };
  return tableLines(
    columns.map((column) => ({ header: column.header, align: column.align })),
    rows.length + summaries.length,
    rowAt,
  );
}

function count(what: number, one: string, many = `${one}es`): string {
  return `${what} ${what === 1 ? one : many}`;
}

/** Lines saying what a machine-wide view could not measure. */
function accountingLines(accounting: Accounting | null): string[] {
  if (!accounting) return [];
  const lines: string[] = [];
  const { unreadable, exited, zombies, failed } = accounting;
  // Why, from the rows: as root the kernel can still refuse (its ptrace check),
  // and advice to run as root would then be wrong.
  const reasons = (state: ProcessRow["state"]) => {
    const distinct = [
      ...new Set(
        accounting.unmeasured.filter((row) => row.state === state).map((row) => row.error),
      ),
    ];
    return printable(distinct.slice(0, 3).join("; ")) + (distinct.length > 3 ? "; …" : "");
  };
  if (unreadable > 0) {
    lines.push(
      `${count(unreadable, "process")} not readable: ${reasons("permission-denied")}`,
    );
  }
  if (exited > 0) lines.push(`${count(exited, "process")} exited during the scan`);
  if (zombies > 0) lines.push(`${count(zombies, "process")} exited, not yet reaped (zombies)`);
  if (failed > 0) {
    lines.push(
      `${count(failed, "process")} could not be read: ${reasons("error")} (--json lists each)`,
    );
  }
  return lines;
}

function processMessage(row: ProcessRow): string | null {
  return row.usage ? null : row.error ?? row.state;
}

function totalRow(usage: Usage, unknown: (keyof Usage)[] = []): ProcessRow {
  return {
    unknown,
    pid: 0,
    name: null,
    uid: null,
    startTime: null,
    state: "ok",
    error: null,
    method: null,
    usage,
    notes: [],
    user: null,
  };
}

function processIds(rows: readonly ProcessRow[], listing: boolean): string[] {
  return [
    "pid",
    "user",
    "name",
    ...figureIds(rows.map((row) => row.usage)),
    ...(listing ? [] : ["method"]),
  ];
}

/**
 * The lines of any result as text for a terminal, made as they are consumed
 * (a process's 100,000 mappings are never held as text at once).
 *
 * @throws {ColumnError} when `options.columns` names a column the view lacks
 * (on the first line).
 * @example
 * ```ts
 * import { resultTableLines } from "./table.ts";
 * const lines = resultTableLines({ kind: "processes", listing: false, processes: [],
 *   total: null, accounting: null, excluded: [], method: "smaps", notes: [], exitCode: 0,
 *   memory: null }, { bytes: false, columns: null });
 * [...lines]; // ["PID  USER  NAME  USS  ANON  FILE  PSS  RSS  SWAP  METHOD"]
 * ```
 */
export function* resultTableLines(result: ViewResult, options: TableOptions): Generator<string> {
  const context: ColumnContext = {
    memoryTotal: result.memory?.total ?? null,
    change: options.change,
  };
  const size = (bytes: number) => formatBytes(bytes, { exact: options.bytes });
  switch (result.kind) {
    case "processes": {
      const { total } = result;
      yield* rowsTable(
        "process",
        result.processes,
        processIds(result.processes, result.listing),
        options,
        context,
        {
          message: processMessage,
          summaries: total && (result.listing || total.processes > 1)
            ? [{
              row: totalRow(total.usage, total.unknown),
              label: `total (${total.processes})`,
              labelColumn: "name",
            }]
            : [],
        },
      );
      if (!result.listing) return;
      const used = result.memory?.used ?? 0;
      yield `method ${result.method}` +
        (total && used > 0
          ? `; PSS total ${size(total.usage.pss)} = ${
            Math.round((total.usage.pss / used) * 100)
          }% of used memory (${size(used)}, as free(1) counts it)`
          : "");
      if (result.excluded.length > 0) {
        yield `left out: uss itself and its launchers (PID ${result.excluded.join(", ")})`;
      }
      yield* accountingLines(result.accounting);
      return;
    }
    case "groups": {
      if (result.members) {
        yield* rowsTable(
          "process",
          result.members,
          processIds(result.members, true),
          { ...options, columns: null, change: undefined },
          context,
          { message: processMessage },
        );
        yield "";
      }
      const ids = [
        "group",
        "procs",
        "uss",
        "uss_sum",
        ...figureIds(result.groups.map((group) => group.usage), true).slice(1),
        ...(result.by === "cgroup" ? ["charge", "charge_anon", "charge_file"] : []),
      ];
      yield* rowsTable("group", result.groups, ids, options, context, {
        label: (column, text) => column.id === "group" ? shortLabel(text) : text,
      });
      yield* accountingLines(result.accounting);
      return;
    }
    case "mappings": {
      const { process } = result;
      const ids = [
        "address",
        "perms",
        ...figureIds([process.usage]),
        "mapping",
      ];
      yield* rowsTable("mapping", result.mappings, ids, options, context, {
        summaries: process.usage
          ? [{
            row: { vma: result.mappings.at(0)?.vma, usage: process.usage } as RowOf["mapping"],
            label: `total: ${printable(process.name ?? "?")} (${process.pid}), ${
              count(result.count, "mapping", "mappings")
            }, method ${process.method}`,
            labelColumn: "mapping",
          }]
          : [],
      });
      return;
    }
    case "files": {
      const { process } = result;
      const ids = [
        process ? "maps" : "procs",
        ...figureIds(result.files.map((file) => file.usage)),
        "path",
      ];
      const mappings = result.mappings;
      yield* rowsTable("file", result.files, ids, options, context, {
        summaries: process?.usage
          ? [{
            row: { file: "", pids: [process.pid], mappings, usage: process.usage },
            label: `total: ${printable(process.name ?? "?")} (${process.pid}), ${
              count(result.count, "file", "files")
            }, method ${process.method}`,
            labelColumn: "path",
            also: ["maps"],
          }]
          : [],
      });
      yield* accountingLines(result.accounting);
    }
  }
}

/**
 * Renders any result as text for a terminal: {@link resultTableLines}, joined.
 *
 * @throws {ColumnError} when `options.columns` names a column the view lacks.
 * @example
 * ```ts
 * import { renderResultTable } from "./table.ts";
 * renderResultTable({ kind: "processes", listing: false, processes: [], total: null,
 *   accounting: null, excluded: [], method: "smaps", notes: [], exitCode: 0, memory: null },
 *   { bytes: false, columns: null }); // "PID  USER  NAME  USS  ANON  FILE  PSS  RSS  SWAP  METHOD"
 * ```
 */
export function renderResultTable(result: ViewResult, options: TableOptions): string {
  return [...resultTableLines(result, options)].join("\n");
}
