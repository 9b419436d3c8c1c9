/**
 * The views of the `uss` command: given PIDs, every process, groups, files and
 * one process's mappings. Each measures what it needs, prints, and returns its
 * exit code.
 *
 * @module
 */

import { sumUsages } from "../accounting/group.ts";
import {
  addFileMappings,
  fileReports,
  type FileTotals,
  type GroupReport,
  type GroupSpec,
  groupSpecsBy,
} from "../measure/aggregate.ts";
import type { MeasureContext } from "../measure/context.ts";
import { measure, type Measurement, type MeasureRunOptions } from "../measure/measure.ts";
import { identify, selectPids, treePids } from "../measure/select.ts";
import type { ProcessReport } from "../measure/types.ts";
import { readMeminfo, usedMemory } from "../procfs/meminfo.ts";
import { readUsers } from "../procfs/users.ts";
import { formatBytes } from "../report/format.ts";
import {
  fileToJson,
  groupToJson,
  orderFiles,
  orderGroups,
  renderFileTable,
  renderGroupTable,
} from "../report/groups.ts";
import { mappingsToJson, renderMappingTable } from "../report/mappings.ts";
import { type Ordering, orderRows } from "../report/order.ts";
import { processToJson, renderProcessTable } from "../report/processes.ts";
import { usageJson } from "../report/usage_columns.ts";
import { type CliOptions, UsageError } from "./args.ts";
import { EXIT_OK, EXIT_PARTIAL } from "./exit_codes.ts";
import { printErr, printOut } from "./output.ts";
import { progressReporter } from "./progress.ts";

/** Resolves UIDs to names from /etc/passwd, once, falling back to numbers. */
function userNames(): (uid: number) => string {
  let users: Map<number, string> | null = null;
  let failed = false;
  return (uid) => {
    if (!users && !failed) {
      try {
        users = readUsers();
      } catch (error) {
        failed = true;
        printErr(`uss: note: ${(error as Error).message}; showing numeric user IDs`);
      }
    }
    return users?.get(uid) ?? String(uid);
  };
}

/** The UID `--user` names: a number, or a name from /etc/passwd. */
function resolveUser(user: string): number {
  if (/^[0-9]+$/.test(user)) return Number(user);
  let users: Map<number, string>;
  try {
    users = readUsers();
  } catch (error) {
    throw new UsageError(`cannot resolve --user ${user}: ${(error as Error).message}`);
  }
  for (const [uid, name] of users) if (name === user) return uid;
  throw new UsageError(`unknown user ${JSON.stringify(user)}`);
}

/** The view's ordering: `--sort` or the view's default (null: keep the given order). */
function ordering(options: CliOptions, fallback: Ordering["sort"]): Ordering {
  return { sort: options.sort ?? fallback, reverse: options.reverse, limit: options.limit };
}

function orderProcesses(reports: ProcessReport[], order: Ordering): ProcessReport[] {
  return orderRows(reports, order, {
    usage: (report) => report.usage,
    id: (report) => report.pid,
    name: (report) => report.name ?? "",
  });
}

function measureSelected(
  context: MeasureContext,
  pids: readonly number[],
  options: CliOptions,
  run: MeasureRunOptions = {},
): Promise<Measurement> {
  const onProgress = options.json ? undefined : progressReporter();
  return measure(context, pids, { ...run, onProgress });
}

/** The PIDs of the every-process views, after `--user`, `--name` and `--pid`. */
function selection(context: MeasureContext, options: CliOptions): number[] {
  return selectPids(context, {
    uid: options.user === null ? undefined : resolveUser(options.user),
    name: options.name ?? undefined,
    pids: options.pidFilter ?? undefined,
  });
}

/**
 * What happened to every PID a machine-wide view looked at, besides those it
 * measured: so that each is accounted for.
 */
function missing(reports: readonly ProcessReport[]) {
  const count = (...states: ProcessReport["state"][]) =>
    reports.filter((report) => states.includes(report.state)).length;
  return {
    scanned: reports.length,
    unreadable: count("permission-denied"),
    exited: count("exited", "no-such-process"),
    zombies: count("zombie"),
    kernel_threads: count("kernel-thread"),
    failed: count("error"),
  };
}

function missingLines(reports: readonly ProcessReport[]): string[] {
  const { unreadable, exited, zombies, failed } = missing(reports);
  const processes = (count: number) => `${count} process${count === 1 ? "" : "es"}`;
  const lines: string[] = [];
  if (unreadable > 0) {
    lines.push(`${processes(unreadable)} not readable: run as root or as their user`);
  }
  if (exited > 0) lines.push(`${processes(exited)} exited during the scan`);
  if (zombies > 0) lines.push(`${processes(zombies)} exited, not yet reaped (zombies)`);
  if (failed > 0) lines.push(`${processes(failed)} could not be read (see --json for reasons)`);
  return lines;
}

/** `uss PID...`: one row per PID, failures included; exit 1 if any failed. */
export async function givenView(context: MeasureContext, options: CliOptions): Promise<number> {
  const pids = [...new Set(options.pids)];
  const { reports } = await measureSelected(context, pids, options);
  const shown = orderProcesses(reports, ordering(options, null));
  const names = userNames();
  if (options.json) {
    printOut(JSON.stringify(shown.map((report) => processToJson(report, names)), null, 2));
  } else {
    printOut(renderProcessTable(shown, {
      bytes: options.bytes,
      total: pids.length > 1,
      userName: names,
      method: true,
    }));
  }
  return reports.every((report) => report.state === "ok") ? EXIT_OK : EXIT_PARTIAL;
}

/** `uss`: every readable process, largest USS first, with totals and what was missed. */
export async function listingView(context: MeasureContext, options: CliOptions): Promise<number> {
  const { reports } = await measureSelected(context, selection(context, options), options);
  const measured = reports.filter((report) => report.state === "ok");
  const shown = orderProcesses(measured, ordering(options, "uss"));
  const total = sumUsages(measured.map((report) => report.usage!));
  let used: number | null = null;
  try {
    used = usedMemory(readMeminfo(context.procRoot));
  } catch { /* meminfo is context only */ }
  const names = userNames();
  if (options.json) {
    printOut(JSON.stringify(
      {
        processes: shown.map((report) => processToJson(report, names)),
        total: {
          processes: measured.length,
          ...usageJson(total),
          used_memory: used,
        },
        ...missing(reports),
        method: context.method,
      },
      null,
      2,
    ));
    return EXIT_OK;
  }
  printOut(renderProcessTable(shown, {
    bytes: options.bytes,
    userName: names,
    total: true,
    totalOf: { processes: measured.length, usage: total },
  }));
  const lines = [
    `method ${context.method}` +
    (used !== null && used > 0
      ? `; PSS total ${formatBytes(total.pss)} = ${
        Math.round((total.pss / used) * 100)
      }% of used memory (${formatBytes(used)}, as free(1) counts it)`
      : ""),
    ...missingLines(reports),
  ];
  printOut(lines.join("\n"));
  return EXIT_OK;
}

function printGroups(groups: GroupReport[], options: CliOptions): void {
  if (options.json) {
    printOut(JSON.stringify(groups.map(groupToJson), null, 2));
    return;
  }
  printOut(renderGroupTable(groups, options.bytes));
  if (groups.some((group) => !group.exact)) {
    printErr(
      "uss: note: exact group USS needs frame-level access (root); USS_SUM adds up the members' own USS",
    );
  }
}

/** `--by user|name`: one row per user or program, with exact group USS. */
export async function groupByView(context: MeasureContext, options: CliOptions): Promise<number> {
  const pids = selection(context, options);
  const names = userNames();
  const specs = groupSpecsBy(identify(context, pids), options.by as "user" | "name", names);
  const measurement = await measureSelected(context, pids, options, { groups: specs });
  const groups = orderGroups(measurement.groups, ordering(options, "uss"));
  printGroups(groups, options);
  if (!options.json) {
    const lines = missingLines(measurement.reports);
    if (lines.length > 0) printOut(lines.join("\n"));
  }
  return EXIT_OK;
}

/** `--tree PID` and `--group PID,...`: the members, then the group's exact figures. */
export async function oneGroupView(
  context: MeasureContext,
  options: CliOptions,
): Promise<number> {
  let pids: number[];
  let label: string;
  if (options.tree !== null) {
    pids = treePids(context, options.tree);
    if (pids.length === 0) {
      printErr(`uss: ${options.tree}: no such process`);
      return EXIT_PARTIAL;
    }
    label = `tree:${options.tree}`;
  } else {
    pids = [...new Set(options.group!)];
    label = `group:${pids.join(",")}`;
  }
  if (options.tree !== null) {
    const [root] = identify(context, [options.tree]);
    if (root?.name) label += ` (${root.name})`;
  }
  const spec: GroupSpec = { name: label, pids };
  const measurement = await measureSelected(context, pids, options, { groups: [spec] });
  const groups = measurement.groups;
  const names = userNames();
  // In a tree, processes that exit while it is read are normal; in an explicit group they count.
  const members = options.tree !== null
    ? measurement.reports.filter((report) => report.state === "ok")
    : measurement.reports;
  if (options.json) printGroups(groups, options);
  else {
    printOut(renderProcessTable(orderProcesses(members, ordering(options, "uss")), {
      bytes: options.bytes,
      userName: names,
    }));
    printOut("");
    printGroups(groups, options);
  }
  const failed = options.tree === null &&
    measurement.reports.some((report) => report.state !== "ok");
  return failed ? EXIT_PARTIAL : EXIT_OK;
}

/** `--by file`: per mapped file, the processes mapping it and their sums. */
export async function fileView(context: MeasureContext, options: CliOptions): Promise<number> {
  const totals: FileTotals = new Map();
  const { reports } = await measureSelected(context, selection(context, options), options, {
    mappings: true,
    onMappings: (report) => addFileMappings(totals, report),
  });
  const files = orderFiles(fileReports(totals), ordering(options, "uss"));
  if (options.json) printOut(JSON.stringify(files.map(fileToJson), null, 2));
  else {
    printOut(renderFileTable(files, options.bytes));
    const lines = missingLines(reports);
    if (lines.length > 0) printOut(lines.join("\n"));
  }
  return EXIT_OK;
}

/** `maps PID`: one process's mappings (or files), with totals equal to its figures. */
export async function mapsView(context: MeasureContext, options: CliOptions): Promise<number> {
  const { reports: [report] } = await measureSelected(context, options.pids, options, {
    mappings: true,
  });
  const mapsOptions = {
    ...ordering(options, "uss"),
    byFile: options.by === "file",
    bytes: options.bytes,
  };
  if (options.json) {
    printOut(JSON.stringify(mappingsToJson(report, mapsOptions, userNames()), null, 2));
  } else if (report.state === "ok") printOut(renderMappingTable(report, mapsOptions));
  else printErr(`uss: ${report.pid}: ${report.error}`);
  return report.state === "ok" ? EXIT_OK : EXIT_PARTIAL;
}
