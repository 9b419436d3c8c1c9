/**
 * `uss report`: measures every process (after the filters) with its mappings
 * and groups (`--by`, default name), keeps each process's largest mappings (the
 * rest merged into "other", so the file stays small), and writes one
 * self-contained HTML file.
 *
 * @module
 */

import { sumUsages } from "../accounting/group.ts";
import { mappingLabel } from "../measure/aggregate.ts";
import type { MappingReport, ProcessReport } from "../measure/types.ts";
import { readProcText } from "../procfs/files.ts";
import { renderHtml } from "../report/html.ts";
import { orderGroups, orderProcesses } from "../report/order.ts";
import type { MappingSummary, ReportResult } from "../report/result.ts";
import { EXIT_OK } from "./exit_codes.ts";
import { OutputError, printOut } from "./output.ts";
import { accountingOf, base, measureGroups, rowsOf, selection, type Session } from "./views.ts";

/**
 * What a mapping mostly holds: shared memory (shared, and not a regular file's
 * pages), anonymous memory, or file pages (by its USS when it maps a file).
 */
function mappingKind(mapping: MappingReport): MappingSummary["kind"] {
  const { perms, path, inode } = mapping.vma;
  const shared = perms.endsWith("s");
  if (
    shared && (inode === 0 || path.startsWith("/dev/shm/") || path.startsWith("/SYSV") ||
      path.startsWith("/memfd:") || path === "/dev/zero" || path.startsWith("[anon_shmem"))
  ) return "shmem";
  if (path === "" || path.startsWith("[")) return "anon";
  return mapping.usage.ussAnon > mapping.usage.ussFile ? "anon" : "file";
}

/**
 * A process's mappings for the report: the `keep` largest by USS (then RSS),
 * the rest merged into one "other" row; mappings that hold nothing are left out.
 *
 * @example
 * ```ts
 * import { summarizeMappings } from "./report.ts";
 * summarizeMappings({ pid: 1, name: null, uid: null, startTime: null, state: "ok",
 *   error: null, method: null, usage: null, notes: [], mappings: [] }, 3); // []
 * ```
 */
export function summarizeMappings(report: ProcessReport, keep: number): MappingSummary[] {
  const rows: MappingReport[] = [];
  for (const mapping of report.mappings ?? []) {
    if (mapping.usage.rss + mapping.usage.hugetlb + mapping.usage.swap > 0) rows.push(mapping);
  }
  rows.sort((a, b) => b.usage.uss - a.usage.uss || b.usage.rss - a.usage.rss);
  const kept: MappingSummary[] = rows.slice(0, keep).map((mapping) => ({
    label: mappingLabel(mapping),
    kind: mappingKind(mapping),
    mappings: 1,
    usage: mapping.usage,
  }));
  if (rows.length > keep) {
    const usage = sumUsages(rows.slice(keep).map((mapping) => mapping.usage));
    kept.push({
      label: "other",
      kind: usage.ussAnon >= usage.ussFile ? "anon" : "file",
      mappings: rows.length - keep,
      usage,
    });
  }
  return kept;
}

function readLine(path: string): string {
  try {
    return readProcText(path).trim();
  } catch {
    return "";
  }
}

/** Measures what the report shows. */
export async function reportResult(session: Session): Promise<ReportResult> {
  const { context, options } = session;
  const by = (options.by ?? "name") as "user" | "name" | "cgroup";
  const { pids } = selection(session);
  const mappings = new Map<number, MappingSummary[]>();
  const { measurement, groups, notes } = await measureGroups(session, pids, by, {
    mappings: true,
    onMappings: (report) =>
      mappings.set(report.pid, summarizeMappings(report, options.reportMappings)),
  });
  const measured = measurement.reports.filter((report) => report.state === "ok");
  const all = { sort: "uss", reverse: false, limit: null };
  return {
    kind: "report",
    by,
    groups: orderGroups(groups, all),
    // The page shows each process's command line in its tooltip.
    processes: rowsOf(session, orderProcesses(measured, all), true),
    mappings,
    accounting: accountingOf(session, measurement.reports),
    host: readLine(`${context.procRoot}/sys/kernel/hostname`),
    kernel: readLine(`${context.procRoot}/sys/kernel/osrelease`),
    time: new Date().toISOString(),
    ...base(session, EXIT_OK, notes),
  };
}

/**
 * `uss report`: writes the HTML to `-o FILE`, or to stdout.
 *
 * @returns the exit code and the notes to print.
 * @throws {OutputError} when the file cannot be written.
 */
export async function report(session: Session): Promise<{ exitCode: number; notes: string[] }> {
  const result = await reportResult(session);
  const html = await renderHtml(result);
  const output = session.options.output;
  if (output === null || output === "-") printOut(html);
  else {
    try {
      Deno.writeTextFileSync(output, html);
    } catch (error) {
      throw new OutputError(error, output);
    }
  }
  return { exitCode: result.exitCode, notes: result.notes };
}
