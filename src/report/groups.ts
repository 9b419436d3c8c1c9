/**
 * Renders groups of processes (`--by user`, `--by name`, `--tree`, `--group`)
 * and per-file sums across processes (`--by file`).
 *
 * @module
 */

import type { Usage } from "../accounting/usage.ts";
import type { FileReport, GroupReport } from "../measure/aggregate.ts";
import { type Column, renderTable, type Row } from "./format.ts";
import { type Ordering, orderRows } from "./order.ts";
import {
  usageCells,
  usageColumns,
  type UsageJson,
  usageJson,
  usageLayout,
} from "./usage_columns.ts";

/** One group in the JSON output (sizes in integer bytes). */
export interface GroupJson {
  group: string;
  processes: number;
  /** Exact group USS; null when it cannot be known (no frame-level access). */
  uss: number | null;
  uss_anon: number | null;
  uss_file: number | null;
  /** The sum of the members' own USS. */
  uss_sum: number;
  pss: number;
  /** The members' RSS added up. */
  rss: number;
  /** Distinct frames the group maps; null when it cannot be known. */
  ram: number | null;
  swap: number;
  hugetlb: number;
  hugetlb_uss: number | null;
  method: string | null;
  members: number[];
}

/** Sort groups as asked; `pid` orders by first member. */
export function orderGroups(groups: readonly GroupReport[], ordering: Ordering): GroupReport[] {
  return orderRows(groups, ordering, {
    usage: (group) => group.usage,
    id: (group) => group.members[0] ?? 0,
    name: (group) => group.group,
  });
}

/**
 * The stable JSON shape of a group.
 *
 * @example
 * ```ts
 * JSON.stringify(groups.map(groupToJson));
 * ```
 */
export function groupToJson(group: GroupReport): GroupJson {
  const sizes = usageJson(group.usage);
  const known = <T>(value: T) => group.exact ? value : null;
  return {
    group: group.group,
    processes: group.members.length,
    uss: known(sizes.uss),
    uss_anon: known(sizes.uss_anon),
    uss_file: known(sizes.uss_file),
    uss_sum: Math.round(group.ussSum),
    pss: sizes.pss,
    rss: sizes.rss,
    ram: known(sizes.ram),
    swap: sizes.swap,
    hugetlb: sizes.hugetlb,
    hugetlb_uss: known(sizes.hugetlb_uss),
    method: group.method,
    members: group.members,
  };
}

const INEXACT: ReadonlySet<keyof Usage> = new Set([
  "uss",
  "ussAnon",
  "ussFile",
  "ram",
  "hugetlbUss",
]);

/**
 * An aligned table of groups: GROUP, PROCS, USS (exact, unique to the group),
 * USS_SUM (members' own USS added up), the other figures. Groups whose exact
 * figures cannot be known show "-" there.
 *
 * @example
 * ```ts
 * console.log(renderGroupTable(groups, false));
 * ```
 */
export function renderGroupTable(groups: readonly GroupReport[], bytes: boolean): string {
  const layout = { ...usageLayout(groups.map((group) => group.usage), bytes), ram: true };
  const [uss, ...rest] = usageColumns(layout);
  const columns: Column[] = [
    { header: "GROUP", align: "left" },
    { header: "PROCS", align: "right" },
    uss,
    { header: "USS_SUM", align: "right" },
    ...rest,
  ];
  const rows: Row[] = groups.map((group) => {
    const [ussCell, ...restCells] = usageCells(
      group.usage,
      layout,
      group.exact ? undefined : INEXACT,
    );
    const ussSum = usageCells({ ...group.usage, uss: group.ussSum }, layout)[0];
    return [group.group, String(group.members.length), ussCell, ussSum, ...restCells];
  });
  return renderTable(columns, rows);
}

/** One file in the JSON output of `uss --by file`. */
export interface FileJson extends UsageJson {
  file: string;
  processes: number;
  pids: number[];
  mappings: number;
}

/** Sort files as asked; `pid` orders by first PID. */
export function orderFiles(files: readonly FileReport[], ordering: Ordering): FileReport[] {
  return orderRows(files, ordering, {
    usage: (file) => file.usage,
    id: (file) => file.pids[0] ?? 0,
    name: (file) => file.file,
  });
}

/** The stable JSON shape of a file's sums. */
export function fileToJson(file: FileReport): FileJson {
  return {
    file: file.file,
    processes: file.pids.length,
    pids: file.pids,
    mappings: file.mappings,
    ...usageJson(file.usage),
  };
}

/**
 * An aligned table of files (librank style): PROCS mapping it, the sums of
 * their figures for it, the file.
 *
 * @example
 * ```ts
 * console.log(renderFileTable(files, false));
 * ```
 */
export function renderFileTable(files: readonly FileReport[], bytes: boolean): string {
  const layout = usageLayout(files.map((file) => file.usage), bytes);
  const columns: Column[] = [
    { header: "PROCS", align: "right" },
    ...usageColumns(layout),
    { header: "PATH", align: "left" },
  ];
  return renderTable(
    columns,
    files.map((file) => [String(file.pids.length), ...usageCells(file.usage, layout), file.file]),
  );
}
