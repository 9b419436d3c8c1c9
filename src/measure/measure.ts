/**
 * Measures processes: scan each, count the frames of all scans in one pass,
 * account, re-measure processes whose frames moved, and make sure each result
 * still belongs to the process it names.
 *
 * @module
 */

import { accountProcess } from "../accounting/usage.ts";
import { readStat } from "../procfs/process_info.ts";
import { type MeasureContext, openContext } from "./context.ts";
import { countFrames } from "./frame_counts.ts";
import { type ProcessScan, reportForError, scanProcess } from "./scan_process.ts";
import type { MeasureOptions, ProcessReport } from "./types.ts";

/** Measurements of a process whose frames keep moving before its figures are kept. */
const ATTEMPTS = 3;

function reportFromScan(
  context: MeasureContext,
  scan: ProcessScan,
  counts: ReturnType<typeof countFrames>,
  scratch: Uint32Array,
  withMappings: boolean,
): { report: ProcessReport; moved: number } {
  const ownCounts = scan.pid === context.selfPid ? { ...counts, self: null } : counts;
  const figures = accountProcess(
    scan.tally,
    scan.refs,
    scan.vmas.length,
    ownCounts,
    context.pageSize,
    scratch,
  );
  const report: ProcessReport = {
    pid: scan.pid,
    name: scan.stat.name,
    uid: scan.uid,
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
  return { report, moved: figures.moved };
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
 * Measures `pids` with an open context. Results come back in the order of `pids`;
 * a PID that cannot be measured gets a report with its reason, never an exception.
 *
 * @throws {EnvironmentError} when the sandbox refuses procfs mid-way.
 */
export async function measureWithContext(
  context: MeasureContext,
  pids: readonly number[],
  withMappings = false,
): Promise<ProcessReport[]> {
  const reports: ProcessReport[] = new Array(pids.length);
  let pending: { index: number; scan: ProcessScan }[] = [];
  for (let index = 0; index < pids.length; index++) {
    const outcome = await scanProcess(context, pids[index], withMappings);
    if (outcome.kind === "report") reports[index] = outcome.report;
    else pending.push({ index, scan: outcome.scan });
  }

  for (let attempt = 1; pending.length > 0; attempt++) {
    let counts;
    try {
      counts = countFrames(context, pending.map((entry) => entry.scan));
    } catch (error) {
      // kpagecount itself failed: every pending process shares the reason.
      for (const { index, scan } of pending) {
        reports[index] = reportForError(context, scan.pid, error, scan.stat, scan.uid);
      }
      break;
    }
    const scratch = new Uint32Array(counts.set.pfns.length);
    const retry: { index: number; scan: ProcessScan }[] = [];
    for (const { index, scan } of pending) {
      const { report, moved } = reportFromScan(context, scan, counts, scratch, withMappings);
      if (moved > 0 && attempt < ATTEMPTS) {
        const outcome = await scanProcess(context, scan.pid, withMappings);
        if (outcome.kind === "report") reports[index] = outcome.report;
        else retry.push({ index, scan: outcome.scan });
        continue;
      }
      if (moved > 0) {
        report.notes.push(
          `${moved} frames kept moving during ${ATTEMPTS} measurements; counted as unique`,
        );
      }
      reports[index] = report;
    }
    pending = retry;
  }
  return reports.map((report) => confirmSameProcess(context, report));
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
export async function measureProcesses(
  pids: readonly number[],
  options: MeasureOptions = {},
): Promise<ProcessReport[]> {
  const context = openContext(options);
  try {
    return await measureWithContext(context, pids, options.mappings ?? false);
  } finally {
    context.close();
  }
}
