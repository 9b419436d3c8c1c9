/**
 * Views built from measured processes: which processes form groups (by user, by
 * program), the group results, and per-file sums of mappings. Pure.
 *
 * @module
 */

import { addUsage, emptyUsage, type Usage } from "../accounting/usage.ts";
import type { CgroupCharge, Hierarchy } from "../procfs/cgroup.ts";
import type { MappingReport, Method, ProcessReport } from "./types.ts";

/** Processes to account as one group. */
export interface GroupSpec {
  /** The group's label (user name, program name, `tree:PID`, …). */
  name: string;
  /** The processes to account together. */
  pids: number[];
}

/** A memory cgroup as a group: where it is and what the kernel charges it. */
export interface CgroupInfo {
  /** Its path in `hierarchy`. */
  path: string;
  /** The cgroup v1 memory controller's hierarchy or the unified (v2) one. */
  hierarchy: Hierarchy;
  /** The kernel's charge, null when it cannot be read (no memory controller there, sandbox). */
  charge: CgroupCharge | null;
}

/** A group's figures. */
export interface GroupReport {
  /** The group's label. */
  group: string;
  /** The members that were measured. */
  members: number[];
  /** The members' method, or null when they differ. */
  method: Method | null;
  /**
   * True when `usage.uss` (and its parts, and `hugetlbUss`) are exact group
   * figures, frames unique to the group; false when only sums were possible
   * (no frame-level access): then they are sums of the members' figures. The
   * other figures are always the members' sums.
   */
  exact: boolean;
  /** The group's figures (see `exact`). */
  usage: Usage;
  /** The sum of the members' own USS. */
  ussSum: number;
  /** For groups by cgroup: the cgroup. */
  cgroup?: CgroupInfo;
  /** Figures of `usage` that could not be known even though `exact`, if any. */
  unknown?: (keyof Usage)[];
}

/** Who a process is, as grouping needs it. */
export interface ProcessIdentity {
  /** The process ID. */
  pid: number;
  /** Command name, null when unknown. */
  name: string | null;
  /** Effective user ID, null when unknown. */
  uid: number | null;
}

/**
 * Splits processes into groups by `keyOf` (a user name, a command name, a
 * cgroup path), in order of first appearance; processes without a key are
 * left out.
 *
 * @example
 * ```ts
 * import { groupSpecsBy } from "./aggregate.ts";
 * groupSpecsBy([{ pid: 7, name: "sh", uid: 0 }, { pid: 9, name: "sh", uid: 0 }], (p) => p.name);
 * // [{ name: "sh", pids: [7, 9] }]
 * ```
 */
export function groupSpecsBy(
  processes: readonly ProcessIdentity[],
  keyOf: (process: ProcessIdentity) => string | null,
): GroupSpec[] {
  const groups = new Map<string, number[]>();
  for (const process of processes) {
    const name = keyOf(process);
    if (name === null) continue;
    const pids = groups.get(name);
    if (pids) pids.push(process.pid);
    else groups.set(name, [process.pid]);
  }
  return [...groups].map(([name, pids]) => ({ name, pids }));
}

/** Sums of the mappings of one file or pseudo-path. */
export interface FileReport {
  /** The path, pseudo-path (`[heap]`, `[anon:…]`) or `[anon]`; ` (deleted)` kept. */
  file: string;
  /** Processes that map it (ascending); for one process's maps, just that PID. */
  pids: number[];
  /** Number of mappings merged. */
  mappings: number;
  /** The sums of the merged mappings' figures. */
  usage: Usage;
}

/** What a mapping is called: its path, or `[anon]` for unnamed anonymous memory. */
export function mappingLabel(mapping: MappingReport): string {
  const { path, deleted } = mapping.vma;
  return (path === "" ? "[anon]" : path) + (deleted ? " (deleted)" : "");
}

/** Per-file sums being added up, by label. */
export type FileTotals = Map<string, { pids: Set<number>; mappings: number; usage: Usage }>;

/**
 * Adds one process's mappings to per-file sums.
 *
 * @example
 * ```ts
 * import { addFileMappings, type FileTotals } from "./aggregate.ts";
 * import { measureProcesses } from "./measure.ts";
 * const [report] = await measureProcesses([Deno.pid], { mappings: true });
 * const totals: FileTotals = new Map();
 * addFileMappings(totals, report);
 * totals.has("[stack]"); // true
 * ```
 */
export function addFileMappings(totals: FileTotals, report: ProcessReport): void {
  for (const mapping of report.mappings ?? []) {
    const label = mappingLabel(mapping);
    let file = totals.get(label);
    if (!file) {
      file = { pids: new Set(), mappings: 0, usage: emptyUsage() };
      totals.set(label, file);
    }
    file.pids.add(report.pid);
    file.mappings++;
    addUsage(file.usage, mapping.usage);
  }
}

/**
 * The per-file reports of added-up sums.
 *
 * @example
 * ```ts
 * import { emptyUsage } from "../accounting/usage.ts";
 * import { fileReports, type FileTotals } from "./aggregate.ts";
 * const totals: FileTotals = new Map([
 *   ["/usr/lib/libc.so.6", { pids: new Set([7, 3]), mappings: 8, usage: emptyUsage() }],
 * ]);
 * fileReports(totals)[0].pids; // [3, 7]
 * ```
 */
export function fileReports(totals: FileTotals): FileReport[] {
  return [...totals].map(([file, { pids, mappings, usage }]) => ({
    file,
    pids: [...pids].sort((a, b) => a - b),
    mappings,
    usage,
  }));
}

/**
 * Merges the mappings of the given processes by file (librank style, or
 * `maps PID --by file` for one process). Sums are exact per process: a frame
 * is attributed to one of its mappings, so each process's rows add up to its
 * totals.
 *
 * @example
 * ```ts
 * import { usageByFile } from "./aggregate.ts";
 * import { measureProcesses } from "./measure.ts";
 * const reports = await measureProcesses([Deno.pid], { mappings: true });
 * const files = usageByFile(reports);
 * files.some((file) => file.file === "[heap]" || file.file === "[anon]"); // true
 * ```
 */
export function usageByFile(reports: readonly ProcessReport[]): FileReport[] {
  const totals: FileTotals = new Map();
  for (const report of reports) addFileMappings(totals, report);
  return fileReports(totals);
}
