/**
 * Measures processes: scan each, count the frames of all scans in one pass,
 * account, re-measure processes whose frames moved, and make sure each result
 * still belongs to the process it names. Groups reuse the same scans and counts.
 *
 * @module
 */

import { accountGroup, type GroupFigures, type GroupMember } from "../accounting/group.ts";
import {
  type AccountingScratch,
  accountProcess,
  createScratch,
  type FrameCounts,
  framePositions,
} from "../accounting/usage.ts";
import { readStat } from "../procfs/process_info.ts";
import { type MeasureContext, openContext } from "./context.ts";
import { countFrames } from "./frame_counts.ts";
import { type ProcessScan, reportForError, scanProcess } from "./scan_process.ts";
import type { MeasureOptions, ProcessReport } from "./types.ts";

/** Measurements of a process whose frames keep moving before its figures are kept. */
const ATTEMPTS = 3;

/** Options of {@link measure}. */
export interface MeasureRunOptions {
  /** Also return per-mapping figures. */
  mappings?: boolean;
  /** Called after each process is scanned (for progress displays). */
  onProgress?: (scanned: number, total: number) => void;
}

/** The result of measuring a set of processes. */
export interface Measurement {
  /** One report per requested PID, in request order. */
  reports: ProcessReport[];
  /**
   * Exact figures of a group of the measured PIDs, or null when some member has
   * no frame-level scan (it failed, or was measured by smaps): then only sums
   * are possible.
   */
  groupFigures(pids: readonly number[]): GroupFigures | null;
}

interface Measured {
  report: ProcessReport;
  scan: ProcessScan | null;
  /** The counts the scan was accounted with. */
  counts: FrameCounts | null;
  /** The scan's frame positions in `counts.set`. */
  positions: Int32Array | null;
}

/** A process settled without a frame-level scan (it failed, or smaps measured it). */
function settled(report: ProcessReport): Measured {
  return { report, scan: null, counts: null, positions: null };
}

function reportFromScan(
  context: MeasureContext,
  scan: ProcessScan,
  counts: FrameCounts,
  scratch: AccountingScratch,
  withMappings: boolean,
): { report: ProcessReport; moved: number; positions: Int32Array } {
  const positions = framePositions(scan.refs, counts.set);
  const figures = accountProcess(
    scan.tally,
    scan.refs,
    positions,
    scan.vmas.length,
    countsFor(context, scan.pid, counts),
    context.pageSize,
    scratch,
  );
  const report: ProcessReport = {
    pid: scan.pid,
    name: scan.stat.name,
    uid: scan.uid,
    ppid: scan.stat.ppid,
    startTime: scan.stat.startTime,
    state: "ok",
    error: null,
    method: "kpagecount",
    usage: figures.total,
    ...(withMappings
      ? { mappings: scan.vmas.map((vma, index) => ({ vma, usage: figures.perVma[index] })) }
      : {}),
    notes: [],
  };
  return { report, moved: figures.moved, positions };
}

/** The tool's own entries are subtracted everywhere but in its own figures. */
function countsFor(context: MeasureContext, pid: number, counts: FrameCounts): FrameCounts {
  return pid === context.selfPid ? { ...counts, self: null } : counts;
}

/**
 * Checks that `report` still describes a live process with the same start time;
 * otherwise the process exited (and its PID may name another process now).
 */
function confirmSameProcess(context: MeasureContext, report: ProcessReport): ProcessReport {
  if (report.state !== "ok") return report;
  try {
    const stat = readStat(context.procRoot, report.pid);
    if (stat.startTime === report.startTime && stat.state !== "Z") return report;
  } catch (error) {
    const failed = reportForError(context, report.pid, error, null, report.uid);
    if (failed.state !== "no-such-process") return failed;
  }
  return {
    ...report,
    state: "exited",
    error: "exited during measurement",
    method: null,
    usage: null,
    mappings: undefined,
  };
}

/**
 * Measures `pids` with an open context. Reports come back in the order of
 * `pids`; a PID that cannot be measured gets a report with its reason, never an
 * exception.
 *
 * @throws {EnvironmentError} when the sandbox refuses procfs mid-way.
 * @example
 * ```ts
 * const { reports, groupFigures } = measure(context, [1, 2, 3]);
 * groupFigures([2, 3])?.usage.uss;
 * ```
 */
export function measure(
  context: MeasureContext,
  pids: readonly number[],
  options: MeasureRunOptions = {},
): Measurement {
  const withMappings = options.mappings ?? false;
  const measured: Measured[] = new Array(pids.length);
  let pending: { index: number; scan: ProcessScan }[] = [];
  for (let index = 0; index < pids.length; index++) {
    const outcome = scanProcess(context, pids[index], withMappings);
    if (outcome.kind === "report") {
      measured[index] = settled(outcome.report);
    } else pending.push({ index, scan: outcome.scan });
    options.onProgress?.(index + 1, pids.length);
  }

  let retried = false;
  for (let attempt = 1; pending.length > 0; attempt++) {
    let counts: FrameCounts;
    try {
      counts = countFrames(context, pending.map((entry) => entry.scan));
    } catch (error) {
      // kpagecount itself failed: every pending process shares the reason.
      for (const { index, scan } of pending) {
        measured[index] = settled(reportForError(context, scan.pid, error, scan.stat, scan.uid));
      }
      break;
    }
    const scratch = createScratch(counts.set.pfns.length);
    const retry: { index: number; scan: ProcessScan }[] = [];
    for (const { index, scan } of pending) {
      const { report, moved, positions } = reportFromScan(
        context,
        scan,
        counts,
        scratch,
        withMappings,
      );
      if (moved > 0 && attempt < ATTEMPTS) {
        retried = true;
        const outcome = scanProcess(context, scan.pid, withMappings);
        if (outcome.kind === "report") measured[index] = settled(outcome.report);
        else retry.push({ index, scan: outcome.scan });
        continue;
      }
      if (moved > 0) {
        report.notes.push(
          `${moved} frames kept moving during ${ATTEMPTS} measurements; counted as unique`,
        );
      }
      measured[index] = { report, scan, counts, positions };
    }
    pending = retry;
  }
  for (const entry of measured) {
    entry.report = confirmSameProcess(context, entry.report);
    if (entry.report.state !== "ok") entry.scan = null;
  }

  const byPid = new Map(measured.map((entry) => [entry.report.pid, entry]));
  let sharedCounts: FrameCounts | null = null;
  let groupScratch: AccountingScratch | null = null;
  const groupFigures = (members: readonly number[]): GroupFigures | null => {
    const entries = members.map((pid) => byPid.get(pid));
    if (entries.length === 0 || entries.some((entry) => !entry?.scan)) return null;
    // One count pass covers every scan unless a retry produced scans counted
    // separately: then recount all kept scans once, together.
    sharedCounts ??= retried
      ? countFrames(context, measured.flatMap((entry) => entry.scan ? [entry.scan] : []))
      : measured.find((entry) => entry.counts)!.counts!;
    const counts = sharedCounts;
    groupScratch ??= createScratch(counts.set.pfns.length);
    const groupMembers: GroupMember[] = entries.map((entry) => ({
      tally: entry!.scan!.tally,
      refs: entry!.scan!.refs,
      positions: entry!.counts === counts
        ? entry!.positions!
        : framePositions(entry!.scan!.refs, counts.set),
      usage: entry!.report.usage!,
    }));
    return accountGroup(groupMembers, counts, context.pageSize, groupScratch);
  };
  return { reports: measured.map((entry) => entry.report), groupFigures };
}

/**
 * Measures `pids` with an open context and returns their reports.
 *
 * @throws {EnvironmentError} when the sandbox refuses procfs mid-way.
 */
export function measureWithContext(
  context: MeasureContext,
  pids: readonly number[],
  withMappings = false,
): ProcessReport[] {
  return measure(context, pids, { mappings: withMappings }).reports;
}

/**
 * Measures the memory of each PID in `pids`.
 *
 * Sizes are bytes. USS counts frames no other process maps (by kpagecount when
 * the caller is root and sees PFNs, else by the kernel's smaps). Frames the
 * measuring process itself maps are not counted as sharing.
 *
 * @throws {EnvironmentError} when procfs is missing or refused, or a forced
 * method is impossible.
 * @example
 * ```ts
 * const [report] = await measureProcesses([Deno.pid]);
 * console.log(report.usage?.uss);
 * ```
 */
export function measureProcesses(
  pids: readonly number[],
  options: MeasureOptions = {},
): Promise<ProcessReport[]> {
  // A promise, so the library can read concurrently later without an API change.
  return new Promise((resolve) => {
    const context = openContext(options);
    try {
      resolve(measureWithContext(context, pids, options.mappings ?? false));
    } finally {
      context.close();
    }
  });
}
