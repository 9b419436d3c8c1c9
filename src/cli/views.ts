/**
 * The views of the `uss` command: given PIDs, every process, groups, files and
 * one process's mappings. Each decides what to measure, measures it and
 * returns a result (rows, totals, what was not measured, notes, exit code);
 * printing is the renderers' job.
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
import {
  cgroupHierarchy,
  cgroupPaths,
  identify,
  resolveThreads,
  selectPids,
  selfAndLaunchers,
  treePids,
} from "../measure/select.ts";
import {
  cgroupDirectory,
  cgroupLabel,
  type CgroupMount,
  type Hierarchy,
  readCgroupMounts,
  readCharge,
} from "../procfs/cgroup.ts";
import type { ProcessReport } from "../measure/types.ts";
import { ProcError } from "../procfs/files.ts";
import { readMeminfo, usedMemory } from "../procfs/meminfo.ts";
import { readCmdline, readStat } from "../procfs/process_info.ts";
import { readUsers } from "../procfs/users.ts";
import {
  orderFiles,
  orderGroups,
  type Ordering,
  orderMappings,
  orderProcesses,
} from "../report/order.ts";
import type {
  Accounting,
  FilesResult,
  GroupsResult,
  MachineMemory,
  MappingsResult,
  ProcessesResult,
  ProcessRow,
  ViewResult,
} from "../report/result.ts";
import { type CliOptions, UsageError } from "./args.ts";
import { EXIT_OK, EXIT_PARTIAL } from "./exit_codes.ts";
import { progressReporter } from "./progress.ts";

/** A view cannot go on (its root process is missing, a kernel thread, …): one line, an exit code. */
export class ViewError extends Error {
  /** The exit code to end with. */
  readonly exitCode: number;
  /** Creates the error. */
  constructor(message: string, exitCode: number) {
    super(message);
    this.name = "ViewError";
    this.exitCode = exitCode;
  }
}

/** What views share across one run (and across the samples of a watch). */
export interface Session {
  context: MeasureContext;
  options: CliOptions;
  /** The owner's user name of a UID (the UID as text without a name), null when unknown. */
  userName(uid: number | null): string | null;
  /** The UID `--user` names, resolved once when the session opens; null without `--user`. */
  uid: number | null;
  /** Notes gathered outside any one result (printed once). */
  notes: string[];
}

/** A view: reads what it needs through the session's context and returns its result. */
export type View = (session: Session) => Promise<ViewResult>;

/**
 * Opens a session: user names come from /etc/passwd, read once when first
 * needed; if it cannot be read, UIDs are shown as numbers and a note says why.
 *
 * @throws {UsageError} when `--user` names no user (before any measurement, so
 * an exporter does not start with a filter it cannot apply).
 */
export function openSession(context: MeasureContext, options: CliOptions): Session {
  let users: Map<number, string> | null = null;
  const notes: string[] = [];
  // `--user NAME` reads /etc/passwd; the names shown later come from that read.
  const uid = options.user === null ? null : resolveUser(options.user, () => users = readUsers());
  return {
    context,
    options,
    notes,
    uid,
    userName(uid) {
      if (uid === null) return null;
      if (users === null) {
        try {
          users = readUsers();
        } catch (error) {
          users = new Map();
          notes.push(`note: ${(error as Error).message}; showing numeric user IDs`);
        }
      }
      return users.get(uid) ?? String(uid);
    },
  };
}

/** The UID `--user` names: a number, or a name from the users `read` gives (/etc/passwd). */
function resolveUser(user: string, read: () => Map<number, string>): number {
  if (/^[0-9]+$/.test(user)) return Number(user);
  let users: Map<number, string>;
  try {
    users = read();
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

function measureWith(
  session: Session,
  pids: readonly number[],
  run: MeasureRunOptions = {},
): Promise<Measurement> {
  const { options } = session;
  const quiet = options.format !== "table" || options.watch !== null;
  return measure(session.context, pids, {
    onProgress: quiet ? undefined : progressReporter(),
    ...run,
  });
}

/**
 * Reports as rows: user names, and command lines when `withCommands` (by
 * default, when a column shows them).
 */
export function rowsOf(
  session: Session,
  reports: readonly ProcessReport[],
  withCommands = session.options.columns?.some((id) => id.toLowerCase() === "command") ?? false,
): ProcessRow[] {
  return reports.map((report) => {
    const row: ProcessRow = { ...report, user: session.userName(report.uid) };
    if (withCommands) {
      try {
        row.command = readCmdline(session.context.procRoot, report.pid);
      } catch {
        row.command = null;
      }
    }
    return row;
  });
}

function machineMemory(context: MeasureContext): MachineMemory | null {
  try {
    const info = readMeminfo(context.procRoot);
    return info.total > 0 ? { ...info, used: usedMemory(info) } : null;
  } catch {
    return null; // context only
  }
}

/** Every PID a machine-wide view looked at, measured or in one of the counts. */
export function accountingOf(session: Session, reports: readonly ProcessReport[]): Accounting {
  const count = (...states: ProcessReport["state"][]) =>
    reports.filter((report) => states.includes(report.state)).length;
  return {
    scanned: reports.length,
    unreadable: count("permission-denied"),
    exited: count("exited", "no-such-process"),
    zombies: count("zombie"),
    kernelThreads: count("kernel-thread"),
    failed: count("error"),
    unmeasured: rowsOf(
      session,
      reports.filter((report) => report.state !== "ok" && report.state !== "kernel-thread"),
    ),
  };
}

/** What every result of `session` has: method, notes (the fallback's first), exit code, memory. */
export function base(session: Session, exitCode: number, notes: string[] = []) {
  const { context } = session;
  const method = context.method;
  const fallback = context.fallbackReason
    ? [
      `note: ${context.fallbackReason}; figures come from the kernel's smaps (method smaps); run as root for exact ones`,
    ]
    : [];
  return {
    method,
    notes: [...fallback, ...notes],
    exitCode,
    memory: machineMemory(context),
  };
}

/**
 * The processes of the machine-wide views, after `--user`, `--name`, `--pid`
 * and `--cgroup`, and those left out (the tool and its launchers).
 */
export function selection(session: Session): { pids: number[]; excluded: number[] } {
  const { context, options } = session;
  const excluded = selfAndLaunchers(context);
  const filter = options.pidFilter ? resolveThreads(context, options.pidFilter).pids : undefined;
  const pids = selectPids(context, {
    uid: session.uid ?? undefined,
    name: options.name ?? undefined,
    pids: filter,
    exclude: new Set(excluded),
    cgroup: options.cgroup === null
      ? undefined
      : { hierarchy: cgroupHierarchy(context, options.cgroupHierarchy), path: options.cgroup },
  });
  return { pids, excluded };
}

function threadNotes(threads: Map<number, number>): string[] {
  return [...threads].map(([thread, process]) =>
    `note: ${thread} is a thread of process ${process}: measured as ${process}`
  );
}

/** Measured processes added up; a figure unknown for one of them is unknown in the sum. */
function totalOf(measured: readonly ProcessReport[]): ProcessesResult["total"] {
  const unknown = [...new Set(measured.flatMap((report) => report.unknown ?? []))];
  return {
    processes: measured.length,
    usage: sumUsages(measured.map((report) => report.usage!)),
    ...(unknown.length > 0 ? { unknown } : {}),
  };
}

/** `uss PID...`: one row per process, failures included; exit 1 if any failed. */
export async function givenView(session: Session): Promise<ProcessesResult> {
  const { context, options } = session;
  const { pids, threads } = resolveThreads(context, options.pids);
  const { reports } = await measureWith(session, pids);
  const measured = reports.filter((report) => report.state === "ok");
  const failed = reports.some((report) => report.state !== "ok");
  return {
    kind: "processes",
    listing: false,
    processes: rowsOf(session, orderProcesses(reports, ordering(options, null))),
    total: totalOf(measured),
    accounting: null,
    excluded: [],
    ...base(session, failed ? EXIT_PARTIAL : EXIT_OK, threadNotes(threads)),
  };
}

/** `uss`: every readable process, largest USS first, with totals and what was missed. */
export async function listingView(session: Session): Promise<ProcessesResult> {
  const { pids, excluded } = selection(session);
  const { reports } = await measureWith(session, pids);
  const measured = reports.filter((report) => report.state === "ok");
  return {
    kind: "processes",
    listing: true,
    processes: rowsOf(session, orderProcesses(measured, ordering(session.options, "uss"))),
    total: totalOf(measured),
    accounting: accountingOf(session, reports),
    excluded,
    ...base(session, EXIT_OK),
  };
}

const INEXACT_NOTE =
  "note: exact group USS needs frame-level access (root); USS_SUM adds up the members' own USS";

/**
 * Groups of the processes `pids` by user, command name or memory cgroup, as
 * specs to measure; for cgroups, their hierarchy too.
 */
export function groupingSpecs(
  session: Session,
  pids: readonly number[],
  by: "user" | "name" | "cgroup",
): { specs: GroupSpec[]; hierarchy: Hierarchy | null } {
  const { context, options } = session;
  if (by === "cgroup") {
    const hierarchy = cgroupHierarchy(context, options.cgroupHierarchy);
    const paths = cgroupPaths(context, pids, hierarchy);
    return {
      specs: groupSpecsBy(identify(context, pids), (process) => paths.get(process.pid) ?? null),
      hierarchy,
    };
  }
  const specs = groupSpecsBy(
    identify(context, pids),
    by === "user"
      ? (process) => session.userName(process.uid) ?? "?"
      : (process) => process.name ?? "?",
  );
  return { specs, hierarchy: null };
}

/**
 * Adds to groups by cgroup their path and the kernel's charge (null where it
 * cannot be read: no memory controller on that hierarchy, or a sandbox that
 * only allows the procfs), and shows them by readable name.
 */
export function describeCgroups(
  session: Session,
  groups: GroupReport[],
  hierarchy: Hierarchy,
): string[] {
  let mounts: CgroupMount[] = [];
  try {
    mounts = readCgroupMounts(session.context.procRoot);
  } catch { /* no charges then */ }
  let unreadable = 0;
  for (const group of groups) {
    const path = group.group;
    const directory = cgroupDirectory(mounts, hierarchy, path);
    let charge = null;
    try {
      charge = directory === null ? null : readCharge(directory, hierarchy);
    } catch {
      unreadable++;
    }
    group.cgroup = { path, hierarchy, charge };
    group.group = cgroupLabel(path);
  }
  return unreadable > 0
    ? [`note: the kernel's cgroup charges could not be read (Deno reads /sys only with -A)`]
    : [];
}

/** What {@link measureGroups} gives: the measurement and its groups as shown. */
export interface GroupedMeasurement {
  measurement: Measurement;
  /** Groups with a measured member, cgroups described, in the order of the specs. */
  groups: GroupReport[];
  notes: string[];
}

/**
 * Measures `pids` grouped by user, name or cgroup. A group none of whose
 * processes could be measured is left out (they are in the accounting's
 * counts): an empty row says nothing, and its inexactness would flag all.
 */
export async function measureGroups(
  session: Session,
  pids: readonly number[],
  by: "user" | "name" | "cgroup",
  run: MeasureRunOptions = {},
): Promise<GroupedMeasurement> {
  const { specs, hierarchy } = groupingSpecs(session, pids, by);
  const measurement = await measureWith(session, pids, { ...run, groups: specs });
  const groups = measurement.groups.filter((group) => group.members.length > 0);
  const notes = hierarchy === null ? [] : describeCgroups(session, groups, hierarchy);
  return { measurement, groups, notes };
}

/** `--by user|name|cgroup`: one row per user, program or cgroup, with exact group USS. */
export async function groupByView(session: Session): Promise<GroupsResult> {
  const { options } = session;
  const { pids } = selection(session);
  const by = options.by as "user" | "name" | "cgroup";
  const { measurement, groups, notes } = await measureGroups(session, pids, by);
  return {
    kind: "groups",
    by,
    groups: orderGroups(groups, ordering(options, "uss")),
    members: null,
    accounting: accountingOf(session, measurement.reports),
    ...base(
      session,
      EXIT_OK,
      groups.some((group) => !group.exact) ? [...notes, INEXACT_NOTE] : notes,
    ),
  };
}

/** The root of `--tree`: a process (a thread stands for it), not a kernel thread. */
function treeRoot(session: Session, pid: number): number {
  const { context } = session;
  const [root] = resolveThreads(context, [pid]).pids;
  try {
    const stat = readStat(context.procRoot, root);
    if (stat.kernelThread) {
      throw new ViewError(
        `${root} is a kernel thread: kernel threads have no user memory to measure`,
        EXIT_PARTIAL,
      );
    }
  } catch (error) {
    if (error instanceof ProcError && error.kind === "not-found") {
      throw new ViewError(`${pid}: no such process`, EXIT_PARTIAL);
    }
    if (!(error instanceof ProcError)) throw error;
  }
  return root;
}

/** `--tree PID` and `--group PID,...`: every member, then the group's exact figures. */
export async function oneGroupView(session: Session): Promise<GroupsResult> {
  const { context, options } = session;
  let pids: number[];
  let label: string;
  let notes: string[] = [];
  let root: number | null = null;
  if (options.tree !== null) {
    root = treeRoot(session, options.tree);
    pids = treePids(context, root, new Set(selfAndLaunchers(context)));
    if (pids.length === 0) throw new ViewError(`${options.tree}: no such process`, EXIT_PARTIAL);
    const [identity] = identify(context, [root]);
    label = `tree:${root}${identity?.name ? ` (${identity.name})` : ""}`;
  } else {
    const resolved = resolveThreads(context, options.group!);
    pids = resolved.pids;
    notes = threadNotes(resolved.threads);
    label = `group:${pids.join(",")}`;
  }
  const spec: GroupSpec = { name: label, pids };
  const measurement = await measureWith(session, pids, { groups: [spec] });
  const [group] = measurement.groups;
  // A tree's members come and go; only its root counts for the exit code.
  const failed = measurement.reports.some((report) =>
    report.state !== "ok" && (root === null || report.pid === root)
  );
  return {
    kind: "groups",
    by: root !== null ? "tree" : "group",
    groups: [group],
    members: rowsOf(session, orderProcesses(measurement.reports, ordering(options, "uss"))),
    accounting: null,
    ...base(
      session,
      failed ? EXIT_PARTIAL : EXIT_OK,
      group.exact || group.members.length === 0 ? notes : [...notes, INEXACT_NOTE],
    ),
  };
}

/** `--by file`: per mapped file, the processes mapping it and their sums. */
export async function fileView(session: Session): Promise<FilesResult> {
  const totals: FileTotals = new Map();
  const { pids } = selection(session);
  const { reports } = await measureWith(session, pids, {
    mappings: true,
    onMappings: (report) => addFileMappings(totals, report),
  });
  const files = fileReports(totals);
  return {
    kind: "files",
    process: null,
    files: orderFiles(files, ordering(session.options, "uss")),
    count: files.length,
    mappings: files.reduce((sum, file) => sum + file.mappings, 0),
    accounting: accountingOf(session, reports),
    ...base(session, EXIT_OK),
  };
}

/** `maps PID`: one process's mappings (or files), with totals equal to its figures. */
export async function mapsView(session: Session): Promise<MappingsResult | FilesResult> {
  const { context, options } = session;
  const { pids, threads } = resolveThreads(context, options.pids);
  const { reports: [report] } = await measureWith(session, pids, { mappings: true });
  const [process] = rowsOf(session, [{ ...report, mappings: undefined }]);
  const failed = report.state !== "ok";
  const notes = [
    ...threadNotes(threads),
    ...(failed ? [`${report.pid}: ${report.error ?? report.state}`] : []),
  ];
  const order = ordering(options, "uss");
  const mappings = report.mappings ?? [];
  if (options.by === "file") {
    const totals: FileTotals = new Map();
    addFileMappings(totals, report);
    const files = fileReports(totals);
    return {
      kind: "files",
      process,
      files: orderFiles(files, order),
      count: files.length,
      mappings: mappings.length,
      accounting: null,
      ...base(session, failed ? EXIT_PARTIAL : EXIT_OK, notes),
    };
  }
  return {
    kind: "mappings",
    process,
    mappings: orderMappings(mappings, order),
    count: mappings.length,
    ...base(session, failed ? EXIT_PARTIAL : EXIT_OK, notes),
  };
}

/**
 * The view the command line asks for.
 *
 * @example
 * ```ts
 * import { chooseView, listingView } from "./views.ts";
 * import { parseCli } from "./args.ts";
 * chooseView(parseCli([])) === listingView; // true
 * ```
 */
export function chooseView(options: CliOptions): View {
  if (options.command === "maps") return mapsView;
  if (options.pids.length > 0) return givenView;
  if (options.tree !== null || options.group !== null) return oneGroupView;
  if (options.by === "file") return fileView;
  if (options.by !== null) return groupByView;
  return listingView;
}
