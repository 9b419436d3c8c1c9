/**
 * Renders process measurements: an aligned table for people, JSON for programs.
 * The JSON keys are a stable interface; add keys, never rename them.
 *
 * @module
 */

import { addUsage, emptyUsage, type Usage } from "../accounting/usage.ts";
import type { ProcessReport } from "../measure/types.ts";
import { type Column, formatBytes, renderTable, type Row } from "./format.ts";

/** Options of {@link renderProcessTable}. */
export interface TableOptions {
  /** Print exact byte counts instead of binary units. */
  bytes?: boolean;
  /** Append a total row over the measured processes. */
  total?: boolean;
}

/** One process in the JSON output. Sizes are integer bytes; null when not measured. */
export interface ProcessJson {
  pid: number;
  name: string | null;
  uid: number | null;
  uss: number | null;
  uss_anon: number | null;
  uss_file: number | null;
  pss: number | null;
  rss: number | null;
  swap: number | null;
  hugetlb: number | null;
  hugetlb_uss: number | null;
  method: string | null;
  state: string;
  error: string | null;
  notes: string[];
}

/**
 * The stable JSON shape of one report.
 *
 * @example
 * ```ts
 * JSON.stringify(reports.map(processToJson));
 * ```
 */
export function processToJson(report: ProcessReport): ProcessJson {
  const usage = report.usage;
  const size = (value: number | undefined) => value === undefined ? null : Math.round(value);
  return {
    pid: report.pid,
    name: report.name,
    uid: report.uid,
    uss: size(usage?.uss),
    uss_anon: size(usage?.ussAnon),
    uss_file: size(usage?.ussFile),
    pss: size(usage?.pss),
    rss: size(usage?.rss),
    swap: size(usage?.swap),
    hugetlb: size(usage?.hugetlb),
    hugetlb_uss: size(usage?.hugetlbUss),
    method: report.method,
    state: report.state,
    error: report.error,
    notes: report.notes,
  };
}

/**
 * An aligned table: PID, NAME, USS (with its anonymous and file parts), PSS, RSS,
 * SWAP, hugetlb columns when any process has hugetlb pages, and METHOD. A process
 * that could not be measured shows its reason in place of the figures.
 *
 * @example
 * ```ts
 * console.log(renderProcessTable(reports, { total: reports.length > 1 }));
 * ```
 */
export function renderProcessTable(reports: ProcessReport[], options: TableOptions = {}): string {
  const hugetlb = reports.some((report) => (report.usage?.hugetlb ?? 0) > 0);
  const columns: Column[] = [
    { header: "PID", align: "right" },
    { header: "NAME", align: "left" },
    { header: "USS", align: "right" },
    { header: "ANON", align: "right" },
    { header: "FILE", align: "right" },
    { header: "PSS", align: "right" },
    { header: "RSS", align: "right" },
    { header: "SWAP", align: "right" },
    ...(hugetlb
      ? [
        { header: "HUGETLB", align: "right" } as Column,
        { header: "HUGETLB_USS", align: "right" } as Column,
      ]
      : []),
    { header: "METHOD", align: "left" },
  ];
  const bytes = (value: number) => formatBytes(value, { exact: options.bytes });
  const figures = (usage: Usage) => [
    bytes(usage.uss),
    bytes(usage.ussAnon),
    bytes(usage.ussFile),
    bytes(usage.pss),
    bytes(usage.rss),
    bytes(usage.swap),
    ...(hugetlb ? [bytes(usage.hugetlb), bytes(usage.hugetlbUss)] : []),
  ];
  const rows: Row[] = reports.map((report) => {
    const head = [String(report.pid), report.name ?? "-"];
    if (!report.usage) return { cells: head, message: report.error ?? report.state };
    return [...head, ...figures(report.usage), report.method ?? ""];
  });
  const measured = reports.filter((report) => report.usage);
  if (options.total && measured.length > 1) {
    const total = measured.reduce((sum, report) => addUsage(sum, report.usage!), emptyUsage());
    rows.push(["", `total (${measured.length})`, ...figures(total), ""]);
  }
  return renderTable(columns, rows);
}
