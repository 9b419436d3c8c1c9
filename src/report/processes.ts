/**
 * Renders process measurements: an aligned table for people, JSON for programs.
 * The JSON keys are a stable interface; add keys, never rename them.
 *
 * @module
 */

import { sumUsages } from "../accounting/group.ts";
import type { Usage } from "../accounting/usage.ts";
import type { ProcessReport } from "../measure/types.ts";
import { type Column, renderTable, type Row } from "./format.ts";
import {
  usageCells,
  usageColumns,
  type UsageJson,
  usageJson,
  usageLayout,
} from "./usage_columns.ts";

/** Options of {@link renderProcessTable}. */
export interface TableOptions {
  /** Print exact byte counts instead of binary units. */
  bytes?: boolean;
  /** Append a total row over the measured processes. */
  total?: boolean;
  /** The total row's figures when they cover more than the rows shown (e.g. with a limit). */
  totalOf?: { processes: number; usage: Usage };
  /** Show a USER column, naming UIDs with this function. */
  userName?: (uid: number) => string;
  /** Show the METHOD column. */
  method?: boolean;
}

/** The size keys of a process in JSON, null when it was not measured. */
export type NullableUsage = { [key in keyof UsageJson]: number | null };

/** One process in the JSON output. Sizes are integer bytes; null when not measured. */
export interface ProcessJson extends NullableUsage {
  /** The process ID. */
  pid: number;
  /** Command name, null when the process could not be read. */
  name: string | null;
  /** Effective user ID. */
  uid: number | null;
  /** The owner's name, when the view resolved it. */
  user?: string;
  /** "kpagecount" or "smaps"; null when not measured. */
  method: string | null;
  /** "ok", "no-such-process", "permission-denied", "kernel-thread", "zombie", "exited" or "error". */
  state: string;
  /** Why it was not measured; null when it was. */
  error: string | null;
  /** Things to know about the figures. */
  notes: string[];
}

const NO_USAGE: NullableUsage = {
  uss: null,
  uss_anon: null,
  uss_file: null,
  pss: null,
  rss: null,
  ram: null,
  swap: null,
  hugetlb: null,
  hugetlb_uss: null,
};

/**
 * The stable JSON shape of one report.
 *
 * @example
 * ```ts
 * JSON.stringify(reports.map((report) => processToJson(report)));
 * ```
 */
export function processToJson(
  report: ProcessReport,
  userName?: (uid: number) => string,
): ProcessJson {
  return {
    pid: report.pid,
    name: report.name,
    uid: report.uid,
    ...(userName && report.uid !== null ? { user: userName(report.uid) } : {}),
    ...(report.usage ? usageJson(report.usage) : NO_USAGE),
    method: report.method,
    state: report.state,
    error: report.error,
    notes: report.notes,
  };
}

/**
 * An aligned table: PID, [USER], NAME, USS (with its anonymous and file parts),
 * PSS, RSS, SWAP, hugetlb columns when any process has hugetlb pages, [METHOD].
 * A process that could not be measured shows its reason in place of the figures.
 *
 * @example
 * ```ts
 * console.log(renderProcessTable(reports, { total: reports.length > 1, method: true }));
 * ```
 */
export function renderProcessTable(reports: ProcessReport[], options: TableOptions = {}): string {
  const layout = usageLayout(reports.map((report) => report.usage), options.bytes);
  const userName = options.userName;
  const columns: Column[] = [
    { header: "PID", align: "right" },
    ...(userName ? [{ header: "USER", align: "left" } as Column] : []),
    { header: "NAME", align: "left" },
    ...usageColumns(layout),
    ...(options.method ? [{ header: "METHOD", align: "left" } as Column] : []),
  ];
  const rows: Row[] = reports.map((report) => {
    const head = [
      String(report.pid),
      ...(userName ? [report.uid === null ? "-" : userName(report.uid)] : []),
      report.name ?? "-",
    ];
    if (!report.usage) return { cells: head, message: report.error ?? report.state };
    return [
      ...head,
      ...usageCells(report.usage, layout),
      ...(options.method ? [report.method ?? ""] : []),
    ];
  });
  const measured = reports.filter((report) => report.usage);
  const total = options.totalOf ?? {
    processes: measured.length,
    usage: sumUsages(measured.map((report) => report.usage!)),
  };
  if (options.total && total.processes > 1) {
    rows.push([
      "",
      ...(userName ? [""] : []),
      `total (${total.processes})`,
      ...usageCells(total.usage, layout),
      ...(options.method ? [""] : []),
    ]);
  }
  return renderTable(columns, rows);
}
