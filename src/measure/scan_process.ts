/**
 * Reads one process: who it is (`stat`, `status`), its VMAs (`maps`, or `smaps`
 * when that lets the walk skip empty address space) and its pagemap.
 *
 * @module
 */

import {
  createFrameRefs,
  createScanTally,
  type FrameRefs,
  scanPagemapEntries,
  type ScanTally,
} from "../accounting/pagemap_scan.ts";
import { usageFromSmaps } from "../accounting/smaps_usage.ts";
import { addUsage, emptyUsage } from "../accounting/usage.ts";
import { ProcError } from "../procfs/files.ts";
import { readMaps, readSmaps, readSmapsRollup, type SmapsVma, type Vma } from "../procfs/maps.ts";
import { openPagemap, type PagemapFile, readPagemap } from "../procfs/pagemap.ts";
import {
  type ProcessStat,
  type ProcessStatus,
  readStat,
  readStatus,
} from "../procfs/process_info.ts";
import { EnvironmentError, type MeasureContext, sandboxMessage } from "./context.ts";
import type { ProcessReport, ProcessState } from "./types.ts";

/** Pages per pagemap read: 512 KiB of entries, 2 MiB-aligned so no PMD block is split. */
const CHUNK_PAGES = 65536;

/**
 * A process is "sparse" when its address space is this many times larger than
 * what is resident: reading smaps first (a walk of resident pages only) then
 * beats reading pagemap for every reserved page (~12 ns per page).
 */
const SPARSE_RATIO = 4;
/** Small processes are read directly whatever their ratio (pages). */
const SPARSE_MIN_PAGES = 16384;

/** A process walked for the kpagecount method, waiting for its frames' counts. */
export interface ProcessScan {
  pid: number;
  stat: ProcessStat;
  uid: number;
  vmas: Vma[];
  tally: ScanTally;
  refs: FrameRefs;
}

/** Either a finished report (failure, or the smaps method) or a scan to count. */
export type ScanOutcome =
  | { kind: "report"; report: ProcessReport }
  | { kind: "scan"; scan: ProcessScan };

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
 * failedReport(42, "no-such-process");
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
  switch (error.kind) {
    case "sandbox":
      throw new EnvironmentError(sandboxMessage(error.path, context.procRoot));
    case "not-found":
      return failedReport(pid, stat ? "exited" : "no-such-process", stat, uid);
    case "gone":
      return failedReport(pid, "exited", stat, uid);
    case "permission":
      return failedReport(pid, "permission-denied", stat, uid);
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
export function measureBySmaps(
  context: MeasureContext,
  pid: number,
  stat: ProcessStat,
  uid: number,
  withMappings: boolean,
): ProcessReport {
  const base = {
    pid,
    name: stat.name,
    uid,
    ppid: stat.ppid,
    startTime: stat.startTime,
    state: "ok" as const,
    error: null,
    method: "smaps" as const,
    notes: [],
  };
  if (!withMappings) {
    return { ...base, usage: usageFromSmaps(readSmapsRollup(context.procRoot, pid)) };
  }
  const total = emptyUsage();
  const mappings = readSmaps(context.procRoot, pid, context.pageSize).map((vma) => {
    const usage = usageFromSmaps(vma.smaps);
    addUsage(total, usage);
    return { vma, usage };
  });
  return { ...base, usage: total, mappings };
}

function isSparse(status: ProcessStatus, pageSize: number): boolean {
  const virtualPages = status.virtual / pageSize;
  const residentPages = (status.rss + status.swap) / pageSize;
  return virtualPages > SPARSE_MIN_PAGES && virtualPages > SPARSE_RATIO * residentPages;
}

/**
 * Whether a VMA needs its pagemap read: only pages some other page-table entry
 * also maps (smaps "Shared", mapcount > 1) can be shared with another process or
 * be the same frame twice in this one. Pages mapped once are unique, and smaps
 * already counted them exactly (per subpage, THP included).
 */
function holdsSharedPages(vma: SmapsVma): boolean {
  const fields = vma.smaps;
  return fields.sharedClean + fields.sharedDirty + fields.sharedHugetlb > 0;
}

/** Settles the VMAs smaps fully accounts (no shared page) into the tally. */
function tallyPrivateVmas(vmas: SmapsVma[], tally: ScanTally, pageSize: number): void {
  for (let index = 0; index < vmas.length; index++) {
    const fields = vmas[index].smaps;
    if (holdsSharedPages(vmas[index])) continue;
    tally.exclusiveAnon[index] = fields.anonymous / pageSize;
    tally.exclusiveFile[index] = (fields.rss - fields.anonymous) / pageSize;
    tally.swapped[index] = fields.swap / pageSize;
    tally.exclusiveHugetlb[index] = fields.privateHugetlb / pageSize;
  }
}

/** A run of pages of one VMA read with one pagemap read. */
interface Chunk {
  vma: number;
  page: number;
  pages: number;
}

/** Splits the selected VMAs into reads that never cross a 2 MiB-aligned block. */
function planChunks(vmas: Vma[], selected: (index: number) => boolean): Chunk[] {
  const chunks: Chunk[] = [];
  for (let index = 0; index < vmas.length; index++) {
    if (!selected(index)) continue;
    const { startPage, endPage } = vmas[index];
    for (let page = startPage; page < endPage;) {
      const end = Math.min(endPage, (Math.floor(page / CHUNK_PAGES) + 1) * CHUNK_PAGES);
      chunks.push({ vma: index, page, pages: end - page });
      page = end;
    }
  }
  return chunks;
}

let pagemapBuffer: Uint8Array | null = null;

/** One read buffer for every walk of a run: allocating 512 KiB per process feeds the GC. */
function sharedPagemapBuffer(): Uint8Array {
  pagemapBuffer ??= new Uint8Array(CHUNK_PAGES * 8);
  return pagemapBuffer;
}

function walkPagemap(
  context: MeasureContext,
  pagemap: PagemapFile,
  vmas: Vma[],
  selected: (index: number) => boolean,
  hugetlb: (index: number) => boolean,
  expectedPages: number,
): { tally: ScanTally; refs: FrameRefs } {
  const tally = createScanTally(vmas.length);
  // Sized for every resident page: growing copies, and untouched capacity costs
  // no memory (large typed arrays are backed lazily by the kernel).
  const refs = createFrameRefs(Math.max(1024, expectedPages));
  const buffer = sharedPagemapBuffer();
  const words = new Int32Array(buffer.buffer);
  for (const chunk of planChunks(vmas, selected)) {
    const entries = readPagemap(pagemap, chunk.page, buffer.subarray(0, chunk.pages * 8));
    scanPagemapEntries(
      words,
      entries,
      chunk.page,
      {
        vma: chunk.vma,
        hugetlb: hugetlb(chunk.vma),
        exclusiveShortcut: context.exclusiveShortcut,
      },
      tally,
      refs,
    );
  }
  return { tally, refs };
}

/**
 * Reads process `pid`: a final report when it cannot be measured or the method
 * is smaps, otherwise a scan whose frames still need their kpagecounts.
 *
 * @throws {EnvironmentError} when the sandbox refuses procfs.
 */
export function scanProcess(
  context: MeasureContext,
  pid: number,
  withMappings: boolean,
): ScanOutcome {
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
    if (context.method === "smaps") {
      return { kind: "report", report: measureBySmaps(context, pid, stat, uid, withMappings) };
    }
    const pageSize = context.pageSize;
    const viaSmaps = status.hugetlb > 0 || isSparse(status, pageSize);
    const vmas: Vma[] = viaSmaps ? readSmaps(root, pid, pageSize) : readMaps(root, pid, pageSize);
    const pagemap = openPagemap(root, pid);
    try {
      const smapsVmas = vmas as SmapsVma[];
      const { tally, refs } = walkPagemap(
        context,
        pagemap,
        vmas,
        viaSmaps ? (index) => holdsSharedPages(smapsVmas[index]) : () => true,
        viaSmaps ? (index) => smapsVmas[index].smaps.kernelPageSize > pageSize : () => false,
        Math.ceil((status.rss + status.hugetlb) / pageSize),
      );
      if (viaSmaps) tallyPrivateVmas(smapsVmas, tally, pageSize);
      if (tally.presentWithoutPfn > 0) {
        if (context.forced) {
          return {
            kind: "report",
            report: failedReport(
              pid,
              "error",
              stat,
              uid,
              "the kernel hid physical frame numbers of this process",
            ),
          };
        }
        return {
          kind: "report",
          report: measureBySmaps(context, pid, stat, uid, withMappings),
        };
      }
      return { kind: "scan", scan: { pid, stat, uid, vmas, tally, refs } };
    } finally {
      pagemap.file.close();
    }
  } catch (error) {
    return { kind: "report", report: reportForError(context, pid, error, stat, uid) };
  }
}
