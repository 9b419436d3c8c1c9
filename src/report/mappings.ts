/**
 * Renders one process's per-mapping figures (`uss maps PID`), like `pmap -X`,
 * or merged per file (`--by file`).
 *
 * @module
 */

import { mappingLabel, usageByFile } from "../measure/aggregate.ts";
import type { MappingReport, ProcessReport } from "../measure/types.ts";
import { type Column, renderTable, type Row } from "./format.ts";
import { orderFiles } from "./groups.ts";
import { type Ordering, orderRows } from "./order.ts";
import { processToJson } from "./processes.ts";
import {
  usageCells,
  usageColumns,
  type UsageJson,
  usageJson,
  usageLayout,
} from "./usage_columns.ts";

/** One mapping in the JSON output; sizes in integer bytes. */
export interface MappingJson extends UsageJson {
  start: string;
  end: string;
  perms: string;
  offset: string;
  device: string;
  inode: number;
  path: string;
  deleted: boolean;
}

/** One file's merged mappings in the JSON output. */
export interface MergedMappingJson extends UsageJson {
  file: string;
  mappings: number;
}

/** Options of the maps view. */
export interface MapsOptions extends Ordering {
  byFile: boolean;
  bytes: boolean;
}

function orderMappings(mappings: readonly MappingReport[], ordering: Ordering) {
  return orderRows(mappings, ordering, {
    usage: (mapping) => mapping.usage,
    id: (mapping) => mapping.vma.startPage,
    name: mappingLabel,
  });
}

/**
 * The JSON shape of `uss maps PID --json`: the process (as in `uss --json`) with
 * its `mappings` (or, with `--by file`, one entry per file with a `mappings` count),
 * sorted as asked (largest USS first by default).
 *
 * @example
 * ```ts
 * JSON.stringify(mappingsToJson(report, { sort: "uss", reverse: false, limit: null, byFile: false, bytes: false }));
 * ```
 */
export function mappingsToJson(
  report: ProcessReport,
  options: MapsOptions,
  userName?: (uid: number) => string,
) {
  const mappings = report.mappings ?? [];
  return {
    ...processToJson(report, userName),
    mappings: options.byFile
      ? orderFiles(usageByFile([report]), options).map((file): MergedMappingJson => ({
        file: file.file,
        mappings: file.mappings,
        ...usageJson(file.usage),
      }))
      : orderMappings(mappings, options).map(({ vma, usage }): MappingJson => ({
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

/**
 * An aligned table of one process's mappings (or files), largest USS first by
 * default, with a total row equal to the process's own figures.
 *
 * @example
 * ```ts
 * console.log(renderMappingTable(report, { sort: "uss", reverse: false, limit: null, byFile: true, bytes: false }));
 * ```
 */
export function renderMappingTable(report: ProcessReport, options: MapsOptions): string {
  const mappings = report.mappings ?? [];
  const layout = usageLayout([report.usage], options.bytes);
  const summary = (count: number, what: string) =>
    `total: ${report.name} (${report.pid}), ${count} ${what}, method ${report.method}`;
  let columns: Column[];
  let rows: Row[];
  if (options.byFile) {
    const files = usageByFile([report]);
    columns = [
      { header: "MAPS", align: "right" },
      ...usageColumns(layout),
      { header: "PATH", align: "left" },
    ];
    rows = orderFiles(files, options).map((file) => [
      String(file.mappings),
      ...usageCells(file.usage, layout),
      file.file,
    ]);
    if (report.usage) {
      rows.push([
        String(mappings.length),
        ...usageCells(report.usage, layout),
        summary(files.length, "files"),
      ]);
    }
  } else {
    columns = [
      { header: "ADDRESS", align: "left" },
      { header: "PERMS", align: "left" },
      ...usageColumns(layout),
      { header: "MAPPING", align: "left" },
    ];
    rows = orderMappings(mappings, options).map((mapping) => [
      `${mapping.vma.start}-${mapping.vma.end}`,
      mapping.vma.perms,
      ...usageCells(mapping.usage, layout),
      mappingLabel(mapping),
    ]);
    if (report.usage) {
      rows.push([
        "",
        "",
        ...usageCells(report.usage, layout),
        summary(mappings.length, "mappings"),
      ]);
    }
  }
  return renderTable(columns, rows);
}
