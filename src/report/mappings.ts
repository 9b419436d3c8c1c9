/**
 * Renders one process's per-mapping figures (`uss maps PID`), like `pmap -X`.
 *
 * @module
 */

import type { Usage } from "../accounting/usage.ts";
import type { MappingReport, ProcessReport } from "../measure/types.ts";
import { type Column, formatBytes, renderTable, type Row } from "./format.ts";
import { processToJson } from "./processes.ts";

/** One mapping in the JSON output; sizes in integer bytes. */
export interface MappingJson {
  start: string;
  end: string;
  perms: string;
  offset: string;
  device: string;
  inode: number;
  path: string;
  deleted: boolean;
  uss: number;
  uss_anon: number;
  uss_file: number;
  pss: number;
  rss: number;
  swap: number;
  hugetlb: number;
  hugetlb_uss: number;
}

function usageJson(usage: Usage) {
  return {
    uss: usage.uss,
    uss_anon: usage.ussAnon,
    uss_file: usage.ussFile,
    pss: usage.pss,
    rss: usage.rss,
    swap: usage.swap,
    hugetlb: usage.hugetlb,
    hugetlb_uss: usage.hugetlbUss,
  };
}

/** Largest USS first, then PSS, then address. */
export function sortMappings(mappings: MappingReport[]): MappingReport[] {
  return [...mappings].sort((a, b) =>
    b.usage.uss - a.usage.uss || b.usage.pss - a.usage.pss ||
    a.vma.startPage - b.vma.startPage
  );
}

/**
 * The JSON shape of `uss maps PID --json`: the process (as in `uss --json`) with
 * its `mappings`, sorted by USS.
 *
 * @example
 * ```ts
 * JSON.stringify(mappingsToJson(report));
 * ```
 */
export function mappingsToJson(report: ProcessReport) {
  return {
    ...processToJson(report),
    mappings: sortMappings(report.mappings ?? []).map(({ vma, usage }): MappingJson => ({
      start: vma.start,
      end: vma.end,
      perms: vma.perms,
      offset: vma.offset,
      device: vma.device,
      inode: vma.inode,
      path: vma.path,
      deleted: vma.deleted,
      ...usageJson(usage),
    })),
  };
}

/** What a mapping is called in tables: its path, or "[anon]" for anonymous memory. */
export function mappingLabel(mapping: MappingReport): string {
  const { path, deleted } = mapping.vma;
  return (path === "" ? "[anon]" : path) + (deleted ? " (deleted)" : "");
}

/**
 * An aligned table of one process's mappings, largest USS first, with a total
 * row equal to the process's own figures.
 *
 * @example
 * ```ts
 * console.log(renderMappingTable(report, { bytes: false }));
 * ```
 */
export function renderMappingTable(
  report: ProcessReport,
  options: { bytes?: boolean } = {},
): string {
  const mappings = sortMappings(report.mappings ?? []);
  const hugetlb = (report.usage?.hugetlb ?? 0) > 0;
  const columns: Column[] = [
    { header: "ADDRESS", align: "left" },
    { header: "PERMS", align: "left" },
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
    { header: "MAPPING", align: "left" },
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
  const rows: Row[] = mappings.map((mapping) => [
    `${mapping.vma.start}-${mapping.vma.end}`,
    mapping.vma.perms,
    ...figures(mapping.usage),
    mappingLabel(mapping),
  ]);
  if (report.usage) {
    rows.push([
      "",
      "",
      ...figures(report.usage),
      `total: ${report.name} (${report.pid}), ${mappings.length} mappings, method ${report.method}`,
    ]);
  }
  return renderTable(columns, rows);
}
