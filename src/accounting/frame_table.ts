/**
 * What a run knows about physical frames, indexed by frame number (PFN), and the
 * one accounting rule that turns page-table entries into figures.
 *
 * The rule (README, "Methods"): a frame is unique to a process, or to a group of
 * processes, when its kpagecount (less the entries the measuring tool itself
 * holds) equals the number of that process's (group's) own entries mapping it.
 * So a file mapped twice, or pages KSM merged inside one process, stay unique,
 * and memory shared only inside a group is the group's. PSS adds
 * `PAGE_SIZE / count` per entry, untruncated. Frames with kpagecount 0 (the zero
 * page, untracked PFNs) are not resident.
 *
 * Memory is bounded by the machine, not by what it runs: per frame, the count
 * (2 bytes), one bit "already seen in this process" and, when groups are
 * accounted, a group entry counter (1 byte, wider counters only for frames that
 * one group maps 255 times or more). Processes are accounted one after another
 * and groups member after member, so these scratch values are per process and per
 * group; they are reset lazily, a block of frames at a time, by epoch stamps,
 * never by a pass over the whole table. Large typed arrays are backed by memory
 * only where they are written, so a table costs what the frames in use touch.
 *
 * Pure: no I/O.
 *
 * @module
 */

import type { FrameRefs } from "./pagemap_scan.ts";

/** A referenced frame is a file or shmem page (pagemap bit 61). */
export const FRAME_FILE = 1;
/** A referenced frame belongs to a hugetlb mapping. */
export const FRAME_HUGETLB = 2;

/** `counts` value: the frame's kpagecount was not read yet. */
export const COUNT_UNKNOWN = 0;
/** `counts` value: a read of the frame's kpagecount is under way. */
export const COUNT_PENDING = 1;
/** `counts` value: the count is too large for 16 bits; see `largeCounts`. */
export const COUNT_LARGE = 2;
/** `counts` value: kpagecount 0, the frame is not resident memory (zero page, untracked). */
export const COUNT_NOT_RESIDENT = 3;
/** `counts` value for a count `n`: `COUNT_BASE + n`. */
export const COUNT_BASE = 4;
const MAX_DIRECT_COUNT = 0xffff - COUNT_BASE;

/** 32-bit words of `counts` in a 4 KiB page (what a reset clears or leaves alone). */
const PAGE_WORDS = 1024;
/** Frames per epoch stamp: the granularity of lazy resets. */
const BLOCK_FRAMES = 32;
const BLOCK_SHIFT = 5;
/** Group counters at this value continue in the wide chunks. */
const GROUP_SATURATED = 0xff;
/** Frames per wide group-counter chunk. */
const WIDE_CHUNK_SHIFT = 12;
const WIDE_CHUNK_FRAMES = 1 << WIDE_CHUNK_SHIFT;

/** Per-frame state of one run. */
export interface FrameTable {
  /**
   * Per PFN: {@link COUNT_UNKNOWN}, {@link COUNT_PENDING}, {@link COUNT_LARGE},
   * {@link COUNT_NOT_RESIDENT}, or `COUNT_BASE + n` where `n` is the number of
   * entries mapping the frame that are not the tool's own.
   */
  counts: Uint16Array;
  /** Counts of frames marked {@link COUNT_LARGE}. */
  largeCounts: Map<number, number>;
  /** One bit per frame: the current process has an entry for it. */
  seen: Uint32Array;
  /** The process epoch each word of `seen` belongs to. */
  seenStamps: Uint32Array;
  processEpoch: number;
  /** Entries of the current process beyond its first, for frames it maps more than once. */
  repeats: Map<number, number>;
  /** Per frame: entries of the current group (saturating; see `wideGroupCounts`). */
  groupCounts: Uint8Array;
  /** The group epoch each block of `groupCounts` belongs to. */
  groupStamps: Uint32Array;
  groupEpoch: number;
  /** Group counters of frames whose `groupCounts` saturated, by chunk of PFNs. */
  wideGroupCounts: (Uint32Array | undefined)[];
}

/**
 * Creates a table for frame numbers below `frames` (it grows if a larger one
 * turns up).
 *
 * @example
 * ```ts
 * import { createFrameTable } from "./frame_table.ts";
 * const table = createFrameTable(1 << 20); // 4 GiB of 4 KiB frames
 * table.counts.length; // 1048576
 * ```
 */
export function createFrameTable(frames: number): FrameTable {
  const size = Math.max(BLOCK_FRAMES, Math.ceil(frames / BLOCK_FRAMES) * BLOCK_FRAMES);
  return {
    counts: new Uint16Array(size),
    largeCounts: new Map(),
    seen: new Uint32Array(size / BLOCK_FRAMES),
    seenStamps: new Uint32Array(size / BLOCK_FRAMES),
    processEpoch: 0,
    repeats: new Map(),
    groupCounts: new Uint8Array(0),
    groupStamps: new Uint32Array(0),
    groupEpoch: 0,
    wideGroupCounts: [],
  };
}

/**
 * Empties a table for another measurement, keeping its arrays: what it knew
 * (counts, marks, group counters) is forgotten, as in a new table. An exporter
 * or `--watch` measures again and again; fresh tables of tens of MiB each time
 * would pile up until the garbage collector runs.
 *
 * @example
 * ```ts
 * import { COUNT_BASE, createFrameTable, resetFrameTable } from "./frame_table.ts";
 * const table = createFrameTable(1024);
 * table.counts[7] = COUNT_BASE + 2;
 * resetFrameTable(table);
 * table.counts[7]; // 0 (COUNT_UNKNOWN)
 * ```
 */
export function resetFrameTable(table: FrameTable): void {
  // Only the pages of `counts` something was written to are cleared. Filling
  // it all would make every page resident (12 MiB per 24 GiB of RAM) from the
  // second measurement on, while reading a page never written costs no memory.
  const { counts } = table;
  const words = new Int32Array(counts.buffer, counts.byteOffset, counts.length >>> 1);
  for (let page = 0; page < words.length; page += PAGE_WORDS) {
    const end = Math.min(words.length, page + PAGE_WORDS);
    for (let i = page; i < end; i++) {
      if (words[i] !== 0) {
        words.fill(0, page, end);
        break;
      }
    }
  }
  table.largeCounts.clear();
  table.repeats.clear();
  // The marks and group counters need nothing: they are stamped with epochs,
  // which go on counting, so the next process and group find them stale.
}

function grown<T extends Uint8Array | Uint16Array | Uint32Array>(array: T, length: number): T {
  if (array.length === 0 || array.length >= length) return array;
  const larger = new (array.constructor as new (length: number) => T)(length);
  larger.set(array);
  return larger;
}

/**
 * Makes room for frame number `pfn` (doubling, so growth is rare).
 *
 * @throws {RangeError} for frame numbers from 2^32 on.
 * @example
 * ```ts
 * import { createFrameTable, ensureFrame } from "./frame_table.ts";
 * const table = createFrameTable(1024);
 * ensureFrame(table, 5000);
 * table.counts.length; // 8192
 * ```
 */
export function ensureFrame(table: FrameTable, pfn: number): void {
  if (pfn < table.counts.length) return;
  // Frame numbers index 32-bit words below (16 TiB of physical address space).
  if (pfn >= 2 ** 32) throw new RangeError(`frame number ${pfn} is beyond 2^32`);
  let size = table.counts.length * 2;
  while (size <= pfn) size *= 2;
  const blocks = size / BLOCK_FRAMES;
  table.counts = grown(table.counts, size);
  table.seen = grown(table.seen, blocks);
  table.seenStamps = grown(table.seenStamps, blocks);
  table.groupCounts = grown(table.groupCounts, size);
  table.groupStamps = grown(table.groupStamps, blocks);
  if (table.groupCounts.length > 0) sizeWideChunks(table);
}

/**
 * Gives `wideGroupCounts` one element per chunk of frames, so that it stays a
 * dense array: assigning far past the end of an empty one turns it into a
 * dictionary, and every saturated entry (a frame mapped by hundreds of members)
 * then paid a hash lookup.
 */
function sizeWideChunks(table: FrameTable): void {
  const chunks = Math.ceil(table.counts.length / WIDE_CHUNK_FRAMES);
  const wide = table.wideGroupCounts;
  while (wide.length < chunks) wide.push(undefined);
}

/**
 * Records a frame's kpagecount `raw`, less `own` entries the measuring tool
 * itself holds on it.
 *
 * @example
 * ```ts
 * import { createFrameTable, frameCount, setFrameCount } from "./frame_table.ts";
 * const table = createFrameTable(64);
 * setFrameCount(table, 42, 3, 1); // kpagecount 3, one of them the tool's own entry
 * frameCount(table, 42); // 2
 * ```
 */
export function setFrameCount(table: FrameTable, pfn: number, raw: number, own = 0): void {
  if (raw === 0) {
    table.counts[pfn] = COUNT_NOT_RESIDENT;
    return;
  }
  const others = raw > own ? raw - own : 0;
  if (others <= MAX_DIRECT_COUNT) {
    table.counts[pfn] = COUNT_BASE + others;
    table.largeCounts.delete(pfn);
  } else {
    table.counts[pfn] = COUNT_LARGE;
    table.largeCounts.set(pfn, others);
  }
}

/**
 * A frame's recorded count (entries other than the tool's own), -1 when it is
 * not resident.
 *
 * @throws {RangeError} when the count was never recorded.
 * @example
 * ```ts
 * import { createFrameTable, frameCount, setFrameCount } from "./frame_table.ts";
 * const table = createFrameTable(64);
 * setFrameCount(table, 7, 0); // kpagecount 0: the zero page, say
 * frameCount(table, 7); // -1
 * ```
 */
export function frameCount(table: FrameTable, pfn: number): number {
  const value = table.counts[pfn];
  if (value >= COUNT_BASE) return value - COUNT_BASE;
  if (value === COUNT_NOT_RESIDENT) return -1;
  if (value === COUNT_LARGE) return table.largeCounts.get(pfn)!;
  throw new RangeError(`frame ${pfn} has no recorded count`);
}

/**
 * Starts accounting a new process: its "seen" bits and repeat counts start empty.
 *
 * @example
 * ```ts
 * import { beginProcess, createFrameTable } from "./frame_table.ts";
 * const table = createFrameTable(64);
 * beginProcess(table); // before the first batch of each process
 * table.processEpoch; // 1
 * ```
 */
export function beginProcess(table: FrameTable): void {
  table.repeats.clear();
  if (++table.processEpoch > 0xffff_fffe) {
    table.seenStamps.fill(0);
    table.processEpoch = 1;
  }
}

/**
 * Starts accounting a new group: its entry counters start at zero. The first
 * call allocates the group counters.
 *
 * @example
 * ```ts
 * import { beginGroup, createFrameTable } from "./frame_table.ts";
 * const table = createFrameTable(64);
 * beginGroup(table); // before the first member of each group
 * table.groupCounts.length; // 64
 * ```
 */
export function beginGroup(table: FrameTable): void {
  if (table.groupCounts.length === 0) {
    table.groupCounts = new Uint8Array(table.counts.length);
    table.groupStamps = new Uint32Array(table.counts.length / BLOCK_FRAMES);
    sizeWideChunks(table);
  }
  if (++table.groupEpoch > 0xffff_fffe) {
    table.groupStamps.fill(0);
    table.groupEpoch = 1;
  }
}

/** Offsets of the figures of one slot (a mapping, or the whole process) in a figures array. */
export const USS_ANON = 0;
/** See {@link USS_ANON}. */
export const USS_FILE = 1;
/** See {@link USS_ANON}. */
export const PSS = 2;
/** See {@link USS_ANON}. */
export const RSS = 3;
/** See {@link USS_ANON}. */
export const HUGETLB = 4;
/** See {@link USS_ANON}. */
export const HUGETLB_USS = 5;
/** See {@link USS_ANON}. */
export const RAM = 6;
/** Figures per slot. */
export const FIELDS = 7;

/** A process being accounted: its figures per slot, in bytes. */
export interface ProcessAccount {
  /** `slots × FIELDS` figures, indexed by the offsets above. */
  figures: Float64Array;
  /**
   * Frames whose recorded count was below this process's own entries: the
   * count was read before the frame was mapped again, or the frame moved.
   */
  moved: number[];
  /** Count the entries of the tool and its launchers too (when one of them is measured). */
  includeSelf: boolean;
}

/** The group figures accumulated from frame references, in bytes. */
export interface GroupAccount {
  ussAnon: number;
  ussFile: number;
  hugetlbUss: number;
  /** Distinct resident frames (hugetlb aside). */
  ram: number;
}

/**
 * Creates the account of a process with `slots` slots.
 *
 * @example
 * ```ts
 * import { createProcessAccount, FIELDS, RSS } from "./frame_table.ts";
 * const account = createProcessAccount(3); // one slot per mapping
 * account.figures.length === 3 * FIELDS; // true
 * account.figures[2 * FIELDS + RSS]; // 0: the RSS of the third mapping
 * ```
 */
export function createProcessAccount(slots: number, includeSelf = false): ProcessAccount {
  return { figures: new Float64Array(Math.max(1, slots) * FIELDS), moved: [], includeSelf };
}

/**
 * Forgets the recorded counts of `pfns` (frames that moved), so that the next
 * reader reads them afresh.
 *
 * @example
 * ```ts
 * import { COUNT_UNKNOWN, createFrameTable, forgetCounts, setFrameCount } from "./frame_table.ts";
 * const table = createFrameTable(64);
 * setFrameCount(table, 42, 2);
 * forgetCounts(table, [42]); // e.g. the frames of `account.moved`
 * table.counts[42] === COUNT_UNKNOWN; // true
 * ```
 */
export function forgetCounts(table: FrameTable, pfns: readonly number[]): void {
  for (const pfn of pfns) {
    if (table.counts[pfn] !== COUNT_PENDING) table.counts[pfn] = COUNT_UNKNOWN;
    table.largeCounts.delete(pfn);
  }
}

function clearGroupBlock(table: FrameTable, block: number): void {
  const start = block << BLOCK_SHIFT;
  table.groupCounts.fill(0, start, start + BLOCK_FRAMES);
  const wide = table.wideGroupCounts[start >>> WIDE_CHUNK_SHIFT];
  if (wide) {
    const offset = start & (WIDE_CHUNK_FRAMES - 1);
    wide.fill(0, offset, offset + BLOCK_FRAMES);
  }
}

function addToSlot(
  figures: Float64Array,
  slot: number,
  pageSize: number,
  ussAnon: number,
  ussFile: number,
  pss: number,
  rss: number,
  hugetlb: number,
  hugetlbUss: number,
  ram: number,
): void {
  const base = slot * FIELDS;
  figures[base + USS_ANON] += ussAnon * pageSize;
  figures[base + USS_FILE] += ussFile * pageSize;
  figures[base + PSS] += pss * pageSize;
  figures[base + RSS] += rss * pageSize;
  figures[base + HUGETLB] += hugetlb * pageSize;
  figures[base + HUGETLB_USS] += hugetlbUss * pageSize;
  figures[base + RAM] += ram * pageSize;
}

/**
 * Accounts a batch of the current process's frame references: RSS, PSS and USS
 * into the slot of each entry (a frame becomes unique at the entry that makes the
 * process's own entries reach its count; it enters RAM at its first entry), and,
 * when `group` is given, the frames that become unique to the current group.
 *
 * Every frame of the batch must have a recorded count; the counts are a snapshot
 * and are not re-read here. A frame whose count is below the process's own
 * entries (it was mapped again after its count was read, or it moved) is listed
 * in `account.moved` once and counted unique, clamped: the caller measures the
 * process again with fresh counts. `selfEntries` gives the tool's own entries on
 * a frame, added back when the tool measures itself.
 *
 * @example
 * ```ts
 * import { accountRefs, beginProcess, createFrameTable } from "./frame_table.ts";
 * import { createProcessAccount, PSS, RSS, setFrameCount, USS_ANON } from "./frame_table.ts";
 * import { createFrameRefs } from "./pagemap_scan.ts";
 * const table = createFrameTable(64);
 * setFrameCount(table, 10, 1); // mapped by one entry: this process's
 * setFrameCount(table, 11, 2); // mapped by another process too
 * const batch = createFrameRefs(2);
 * batch.pfns.set([10, 11]); // metas stay 0: slot 0, anonymous
 * batch.length = 2;
 * beginProcess(table);
 * const account = createProcessAccount(1);
 * accountRefs(table, batch, account, null, 4096, () => 0);
 * [account.figures[USS_ANON], account.figures[PSS], account.figures[RSS]]; // [4096, 6144, 8192]
 * ```
 */
export function accountRefs(
  table: FrameTable,
  batch: Pick<FrameRefs, "pfns" | "metas" | "length">,
  account: ProcessAccount,
  group: GroupAccount | null,
  pageSize: number,
  selfEntries: (pfn: number) => number,
): void {
  const { pfns, metas, length } = batch;
  const { counts, seen, seenStamps, repeats, groupCounts, groupStamps } = table;
  const processEpoch = table.processEpoch;
  const groupEpoch = table.groupEpoch;
  const includeSelf = account.includeSelf;
  const figures = account.figures;
  // Figures of the current slot in pages (PSS in fractions of a page; times a
  // power-of-two page size, the same bytes), kept in locals: a slot's entries
  // come in runs, and no closure may capture these, or they would live on the
  // heap.
  let slot = -1;
  let ussAnon = 0, ussFile = 0, pss = 0, rss = 0, hugetlb = 0, hugetlbUss = 0, ram = 0;
  // Most entries take the short path: the tool's entries not added back, the
  // same slot and kind as the entry before (`runMeta`, with `runKind` its
  // kind), a count of at least one, a frame the process has not mapped before.
  // Both paths end in the group's counters.
  let runMeta = -1;
  let runKind = 0;
  // The group's figures in pages.
  let groupAnon = 0, groupFile = 0, groupHugetlb = 0, groupRam = 0;
  // The chunk of wide group counters last used: saturated frames (mapped by
  // hundreds of members) come in runs of neighbouring frame numbers.
  let wideChunk = -1;
  let wide: Uint32Array = new Uint32Array(0);
  for (let i = 0; i < length; i++) {
    const pfn = pfns[i];
    const value = counts[pfn];
    const word = pfn >>> BLOCK_SHIFT;
    const bit = 1 << (pfn & (BLOCK_FRAMES - 1));
    if (seenStamps[word] !== processEpoch) {
      seenStamps[word] = processEpoch;
      seen[word] = 0;
    }
    const bits = seen[word];
    let others: number;
    let kind: number; // 0 anon, 1 file, 2 hugetlb
    if (value > COUNT_BASE && metas[i] === runMeta && (bits & bit) === 0 && !includeSelf) {
      seen[word] = bits | bit;
      others = value - COUNT_BASE;
      kind = runKind;
      rss++;
      ram++;
      pss += 1 / others;
      if (others === 1) {
        if (kind === 1) ussFile++;
        else ussAnon++;
      }
    } else {
      if (value === COUNT_NOT_RESIDENT) continue;
      others = value >= COUNT_BASE ? value - COUNT_BASE : frameCount(table, pfn);
      if (includeSelf) others += selfEntries(pfn);
      let own = 1;
      if ((bits & bit) === 0) seen[word] = bits | bit;
      else {
        own = (repeats.get(pfn) ?? 1) + 1;
        repeats.set(pfn, own);
      }
      // First entry past the count: a stale count, or a frame that moved.
      if (own > others && own === (others < 1 ? 1 : others + 1)) account.moved.push(pfn);

      const meta = metas[i];
      if (meta >>> 2 !== slot) {
        if (slot >= 0) {
          addToSlot(figures, slot, pageSize, ussAnon, ussFile, pss, rss, hugetlb, hugetlbUss, ram);
        }
        ussAnon =
          ussFile =
          pss =
          rss =
          hugetlb =
          hugetlbUss =
          ram =
            0;
        slot = meta >>> 2;
      }
      // A count below the first entry means the frame moved: counted unique, clamped.
      const unique = own === others || (own === 1 && others < 1);
      if ((meta & FRAME_HUGETLB) !== 0) {
        kind = 2;
        runMeta = -1;
        hugetlb++;
        if (unique) hugetlbUss++;
      } else {
        kind = (meta & FRAME_FILE) !== 0 ? 1 : 0;
        runMeta = meta;
        runKind = kind;
        rss++;
        if (own === 1) ram++;
        pss += 1 / (others > own ? others : own);
        if (unique) {
          if (kind === 1) ussFile++;
          else ussAnon++;
        }
      }
    }

    if (group === null) continue;
    if (groupStamps[word] !== groupEpoch) {
      groupStamps[word] = groupEpoch;
      clearGroupBlock(table, word);
    }
    // Entries of the group on this frame: a byte per frame, and past 254 a
    // 32-bit counter in a chunk allocated on first need.
    const narrow = groupCounts[pfn];
    let entries: number;
    if (narrow < GROUP_SATURATED - 1) entries = groupCounts[pfn] = narrow + 1;
    else {
      const chunk = pfn >>> WIDE_CHUNK_SHIFT;
      if (chunk !== wideChunk) {
        wideChunk = chunk;
        wide = table.wideGroupCounts[chunk] ??= new Uint32Array(WIDE_CHUNK_FRAMES);
      }
      const offset = pfn & (WIDE_CHUNK_FRAMES - 1);
      if (narrow === GROUP_SATURATED - 1) {
        groupCounts[pfn] = GROUP_SATURATED;
        entries = wide[offset] = GROUP_SATURATED;
      } else entries = ++wide[offset];
    }
    if (entries === 1 && kind !== 2) groupRam++;
    if (entries === others || (entries === 1 && others < 1)) {
      if (kind === 2) groupHugetlb++;
      else if (kind === 1) groupFile++;
      else groupAnon++;
    }
  }
  if (slot >= 0) {
    addToSlot(figures, slot, pageSize, ussAnon, ussFile, pss, rss, hugetlb, hugetlbUss, ram);
  }
  if (group !== null) {
    group.ussAnon += groupAnon * pageSize;
    group.ussFile += groupFile * pageSize;
    group.hugetlbUss += groupHugetlb * pageSize;
    group.ram += groupRam * pageSize;
  }
}
