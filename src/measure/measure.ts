/**
 * Measures processes: several are read at once (their pagemap reads run on
 * Deno's I/O thread pool, so the kernel's page-table walks use every core),
 * while their frame references are accounted strictly one process after
 * another, member after member of each group, against one frame table. Nothing
 * per process outlives its accounting but its figures, so memory stays flat
 * however many processes and pages there are; references read ahead of their
 * turn wait in a bounded queue. Processes whose frames moved are measured again;
 * every result is checked to still belong to the process it names.
 *
 * @module
 */

import {
  accountRefs,
  beginGroup,
  beginProcess,
  createFrameTable,
  createProcessAccount,
  forgetCounts,
  type FrameTable,
  type ProcessAccount,
  resetFrameTable,
} from "../accounting/frame_table.ts";
import {
  addGroupMember,
  createGroupTotals,
  groupFigures,
  type GroupTotals,
  sumUsages,
} from "../accounting/group.ts";
import { clearFrameRefs, createFrameRefs, type FrameRefs } from "../accounting/pagemap_scan.ts";
import { processTotal, slotUsage, type Usage } from "../accounting/usage.ts";
import { openKpagecount } from "../procfs/kpagecount.ts";
import { readStat } from "../procfs/process_info.ts";
import type { GroupReport, GroupSpec } from "./aggregate.ts";
import { type MeasureContext, openContext } from "./context.ts";
import { mappingList } from "./mapping_list.ts";
import { type SwapCensus, swapCensus } from "./swap_census.ts";
import {
  type CountProgress,
  type CountReader,
  createCountReader,
  createSelfFrames,
  MAX_SPAN_FRAMES,
  selfEntries,
  type SelfFrames,
} from "./frame_counts.ts";
import {
  CHUNK_PAGES,
  readAheadFor,
  type RefSink,
  reportForError,
  type ScanOutcome,
  scanProcess,
} from "./scan_process.ts";
import type { MeasureOptions, ProcessReport } from "./types.ts";

/** The tool's own entries on swap slots: none. */
const NONE = () => 0;

/** Measurements of a process whose frames keep moving before its figures are kept. */
const ATTEMPTS = 3;
/** Batches of references read ahead of their process's turn, at most (~0.75 MiB each). */
const MAX_QUEUED_BATCHES = 12;

/** Options of {@link measure}. */
export interface MeasureRunOptions {
  /** Also return per-mapping figures. */
  mappings?: boolean;
  /**
   * Groups to account exactly, disjoint (a process in one group at most). Their
   * members are read one group after another.
   */
  groups?: readonly GroupSpec[];
  /**
   * Receives each process's report with its mappings, which are then not kept
   * in the returned reports (memory stays flat for views that only add them up).
   */
  onMappings?: (report: ProcessReport) => void;
  /** Called after each process is measured (for progress displays). */
  onProgress?: (done: number, total: number) => void;
}

/** The result of measuring a set of processes. */
export interface Measurement {
  /** One report per requested PID, in request order. */
  reports: ProcessReport[];
  /** One report per requested group, in request order. */
  groups: GroupReport[];
}

interface Job {
  pid: number;
  /** Index into the group specs, -1 for none. */
  group: number;
  /** Batches read ahead of this process's turn. */
  queue: FrameRefs[];
  account: ProcessAccount | null;
  /** Its swap slots' account, when the swap census was taken. */
  swapAccount: ProcessAccount | null;
  active: boolean;
  outcome: ScanOutcome | null;
}

interface GroupState {
  totals: GroupTotals;
  /** Some member's swap could not be told apart from others' (incomplete census). */
  swapUnknown: boolean;
  members: number[];
  /** Every member was accounted at frame level. */
  exact: boolean;
  methods: Set<string | null>;
}

/** What several passes of one measurement share. */
interface RunState {
  context: MeasureContext;
  table: FrameTable | null;
  /** Who references each swap slot, when a process measured has swap. */
  swap: SwapCensus | null;
  selfFrames: SelfFrames;
  /** The tool's own entries on a frame. */
  selfEntries: (pfn: number) => number;
  /** Buffers reused from batch to batch, and by the next measurement. */
  workspace: Workspace;
}

/** A lane's buffers: pagemap chunks (the walk adds what it needs) and one kpagecount span. */
interface LaneBuffers {
  pagemap: Uint8Array[];
  counts: Uint8Array;
}

/**
 * What a measurement allocates that the next one with the same context takes
 * over (an exporter or `--watch` measures again and again): tens of MiB of
 * typed arrays left to the garbage collector each time pile up before it runs.
 */
interface Workspace {
  table: FrameTable | null;
  /** Empty batches of references. */
  pool: FrameRefs[];
  lanes: LaneBuffers[];
}

/** Each context's workspace between measurements (taken while one runs, so never shared). */
const spareWorkspaces = new WeakMap<MeasureContext, Workspace>();

/**
 * Whether `pid` is the tool or one of its launchers: when one of them is
 * measured, the entries subtracted from every count are added back, so that
 * what they share with each other counts as shared.
 */
function measuringSide(context: MeasureContext, pid: number): boolean {
  return pid === context.selfPid || context.launchers.includes(pid);
}

function takeWorkspace(context: MeasureContext): Workspace {
  const spare = spareWorkspaces.get(context);
  spareWorkspaces.delete(context);
  const exact = context.method === "kpagecount";
  if (!spare) {
    return { table: exact ? createFrameTable(context.frameLimit) : null, pool: [], lanes: [] };
  }
  if (spare.table) resetFrameTable(spare.table);
  return spare;
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

function reportOf(state: RunState, job: Job, withMappings: boolean): ProcessReport {
  const outcome = job.outcome!;
  if (outcome.kind === "report") return outcome.report;
  const { scan } = outcome;
  const { pageSize } = state.context;
  const account = job.account!;
  const swapAccount = job.swapAccount;
  const total = processTotal(scan.tally, account, scan.slots, pageSize, swapAccount);
  const usageAt = (index: number) => slotUsage(scan.tally, account, index, pageSize, swapAccount);
  const notes: string[] = [];
  // Swap slots are told apart only with the census, and are the process's own
  // for sure only when every process with swap could be read.
  const unknown: (keyof Usage)[] = total.swap === 0
    ? []
    : job.swapAccount === null
    ? ["swapPss", "swapUss"]
    : state.swap!.unreadable.length > 0
    ? ["swapUss"]
    : [];
  return {
    pid: scan.pid,
    name: scan.stat.name,
    uid: scan.uid,
    ppid: scan.stat.ppid,
    startTime: scan.stat.startTime,
    vss: scan.vss,
    state: "ok",
    error: null,
    method: "kpagecount",
    usage: total,
    ...(unknown.length > 0 ? { unknown } : {}),
    // Each mapping's figures are made from the slot arrays when read: the
    // arrays outlive the process's accounting only as long as the report.
    ...(withMappings && scan.vmaAt
      ? {
        mappings: mappingList(
          scan.slots,
          (index) => ({ vma: scan.vmaAt!(index), usage: usageAt(index) }),
          usageAt,
        ),
      }
      : {}),
    notes,
  };
}

interface Lane {
  counts: CountReader | null;
  buffers: Uint8Array[];
  close(): void;
}

function openLanes(state: RunState, count: number): Lane[] {
  const { context } = state;
  const progress: CountProgress = { waiters: [] };
  const lanes: Lane[] = [];
  try {
    for (let index = 0; index < count; index++) {
      // Reads seek, so every lane needs its own kpagecount descriptor.
      const source = state.table === null
        ? null
        : index === 0
        ? context.kpagecount!
        : openKpagecount(context.procRoot);
      const buffers = state.workspace.lanes[index] ??= state.table === null
        ? { pagemap: [], counts: new Uint8Array(0) }
        : { pagemap: [], counts: new Uint8Array(MAX_SPAN_FRAMES * 8) };
      lanes.push({
        counts: source && createCountReader(source, progress, buffers.counts),
        buffers: buffers.pagemap,
        close() {
          if (index > 0) source?.file.close();
        },
      });
    }
  } catch (error) {
    for (const lane of lanes) lane.close();
    throw error;
  }
  return lanes;
}

/**
 * One pass over `jobs`: reads them on `context.jobs` lanes, accounts them in
 * order, and calls `complete` for each in order.
 */
async function runPass(
  state: RunState,
  jobs: Job[],
  groups: GroupState[],
  withMappings: boolean,
  complete: (job: Job) => void,
): Promise<void> {
  const { context, table } = state;
  const { pool } = state.workspace;
  let current = 0;
  let queued = 0;
  let activeGroup = -1;
  let waiters: (() => void)[] = [];

  const account = (job: Job, refs: FrameRefs) => {
    const group = job.group >= 0 ? groups[job.group].totals : null;
    accountRefs(
      table!,
      refs,
      job.account!,
      group?.frames ?? null,
      context.pageSize,
      state.selfEntries,
    );
    if (state.swap && job.swapAccount) {
      const swapGroup = group?.swapSlots ?? null;
      accountRefs(state.swap.table, refs.swap, job.swapAccount, swapGroup, context.pageSize, NONE);
    }
    clearFrameRefs(refs);
    pool.push(refs);
  };
  const advance = () => {
    while (current < jobs.length) {
      const job = jobs[current];
      if (!job.active) {
        job.active = true;
        for (const each of [table, state.swap?.table ?? null]) {
          if (each === null) continue;
          beginProcess(each);
          if (job.group >= 0 && job.group !== activeGroup) beginGroup(each);
        }
        activeGroup = job.group;
      }
      for (const refs of job.queue) account(job, refs);
      queued -= job.queue.length;
      job.queue = [];
      if (job.outcome === null) break;
      complete(job);
      current++;
    }
    const waiting = waiters;
    waiters = [];
    for (const wake of waiting) wake();
  };
  const deliver = (job: Job, refs: FrameRefs): void | Promise<void> => {
    if (job === jobs[current] && job.active) return account(job, refs);
    job.queue.push(refs);
    queued++;
    if (queued <= MAX_QUEUED_BATCHES) return;
    return new Promise((resolve) => waiters.push(resolve));
  };

  const lanes = openLanes(state, Math.min(context.jobs, jobs.length));
  const readAhead = readAheadFor(lanes.length);
  let next = 0;
  try {
    advance();
    await Promise.all(lanes.map(async (lane) => {
      while (next < jobs.length) {
        const job = jobs[next++];
        const sink: RefSink | null = table && lane.counts
          ? {
            table,
            selfFrames: state.selfFrames,
            counts: lane.counts,
            readAhead,
            buffers: lane.buffers,
            swapSlots: state.swap?.table ?? null,
            open(slots) {
              job.account = createProcessAccount(slots, measuringSide(context, job.pid));
              job.swapAccount = state.swap ? createProcessAccount(slots) : null;
            },
            batch: () => pool.pop() ?? createFrameRefs(CHUNK_PAGES),
            recycle: (refs) => pool.push(refs),
            deliver: (refs) => deliver(job, refs),
          }
          : null;
        job.outcome = await scanProcess(context, job.pid, withMappings, sink);
        if (job === jobs[current]) advance();
      }
    }));
  } finally {
    for (const lane of lanes) lane.close();
  }
}

/** The jobs of `pids`: group members first, group by group, then the rest in order. */
function orderJobs(pids: readonly number[], specs: readonly GroupSpec[]): Job[] {
  const job = (pid: number, group: number): Job => ({
    pid,
    group,
    queue: [],
    account: null,
    swapAccount: null,
    active: false,
    outcome: null,
  });
  const grouped = new Map<number, number>();
  const jobs: Job[] = [];
  specs.forEach((spec, group) => {
    for (const pid of new Set(spec.pids)) {
      if (grouped.has(pid)) {
        throw new RangeError(`process ${pid} is in two groups (${specs[grouped.get(pid)!].name})`);
      }
      grouped.set(pid, group);
      jobs.push(job(pid, group));
    }
  });
  for (const pid of new Set(pids)) if (!grouped.has(pid)) jobs.push(job(pid, -1));
  return jobs;
}

function groupReport(spec: GroupSpec, state: GroupState): GroupReport {
  const exact = state.exact && state.members.length > 0;
  const figures = groupFigures(state.totals);
  return {
    group: spec.name,
    members: state.members,
    method: state.methods.size === 1 ? [...state.methods][0] as GroupReport["method"] : null,
    exact,
    usage: exact ? figures.usage : sumUsages([state.totals.sum]),
    ussSum: figures.ussSum,
    ...(state.swapUnknown ? { unknown: ["swapUss" as const] } : {}),
  };
}

/**
 * Measures `pids` (and the groups of `options.groups`) with an open context.
 * Reports come back in the order of `pids`; a PID that cannot be measured gets
 * a report with its reason, never an exception. Group members need not be in
 * `pids`.
 *
 * @throws {EnvironmentError} when the sandbox refuses procfs mid-way.
 * @throws {RangeError} when a process is in two groups.
 * @example
 * ```ts
 * import { openContext } from "./context.ts";
 * import { measure } from "./measure.ts";
 * const context = openContext();
 * try {
 *   const { reports, groups } = await measure(context, [Deno.pid, 0x7fff_ffff], {
 *     groups: [{ name: "deno", pids: [Deno.pid] }],
 *   });
 *   reports.map((report) => report.state); // ["ok", "no-such-process"]
 *   [groups[0].group, groups[0].members[0] === Deno.pid]; // ["deno", true]
 * } finally {
 *   context.close();
 * }
 * ```
 */
export async function measure(
  context: MeasureContext,
  pids: readonly number[],
  options: MeasureRunOptions = {},
): Promise<Measurement> {
  const workspace = takeWorkspace(context);
  try {
    return await measureWith(context, workspace, pids, options);
  } finally {
    spareWorkspaces.set(context, workspace);
  }
}

async function measureWith(
  context: MeasureContext,
  workspace: Workspace,
  pids: readonly number[],
  options: MeasureRunOptions,
): Promise<Measurement> {
  const withMappings = options.mappings ?? false;
  const specs = options.groups ?? [];
  const jobs = orderJobs(pids, specs);
  const { table } = workspace;
  const selfFrames = createSelfFrames();
  const state: RunState = {
    context,
    table,
    swap: table ? swapCensus(context, jobs.map((job) => job.pid)) : null,
    selfFrames,
    workspace,
    selfEntries: (pfn) => selfEntries(selfFrames, pfn),
  };
  const groups: GroupState[] = specs.map(() => ({
    totals: { ...createGroupTotals(), swapTracked: state.swap !== null },
    swapUnknown: false,
    members: [],
    exact: true,
    methods: new Set(),
  }));
  const reports = new Map<number, ProcessReport>();
  let done = 0;
  const finish = (report: ProcessReport) => {
    if (report.mappings && options.onMappings) {
      options.onMappings(report);
      delete report.mappings;
    }
    reports.set(report.pid, report);
    options.onProgress?.(++done, jobs.length);
  };

  // Processes with moved frames are measured again, with those frames' counts
  // read afresh (forgotten only between passes: other processes of a pass may
  // still be accounting them); their first figures still stand in their groups.
  let retry: Job[] = [];
  const movedFrames = (job: Job) => job.account?.moved.length ?? 0;
  await runPass(state, jobs, groups, withMappings, (job) => {
    const report = confirmSameProcess(context, reportOf(state, job, withMappings));
    if (job.group >= 0 && report.state === "ok") {
      const group = groups[job.group];
      const outcome = job.outcome!;
      addGroupMember(
        group.totals,
        report.usage!,
        outcome.kind === "scan" ? outcome.scan.tally : null,
        context.pageSize,
      );
      group.members.push(job.pid);
      group.exact &&= outcome.kind === "scan";
      group.swapUnknown ||= report.unknown?.includes("swapUss") ?? false;
      group.methods.add(report.method);
    }
    if (report.state === "ok" && movedFrames(job) > 0) retry.push(job);
    else {
      finish(report);
      // Its report says all that is needed now; scans kept to the end grew the
      // peak by ~12 KiB per process (22 MiB more for 1,800 more processes).
      job.outcome = job.account = job.swapAccount = null;
    }
  });

  for (let attempt = 2; retry.length > 0; attempt++) {
    for (const job of retry) forgetCounts(table!, job.account!.moved);
    const again = retry.map((job): Job => ({
      ...job,
      group: -1,
      queue: [],
      active: false,
      outcome: null,
    }));
    retry = [];
    await runPass(state, again, [], withMappings, (job) => {
      const report = confirmSameProcess(context, reportOf(state, job, withMappings));
      const frames = report.state === "ok" ? movedFrames(job) : 0;
      if (frames > 0 && attempt < ATTEMPTS) retry.push(job);
      else {
        if (frames > 0) {
          report.notes.push(
            `${frames} frames kept moving during ${ATTEMPTS} measurements; counted as unique`,
          );
        }
        finish(report);
      }
    });
  }

  return {
    reports: pids.map((pid) => reports.get(pid)!),
    groups: specs.map((spec, index) => groupReport(spec, groups[index])),
  };
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
 * import { measureProcesses } from "./measure.ts";
 * const [report] = await measureProcesses([Deno.pid]);
 * report.state; // "ok"
 * report.usage!.uss <= report.usage!.rss; // true
 * ```
 */
export async function measureProcesses(
  pids: readonly number[],
  options: MeasureOptions = {},
): Promise<ProcessReport[]> {
  const context = openContext(options);
  try {
    return (await measure(context, pids, { mappings: options.mappings })).reports;
  } finally {
    context.close();
  }
}
