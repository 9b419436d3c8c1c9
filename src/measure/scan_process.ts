/**
 * Reads one process: who it is (`stat`, `status`), its VMAs (`maps`, or `smaps`
 * when that lets the walk skip empty address space) and its pagemap, in reads
 * that can overlap with other work; hands its frame references over in batches
 * whose counts are known.
 *
 * @module
 */

import {
  COUNT_UNKNOWN,
  ensureFrame,
  type FrameTable,
  setFrameCount,
} from "../accounting/frame_table.ts";
import {
  clearFrameRefs,
  createScanTally,
  type FrameRefs,
  scanPagemapEntries,
  type ScanTally,
  type ScanTarget,
} from "../accounting/pagemap_scan.ts";
import { usageFromSmaps } from "../accounting/smaps_usage.ts";
import { addUsage, emptyUsage, type Usage } from "../accounting/usage.ts";
import { ProcError } from "../procfs/files.ts";
import { type MapRanges, readMapPieces, trimmedRanges, type Vma, vmaOf } from "../procfs/maps.ts";
import {
  readSmaps,
  readSmapsRollup,
  type SmapsFields,
  smapsFieldsAt,
  type SmapsTable,
  smapsVmaAt,
} from "../procfs/smaps.ts";
import { openPagemap, type PagemapFile, readPagemap, readPagemapAsync } from "../procfs/pagemap.ts";
import {
  type ProcessStat,
  type ProcessStatus,
  readStat,
  readStatus,
} from "../procfs/process_info.ts";
import { fileKey, type MeasureContext, rethrowSandbox } from "./context.ts";
import { mappingList } from "./mapping_list.ts";
import {
  type CountReader,
  fetchCounts,
  matchSelfFrames,
  releaseUnread,
  type SelfFrames,
  verifySelfFrames,
} from "./frame_counts.ts";
import { planReads, type ReadPlan } from "./read_plan.ts";
import type { ProcessReport, ProcessState } from "./types.ts";

/** Pages per pagemap read (512 KiB of entries with 4 KiB pages); a multiple of any PMD. */
export const CHUNK_PAGES = 65536;
/** Holes between VMAs up to this many pages are read through (zero entries, cheap). */
export const MAX_GAP_PAGES = 1024;
/**
 * Pagemap reads of at least this many pages go to Deno's I/O thread pool, where
 * they overlap with scanning and with other processes' reads; smaller ones cost
 * less than the round trip (~30 µs) and are read in place.
 */
const ASYNC_MIN_PAGES = 8192;
/**
 * Large reads of one process in flight at once, each on a descriptor of its
 * own (a read seeks, and Deno has no pread): the kernel's page-table walk, most
 * of the time of a big dense process, then runs on two cores. Four rather than
 * two: each of Deno's reads goes back through the main thread before the next
 * starts (a descriptor duplicated, a task queued, a wake-up), and on 2 cores
 * the walk of 4 GiB took 22-29 ms with two in flight, 21-23 ms with four (one
 * core: 29-30 ms); `uss PID` of it, 74 -> 71 ms.
 */
export const READ_AHEAD = 4;
/**
 * Large pagemap reads in flight for a whole run, shared among the processes
 * read at once: each keeps its share ahead (1 to {@link READ_AHEAD}), so read
 * buffers (512 KiB each) and descriptors do not grow with `--jobs`. Eight
 * processes read at once each with four ahead peaked at 113 MiB on 33 forked
 * processes with 17.4 M entries, one ahead at 101 MiB (two processes: 80-89),
 * in the same time on 2 cores; eight reads still keep eight cores walking.
 */
const READS_IN_FLIGHT = 8;

/**
 * How many large pagemap reads one process keeps in flight while `readers`
 * processes are read at once.
 *
 * @example
 * ```ts
 * import { readAheadFor } from "./scan_process.ts";
 * [1, 2, 4, 8].map(readAheadFor); // [4, 4, 2, 1]
 * ```
 */
export function readAheadFor(readers: number): number {
  return Math.max(1, Math.min(READ_AHEAD, Math.floor(READS_IN_FLIGHT / readers)));
}

/**
 * What reading smaps first costs per VMA, in pages of pagemap read instead:
 * smaps is a walk of resident pages only, but the kernel writes ~25 lines per
 * VMA (~3-7 µs) and parsing them costs as much, while pagemap costs ~3-12 ns
 * per page that nothing maps (3 where no page table exists). A sleeping Deno
 * (146 VMAs, 4.4 M pages reserved) is read faster through smaps; a JVM-like
 * process with 65,000 VMAs and a 16 GiB reservation took 0.73 s and 236 MB
 * through smaps (46 MB of text) against ~0.1 s through pagemap.
 */
export const SMAPS_VMA_PAGES = 667;
/** Small processes are read directly whatever their layout (pages). */
export const SPARSE_MIN_PAGES = 16384;

/** A process walked for the kpagecount method, its references handed over. */
export interface ProcessScan {
  pid: number;
  stat: ProcessStat;
  uid: number;
  /** VMA `index` (made on each call), when per-mapping figures were asked for. */
  vmaAt: ((index: number) => Vma) | null;
  /** Slots the figures are kept in: one per VMA, or 1 for process totals. */
  slots: number;
  tally: ScanTally;
  /** Virtual size in bytes. */
  vss: number;
}

/** Where a reader hands its frame references, and what it reads counts with. */
export interface RefSink {
  /** The run's frame table. */
  table: FrameTable;
  /** The tool's own frames (subtracted from counts). */
  selfFrames: SelfFrames;
  /** This reader's kpagecount reader. */
  counts: CountReader;
  /** Large pagemap reads this reader may keep in flight ({@link readAheadFor}). */
  readAhead: number;
  /**
   * Pagemap buffers of {@link CHUNK_PAGES} entries, one per run being read or
   * scanned (up to {@link READ_AHEAD} + 1); the walk adds what it lacks.
   */
  buffers: Uint8Array[];
  /** The swap census, when swap slots are accounted: the table of slots' references. */
  swapSlots: FrameTable | null;
  /** Called once the process's slots are known, before any batch. */
  open(slots: number): void;
  /** An empty batch with room for {@link CHUNK_PAGES} rows. */
  batch(): FrameRefs;
  /** Takes back a batch that was not delivered (emptied), for reuse. */
  recycle(refs: FrameRefs): void;
  /** Takes a batch whose counts are known; resolves when reading may go on. */
  deliver(refs: FrameRefs): void | Promise<void>;
}

/** Either a finished report (failure, or the smaps method) or a scan to count. */
export type ScanOutcome =
  | { kind: "report"; report: ProcessReport }
  | { kind: "scan"; scan: ProcessScan };

/** A process refused to a tool that can read kpagecount (root, CAP_SYS_ADMIN). */
const PRIVILEGED_DENIAL =
  "permission denied even with root's privileges (the kernel's ptrace check)";

const MESSAGES: Record<Exclude<ProcessState, "ok" | "error">, string> = {
  "no-such-process": "no such process",
  "permission-denied": "permission denied: needs root or the same user",
  "kernel-thread": "kernel thread: it has no user memory to measure",
  zombie: "zombie: exited, not yet reaped by its parent",
  exited: "exited during measurement",
};

/**
 * A report for a process that could not be measured.
 *
 * @example
 * ```ts
 * import { failedReport } from "./scan_process.ts";
 * const report = failedReport(42, "no-such-process");
 * [report.state, report.error, report.usage]; // ["no-such-process", "no such process", null]
 * ```
 */
export function failedReport(
  pid: number,
  state: Exclude<ProcessState, "ok">,
  stat: ProcessStat | null = null,
  uid: number | null = null,
  message?: string,
): ProcessReport {
  return {
    pid,
    name: stat?.name ?? null,
    uid,
    ...(stat ? { ppid: stat.ppid } : {}),
    startTime: stat?.startTime ?? null,
    state,
    error: message ?? (state === "error" ? "error" : MESSAGES[state]),
    method: null,
    usage: null,
    notes: [],
  };
}

/** Turns an error raised while reading `pid` into its report (or rethrows fatal ones). */
export function reportForError(
  context: MeasureContext,
  pid: number,
  error: unknown,
  stat: ProcessStat | null,
  uid: number | null,
): ProcessReport {
  if (!(error instanceof ProcError)) {
    if (error instanceof SyntaxError) {
      return failedReport(pid, "error", stat, uid, `unexpected procfs text: ${error.message}`);
    }
    throw error;
  }
  rethrowSandbox(error, context.procRoot);
  switch (error.kind) {
    case "not-found":
      return failedReport(pid, stat ? "exited" : "no-such-process", stat, uid);
    case "gone":
      return failedReport(pid, "exited", stat, uid);
    case "permission":
      // As root (or with kpagecount open, which takes root's privileges),
      // "needs root" would mislead: the kernel's ptrace check refused this one.
      return context.kpagecount === null && context.selfUid !== 0
        ? failedReport(pid, "permission-denied", stat, uid)
        : failedReport(pid, "permission-denied", stat, uid, PRIVILEGED_DENIAL);
    default:
      return failedReport(pid, "error", stat, uid, error.message);
  }
}

/**
 * Measures a process with the kernel's own accounting (the smaps method): the
 * exact totals of `smaps_rollup`, or, when mappings are wanted, `smaps` per VMA
 * (whose Pss lines the kernel rounds down to whole KiB each, so the rows' sum
 * can sit a few KiB below the rollup's total).
 *
 * @throws {ProcError} when the files cannot be read.
 */
function measureBySmaps(
  context: MeasureContext,
  pid: number,
  stat: ProcessStat,
  status: ProcessStatus,
  withMappings: boolean,
): ProcessReport {
  const base = {
    pid,
    name: stat.name,
    uid: status.uid,
    ppid: stat.ppid,
    startTime: stat.startTime,
    vss: status.virtual,
    state: "ok" as const,
    error: null,
    method: "smaps" as const,
    notes: [],
  };
  // smaps says how much is swapped, not which slots others reference.
  const unknown = (usage: Usage) => usage.swap > 0 ? { unknown: ["swapUss" as const] } : {};
  if (!withMappings) {
    const usage = usageFromSmaps(readSmapsRollup(context.procRoot, pid));
    return { ...base, usage, ...unknown(usage) };
  }
  const table = readSmaps(context.procRoot, pid, context.pageSize);
  const count = table.ranges.count;
  const usageAt = (index: number) => usageFromSmaps(smapsFieldsAt(table, index));
  const total = emptyUsage();
  for (let index = 0; index < count; index++) addUsage(total, usageAt(index));
  const mappings = mappingList(
    count,
    (index) => ({ vma: smapsVmaAt(table, index), usage: usageAt(index) }),
    usageAt,
  );
  return { ...base, usage: total, mappings, ...unknown(total) };
}

/** Whether smaps, then pagemap where pages may be shared, beats pagemap for all `vmas`. */
function smapsFirst(status: ProcessStatus, vmas: number, pageSize: number): boolean {
  const virtualPages = status.virtual / pageSize;
  const unmappedPages = virtualPages - (status.rss + status.swap) / pageSize;
  return virtualPages > SPARSE_MIN_PAGES && unmappedPages > vmas * SMAPS_VMA_PAGES;
}

/**
 * Whether a VMA needs its pagemap read: only pages some other page-table entry
 * also maps (smaps "Shared", mapcount > 1) can be shared with another process or
 * be the same frame twice in this one. Pages mapped once are unique, and smaps
 * already counted them exactly (per subpage, THP included).
 */
function holdsSharedPages(fields: SmapsFields): boolean {
  return fields.sharedClean + fields.sharedDirty + fields.sharedHugetlb > 0;
}

/** Settles the VMAs smaps fully accounts (those whose pagemap was not read) into the tally. */
function tallyPrivateVmas(
  table: SmapsTable,
  selected: Uint8Array,
  tally: ScanTally,
  pageSize: number,
  perVma: boolean,
): void {
  for (let index = 0; index < table.ranges.count; index++) {
    if (selected[index] === 1) continue;
    const fields = smapsFieldsAt(table, index);
    const slot = perVma ? index : 0;
    tally.exclusiveAnon[slot] += fields.anonymous / pageSize;
    tally.exclusiveFile[slot] += (fields.rss - fields.anonymous) / pageSize;
    tally.swapped[slot] += fields.swap / pageSize;
    tally.exclusiveHugetlb[slot] += fields.privateHugetlb / pageSize;
  }
}

/** VMAs walked together: their ranges, which to read, which are hugetlb. */
interface MapsPiece {
  ranges: MapRanges;
  /** Per VMA: read its pagemap. */
  selected: Uint8Array;
  /** Per VMA: hugetlb (never trust bit 56, count only in the hugetlb figures). */
  hugetlb: Uint8Array;
}

/** What a process's VMAs say, and how they are walked. */
interface ProcessMaps {
  /** The VMAs in address order, in one piece or in pieces read as the walk goes. */
  pieces: Iterator<MapsPiece>;
  /** Takes back a piece the walk is done with (its tables are reused). */
  release(piece: MapsPiece): void;
  /**
   * More than one piece of maps (thousands of VMAs, read during the walk or,
   * for per-mapping rows, before it): the walk reads ahead on every descriptor.
   */
  streamed: boolean;
  /** Number of VMAs (the per-mapping slots); read whole only when mappings were asked for. */
  count: number;
  /** VMA `index` as an object, when mappings were asked for. */
  vmaAt: ((index: number) => Vma) | null;
  /** Smaps fields and which VMAs are read through pagemap, when smaps was read. */
  smaps: { table: SmapsTable; selected: Uint8Array } | null;
}

/** The VMAs of one whole piece. */
function wholeMaps(
  piece: MapsPiece,
  vmaAt: ((index: number) => Vma) | null,
  smaps: SmapsTable | null,
): ProcessMaps {
  return {
    pieces: [piece][Symbol.iterator](),
    release() {},
    streamed: false,
    count: piece.ranges.count,
    vmaAt,
    smaps: smaps && { table: smaps, selected: piece.selected },
  };
}

/** The VMAs of `pid` from its smaps: pagemap is read only where pages may be shared. */
function readSmapsMaps(context: MeasureContext, pid: number, withMappings: boolean): ProcessMaps {
  const pageSize = context.pageSize;
  const smaps = readSmaps(context.procRoot, pid, pageSize);
  const { ranges } = smaps;
  const selected = new Uint8Array(ranges.count);
  const hugetlb = new Uint8Array(ranges.count);
  for (let index = 0; index < ranges.count; index++) {
    const fields = smapsFieldsAt(smaps, index);
    selected[index] = holdsSharedPages(fields) ? 1 : 0;
    hugetlb[index] = fields.kernelPageSize > pageSize ? 1 : 0;
  }
  const vmaAt = withMappings ? (index: number) => smapsVmaAt(smaps, index) : null;
  return wholeMaps({ ranges, selected, hugetlb }, vmaAt, smaps);
}

/** Tables of maps pieces given back by walks, for the next ones (a few at most). */
const spareRanges: MapRanges[] = [];
const MAX_SPARE_RANGES = READ_AHEAD + 2;
/** VMAs read through pagemap, none hugetlb: a run of ones and a run of zeros. */
let allSelected = new Uint8Array(0);
let noneHugetlb = new Uint8Array(0);

/** A piece of maps read without smaps: every VMA read, none hugetlb. */
function pagemapPiece(ranges: MapRanges): MapsPiece {
  if (allSelected.length < ranges.count) {
    allSelected = new Uint8Array(ranges.startPage.length).fill(1);
    noneHugetlb = new Uint8Array(ranges.startPage.length);
  }
  return { ranges, selected: allSelected, hugetlb: noneHugetlb };
}

function readProcessMaps(
  context: MeasureContext,
  pid: number,
  status: ProcessStatus,
  withMappings: boolean,
): ProcessMaps {
  // Hugetlb VMAs are told apart by smaps only (KernelPageSize).
  if (status.hugetlb > 0) return readSmapsMaps(context, pid, withMappings);
  return withMappings
    ? readEveryMapping(context, pid, status)
    : readMapsAsWalked(context, pid, status);
}

/**
 * The VMAs of `pid` with their labels, all kept for the per-mapping rows: in
 * arrays as long as each piece of maps (arrays grown as lines came held every
 * size they passed through until the next collection), read through one table.
 * A VMA's object is made when a view shows it: objects, or the maps text, for
 * tens of thousands of VMAs would outweigh everything else measuring keeps.
 */
function readEveryMapping(
  context: MeasureContext,
  pid: number,
  status: ProcessStatus,
): ProcessMaps {
  const pageSize = context.pageSize;
  const pieces: MapRanges[] = [];
  const bases: number[] = [];
  let count = 0;
  const scratch: MapRanges[] = [];
  for (const piece of readMapPieces(context.procRoot, pid, pageSize, scratch, true)) {
    pieces.push(trimmedRanges(piece));
    bases.push(count);
    count += piece.count;
    scratch.push(piece);
  }
  if (smapsFirst(status, count, pageSize)) return readSmapsMaps(context, pid, true);
  const vmaAt = (index: number) => {
    // The last piece whose first VMA is at or before `index`.
    let low = 0;
    let high = bases.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (bases[middle] <= index) low = middle;
      else high = middle - 1;
    }
    return vmaOf(pieces[low], index - bases[low]);
  };
  return {
    pieces: pieces.map(pagemapPiece)[Symbol.iterator](),
    release() {},
    streamed: pieces.length > 1,
    count,
    vmaAt,
    smaps: null,
  };
}

/**
 * The VMAs of `pid` for its totals, which need no VMA once it is walked: maps
 * is read a piece at a time as the walk goes, and only a few pieces are held.
 * Pieces are held until smaps is ruled out (more VMAs only make pagemap the
 * better choice).
 */
function readMapsAsWalked(
  context: MeasureContext,
  pid: number,
  status: ProcessStatus,
): ProcessMaps {
  const pageSize = context.pageSize;
  const reader = readMapPieces(context.procRoot, pid, pageSize, spareRanges);
  const held: MapRanges[] = [];
  let vmas = 0;
  let ended = false;
  try {
    // At least two pieces, to know whether there are more.
    while (smapsFirst(status, vmas, pageSize) || held.length < 2) {
      const step = reader.next();
      if (step.done) {
        ended = true;
        break;
      }
      held.push(step.value);
      vmas += step.value.count;
    }
  } catch (error) {
    reader.return(undefined);
    throw error;
  }
  const release = (ranges: MapRanges) => {
    if (spareRanges.length < MAX_SPARE_RANGES) spareRanges.push(ranges);
  };
  if (ended && smapsFirst(status, vmas, pageSize)) {
    held.forEach(release);
    return readSmapsMaps(context, pid, false);
  }
  function* pieces(): Generator<MapsPiece> {
    try {
      for (const ranges of held) yield pagemapPiece(ranges);
      held.length = 0;
      for (const ranges of reader) yield pagemapPiece(ranges);
    } finally {
      reader.return(undefined);
    }
  }
  return {
    pieces: pieces(),
    release: (piece) => release(piece.ranges),
    streamed: !ended,
    count: vmas,
    vmaAt: null,
    smaps: null,
  };
}

/** Per VMA of `piece`: the key of its file when the tool maps that file too, else null. */
function sharedWithSelf(context: MeasureContext, piece: MapsPiece): (string | null)[] | null {
  const self = context.self;
  if (self === null) return null;
  const { ranges, selected } = piece;
  let keys: (string | null)[] | null = null;
  for (let index = 0; index < ranges.count; index++) {
    const inode = ranges.inode[index];
    if (inode === 0 || selected[index] === 0 || !self.inodes.has(inode)) continue;
    const key = fileKey(ranges.device[index], ranges.inode[index]);
    if (!self.byFile.has(key)) continue;
    keys ??= new Array(ranges.count).fill(null);
    keys[index] = key;
  }
  return keys;
}

/**
 * Slots the census did not see (swapped out since): referenced at least by this
 * entry, so counted once.
 */
function countLateSlots(slots: FrameTable, refs: FrameRefs): void {
  const { pfns, length } = refs.swap;
  for (let i = 0; i < length; i++) {
    if (pfns[i] >= slots.counts.length) ensureFrame(slots, pfns[i]);
    if (slots.counts[pfns[i]] === COUNT_UNKNOWN) setFrameCount(slots, pfns[i], 1);
  }
}

/** A piece being walked: where its VMAs start among the process's, and its reads. */
interface PieceWalk {
  piece: MapsPiece;
  /** Index of its first VMA among the process's (the slot of per-mapping figures). */
  base: number;
  plan: ReadPlan;
}

/**
 * A pagemap read costs a round trip to the thread pool (~30 µs) but runs
 * beside the scan; in place it costs ~3-12 ns per page and ~0.6 µs per VMA
 * the kernel walks. Reads of this many VMAs go to the pool too.
 */
const ASYNC_MIN_VMAS = 64;

/** Whether run `at` of `plan` is read on the thread pool rather than in place. */
function readsOnPool(plan: ReadPlan, at: number): boolean {
  return plan.pages[at] >= ASYNC_MIN_PAGES || plan.vmas[at] >= ASYNC_MIN_VMAS;
}

/**
 * Walks the selected VMAs' pagemap into `tally` and batches of references
 * handed to `sink`; the next reads are under way while a run is scanned, and
 * pieces of maps still to come are read meanwhile.
 */
async function walkPagemap(
  context: MeasureContext,
  pid: number,
  maps: ProcessMaps,
  perVma: boolean,
  tally: ScanTally,
  sink: RefSink,
): Promise<void> {
  // Runs planned and not yet scanned, in a ring: the one being scanned and
  // those in flight (at most sink.readAhead ≤ READ_AHEAD). Run r is `runs[r % ring]`'s run
  // `runAt[r % ring]`.
  const ring = READ_AHEAD + 1;
  const runs: PieceWalk[] = new Array(ring);
  const runAt = new Float64Array(ring);
  let planning: PieceWalk | null = null;
  let planNext = 0;
  let planned = 0;
  let nextBase = 0;
  /** Plans run number `planned` (reading a piece of maps when needed); false when none is left. */
  const planRun = (): boolean => {
    while (planning === null || planNext === planning.plan.count) {
      const step = maps.pieces.next();
      if (step.done) return false;
      const piece = step.value;
      const plan = planReads(
        piece.ranges,
        piece.selected,
        CHUNK_PAGES,
        MAX_GAP_PAGES,
        context.pmdPages,
      );
      planning = { piece, base: nextBase, plan };
      planNext = 0;
      nextBase += piece.ranges.count;
      if (plan.count === 0) maps.release(piece);
    }
    runs[planned % ring] = planning;
    runAt[planned % ring] = planNext++;
    planned++;
    return true;
  };
  let current: PieceWalk | null = null;
  const pagemaps: PagemapFile[] = [];
  const pending: Promise<number>[] = new Array(ring);
  // The batch being filled; null once delivered at the end, so that every
  // batch taken goes back (a batch per process left to the GC grows the heap
  // with the number of processes).
  let refs: FrameRefs | null = null;
  try {
    if (!planRun()) return;
    // Reads in flight while a run is scanned: more than one only when several
    // runs are large enough to be read on the thread pool, or maps comes in
    // pieces (another descriptor costs an open, worth it only then).
    let large = 0;
    const first = planning!.plan;
    for (let run = 0; run < first.count && large < 2; run++) {
      if (readsOnPool(first, run)) large++;
    }
    const ahead = large < 2 && !maps.streamed ? 1 : sink.readAhead;
    pagemaps.push(openPagemap(context.procRoot, pid));
    const buffers = sink.buffers;
    while (buffers.length <= ahead) buffers.push(new Uint8Array(CHUNK_PAGES * 8));
    // Run r is read on descriptor r % ahead into buffer r % (ahead + 1): the runs
    // in flight at once (r + 1 … r + ahead) never share either, nor the run scanned.
    const read = (run: number): void => {
      const { plan } = runs[run % ring];
      const at = runAt[run % ring];
      const pages = plan.pages[at];
      const buffer = buffers[run % (ahead + 1)].subarray(0, pages * 8);
      const pagemap = pagemaps[run % ahead] ??= openPagemap(context.procRoot, pid);
      const reading = readsOnPool(plan, at)
        ? readPagemapAsync(pagemap, plan.firstPage[at], buffer)
        : Promise.resolve().then(() => readPagemap(pagemap, plan.firstPage[at], buffer));
      // Awaited below, or abandoned when an earlier step throws: never unhandled.
      reading.catch(() => {});
      pending[run % ring] = reading;
    };
    const target: ScanTarget = {
      slot: 0,
      hugetlb: false,
      exclusiveShortcut: context.exclusiveShortcut,
      pmdPages: context.pmdPages,
      swapSlots: sink.swapSlots !== null,
    };
    refs = sink.batch();
    const flush = async (last: boolean) => {
      const full = refs!;
      if (full.length === 0 && full.swap.length === 0) return;
      if (sink.swapSlots) countLateSlots(sink.swapSlots, full);
      await fetchCounts(sink.table, full, sink.counts, sink.selfFrames);
      if (context.self) await verifySelfFrames(sink.selfFrames, sink.table, sink.counts);
      refs = last ? null : sink.batch();
      await sink.deliver(full);
    };
    read(0);
    for (let run = 1; run < ahead && planRun(); run++) read(run);
    let cursor = 0;
    let selfKeys: (string | null)[] | null = null;
    for (let run = 0; run < planned; run++) {
      const entries = await pending[run % ring];
      const walk = runs[run % ring];
      const at = runAt[run % ring];
      // The next read may read the next piece of maps, while this run's
      // piece is held: a piece is given back once its last run is scanned.
      if (run + ahead === planned && planRun()) read(run + ahead);
      if (walk !== current) {
        if (current !== null) maps.release(current.piece);
        current = walk;
        cursor = 0;
        selfKeys = sharedWithSelf(context, walk.piece);
      }
      const { ranges, selected, hugetlb } = walk.piece;
      const runStart = walk.plan.firstPage[at];
      const runEnd = runStart + walk.plan.pages[at];
      const limit = runStart + entries;
      if (refs!.length + entries > refs!.pfns.length) await flush(false);
      const words = new Int32Array(buffers[run % (ahead + 1)].buffer, 0, entries * 2);
      // Neighbouring VMAs that differ in nothing the scan needs (the same slot
      // and kind, no file shared with the tool) are scanned as one segment, holes
      // between them included (they read as zero entries): a JVM has tens of
      // thousands. A PMD block never spans two VMAs, so the PMD check cannot be
      // fooled by the merge (at worst it counts more frames).
      let segmentFrom = -1;
      let segmentTo = -1;
      const scanSegment = () => {
        if (segmentTo <= segmentFrom) return;
        scanPagemapEntries(
          words,
          segmentFrom - runStart,
          segmentTo - segmentFrom,
          segmentFrom,
          target,
          tally,
          refs!,
          sink.table,
        );
      };
      for (; cursor < ranges.count; cursor++) {
        if (selected[cursor] === 0) continue;
        const start = ranges.startPage[cursor];
        const end = ranges.endPage[cursor];
        if (start >= runEnd) break;
        const from = Math.max(start, runStart);
        const to = Math.min(end, limit);
        if (to > from) {
          const slot = perVma ? walk.base + cursor : 0;
          const isHugetlb = hugetlb[cursor] === 1;
          const key = selfKeys?.[cursor];
          if (slot !== target.slot || isHugetlb !== target.hugetlb || key || segmentTo < 0) {
            scanSegment();
            target.slot = slot;
            target.hugetlb = isHugetlb;
            segmentFrom = from;
          }
          segmentTo = to;
          if (key) {
            scanSegment();
            const offset = from - runStart;
            const filePage = ranges.offsetPage[cursor] + (from - start);
            matchSelfFrames(
              context.self!,
              sink.selfFrames,
              sink.table,
              sink.counts.selfChecks,
              key,
              words,
              offset,
              to - from,
              filePage,
            );
            segmentFrom = segmentTo = -1;
          }
        }
        if (end > runEnd) break; // the VMA goes on in the next run
      }
      scanSegment();
    }
    await flush(true);
  } catch (error) {
    // Frames this batch marked pending will not be read by it: give them up.
    if (refs !== null) releaseUnread(sink.table, refs, sink.counts);
    throw error;
  } finally {
    if (refs !== null) {
      clearFrameRefs(refs);
      sink.recycle(refs);
    }
    await Promise.allSettled(pending); // slots never used hold undefined: settled at once
    for (const pagemap of pagemaps) pagemap.file.close();
    if (current !== null) maps.release(current.piece);
    maps.pieces.return?.(undefined);
  }
}

/**
 * Reads process `pid`: a final report when it cannot be measured or the method
 * is smaps, otherwise a scan whose references went to `sink`.
 *
 * @throws {EnvironmentError} when the sandbox refuses procfs.
 */
export async function scanProcess(
  context: MeasureContext,
  pid: number,
  withMappings: boolean,
  sink: RefSink | null,
): Promise<ScanOutcome> {
  const root = context.procRoot;
  let stat: ProcessStat | null = null;
  let uid: number | null = null;
  try {
    stat = readStat(root, pid);
    if (stat.kernelThread) {
      return { kind: "report", report: failedReport(pid, "kernel-thread", stat) };
    }
    const status = readStatus(root, pid);
    uid = status.uid;
    if (stat.state === "Z") {
      return { kind: "report", report: failedReport(pid, "zombie", stat, uid) };
    }
    if (context.method === "smaps" || sink === null) {
      return { kind: "report", report: measureBySmaps(context, pid, stat, status, withMappings) };
    }
    const pageSize = context.pageSize;
    const maps = readProcessMaps(context, pid, status, withMappings);
    const slots = withMappings ? maps.count : 1;
    const tally = createScanTally(slots);
    sink.open(slots);
    await walkPagemap(context, pid, maps, withMappings, tally, sink);
    if (maps.smaps) {
      tallyPrivateVmas(maps.smaps.table, maps.smaps.selected, tally, pageSize, withMappings);
    }
    const failed = (message: string): ScanOutcome => ({
      kind: "report",
      report: failedReport(pid, "error", stat, uid, message),
    });
    if (tally.presentBeyond32Bits > 0) {
      return failed("physical frame numbers beyond 2^32 are not supported");
    }
    if (tally.presentWithoutPfn > 0) {
      if (context.forced) return failed("the kernel hid physical frame numbers of this process");
      return { kind: "report", report: measureBySmaps(context, pid, stat, status, withMappings) };
    }
    return {
      kind: "scan",
      scan: { pid, stat, uid, vmaAt: maps.vmaAt, slots, tally, vss: status.virtual },
    };
  } catch (error) {
    return { kind: "report", report: reportForError(context, pid, error, stat, uid) };
  }
}
