/**
 * Views built from measured processes: groups (by user, by program, a tree, an
 * explicit list) and per-file sums. Pure, given a {@link Measurement}.
 *
 * @module
 */

import { sumUsages } from "../accounting/group.ts";
import { addUsage, emptyUsage, type Usage } from "../accounting/usage.ts";
import type { Measurement } from "./measure.ts";
import type { MappingReport, Method, ProcessReport } from "./types.ts";

/** Processes to account as one group. */
export interface GroupSpec {
  /** The group's label (user name, program name, `tree:PID`, …). */
  name: string;
  /** The processes to account together. */
  pids: number[];
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
   * True when `usage.uss` and `usage.rss` are exact group figures (frames
   * unique to / mapped by the group); false when only sums were possible
   * (no frame-level access): then they are sums of the members' figures.
   */
  exact: boolean;
  /** The group's figures (see `exact`). */
  usage: Usage;
  /** The sum of the members' own USS. */
  ussSum: number;
}

/**
 * Splits measured processes into groups by user or by command name, in order of
 * first appearance.
 *
 * @example
 * ```ts
 * groupSpecsBy(reports, "name", (uid) => String(uid));
 * ```
 */
export function groupSpecsBy(
  reports: readonly ProcessReport[],
  key: "user" | "name",
  userName: (uid: number) => string,
): GroupSpec[] {
  const groups = new Map<string, number[]>();
  for (const report of reports) {
    if (report.state !== "ok") continue;
    const name = key === "user" ? userName(report.uid ?? -1) : report.name ?? "?";
    const pids = groups.get(name);
    if (pids) pids.push(report.pid);
    else groups.set(name, [report.pid]);
  }
  return [...groups].map(([name, pids]) => ({ name, pids }));
}

/**
 * Accounts each group: exact when every member has a frame-level scan,
 * otherwise the members' sums, flagged inexact.
 *
 * @example
 * ```ts
 * buildGroups(measurement, [{ name: "workers", pids: [10, 11] }]);
 * ```
 */
export function buildGroups(measurement: Measurement, specs: readonly GroupSpec[]): GroupReport[] {
  const byPid = new Map(measurement.reports.map((report) => [report.pid, report]));
  return specs.map((spec) => {
    const members = spec.pids.filter((pid) => byPid.get(pid)?.state === "ok");
    const reports = members.map((pid) => byPid.get(pid)!);
    const sum = sumUsages(reports.map((report) => report.usage!));
    const methods = new Set(reports.map((report) => report.method));
    const method = methods.size === 1 ? reports[0].method : null;
    const exact = members.length > 0 ? measurement.groupFigures(members) : null;
    return {
      group: spec.name,
      members,
      method,
      exact: exact !== null,
      usage: exact?.usage ?? sum,
      ussSum: sum.uss,
    };
  });
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

/**
 * Merges the mappings of the given processes by file (librank style, or
 * `maps PID --by file` for one process). Sums are exact per process: a frame
 * is attributed to one of its mappings, so each process's rows add up to its
 * totals.
 *
 * @example
 * ```ts
 * usageByFile(reports.filter((report) => report.mappings));
 * ```
 */
export function usageByFile(reports: readonly ProcessReport[]): FileReport[] {
  const files = new Map<string, { pids: Set<number>; mappings: number; usage: Usage }>();
  for (const report of reports) {
    for (const mapping of report.mappings ?? []) {
      const label = mappingLabel(mapping);
      let file = files.get(label);
      if (!file) {
        file = { pids: new Set(), mappings: 0, usage: emptyUsage() };
        files.set(label, file);
      }
      file.pids.add(report.pid);
      file.mappings++;
      addUsage(file.usage, mapping.usage);
    }
  }
  return [...files].map(([file, { pids, mappings, usage }]) => ({
    file,
    pids: [...pids].sort((a, b) => a - b),
    mappings,
    usage,
  }));
}
