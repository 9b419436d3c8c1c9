/**
 * The count pass: reads the kpagecount of frames the scans could not settle,
 * once per frame per run, in few large reads, into the run's frame table; and
 * subtracts the entries the tool itself holds, so measuring does not change the
 * answer.
 *
 * @module
 */

import {
  COUNT_PENDING,
  COUNT_UNKNOWN,
  type FrameTable,
  setFrameCount,
} from "../accounting/frame_table.ts";
import type { FrameRefs } from "../accounting/pagemap_scan.ts";
import {
  type KpagecountFile,
  readKpagecounts,
  readKpagecountsAsync,
} from "../procfs/kpagecount.ts";
import { type PagemapFile, readPagemap } from "../procfs/pagemap.ts";
import { PFN_HIGH_MASK } from "../procfs/pagemap_bits.ts";
import type { SelfMappings } from "./context.ts";

/**
 * Frames further apart than this are read separately: one extra read costs about
 * what ~30 extra kpagecount entries cost the kernel (measured: ~1 µs per
 * seek+read pair, ~30-100 ns per entry).
 */
const MAX_GAP_FRAMES = 32;
/** Frames per kpagecount read (512 KiB). */
export const MAX_SPAN_FRAMES = 65536;
/**
 * Reads of at least this many frames go to Deno's I/O thread pool (a round trip
 * there costs ~30 µs, what the kernel spends on ~300 entries), smaller ones are
 * read in place.
 */
const ASYNC_MIN_FRAMES = 4096;
/** Pages per read of the tool's own pagemap. */
const SELF_CHUNK_PAGES = 16384;
/**
 * Times the tool's own entries are read again around a count before giving up
 * (each time, only frames whose entries changed since the last look).
 */
const SELF_ATTEMPTS = 4;

/**
 * What the readers of one run share: whoever waits for frames another reader
 * marked pending is woken each time a reader records counts or gives frames up.
 */
export interface CountProgress {
  waiters: (() => void)[];
}

/** One reader of kpagecount: its own file (reads seek) and buffer. */
export interface CountReader {
  source: KpagecountFile;
  /** Room for {@link MAX_SPAN_FRAMES} counts. */
  buffer: Uint8Array;
  progress: CountProgress;
  /** The tool's own entries to look at again once this reader's counts are read. */
  selfChecks: SelfChecks;
}

/**
 * Pages of the measuring side's pagemaps compared with frames whose counts were
 * still to be read: page `ownPages[i]` of `files[i]` (ascending within a run)
 * with frame `pfns[i]`, and `matched[i]` 1 when the page mapped it.
 */
export interface SelfChecks {
  files: PagemapFile[];
  ownPages: number[];
  pfns: number[];
  matched: number[];
}

function notify(progress: CountProgress): void {
  for (const wake of progress.waiters.splice(0)) wake();
}

/**
 * Gives up the frames a batch marked pending but will not read (its process
 * failed): they become unknown again, and readers waiting for them are woken.
 *
 * @example
 * ```ts
 * import { COUNT_PENDING, COUNT_UNKNOWN, createFrameTable } from "../accounting/frame_table.ts";
 * import { createFrameRefs } from "../accounting/pagemap_scan.ts";
 * import { openKpagecount } from "../procfs/kpagecount.ts";
 * import { createCountReader, releaseUnread } from "./frame_counts.ts";
 * const root = Deno.makeTempDirSync(); // a stand-in for /proc
 * Deno.writeFileSync(`${root}/kpagecount`, new Uint8Array(0));
 * const woken: number[] = [];
 * const reader = createCountReader(openKpagecount(root), { waiters: [() => woken.push(1)] });
 * const table = createFrameTable(64);
 * const refs = createFrameRefs(1);
 * table.counts[42] = COUNT_PENDING; // marked by this batch's scan, to be read
 * refs.unread[refs.unreadLength++] = 42;
 * releaseUnread(table, refs, reader); // its process failed
 * [table.counts[42] === COUNT_UNKNOWN, woken.length]; // [true, 1]
 * reader.source.file.close();
 * Deno.removeSync(root, { recursive: true });
 * ```
 */
export function releaseUnread(table: FrameTable, refs: FrameRefs, reader: CountReader): void {
  for (let i = 0; i < refs.unreadLength; i++) {
    const pfn = refs.unread[i];
    if (table.counts[pfn] === COUNT_PENDING) table.counts[pfn] = COUNT_UNKNOWN;
  }
  refs.unreadLength = 0;
  notify(reader.progress);
}

/**
 * A reader of kpagecount through `source` (a descriptor of its own: reads
 * seek), into `buffer`, sharing `progress` with the run's other readers.
 */
export function createCountReader(
  source: KpagecountFile,
  progress: CountProgress,
  buffer: Uint8Array = new Uint8Array(MAX_SPAN_FRAMES * 8),
): CountReader {
  return {
    source,
    buffer,
    progress,
    selfChecks: { files: [], ownPages: [], pfns: [], matched: [] },
  };
}

/**
 * Calls `visit(first, end)` for each span of `sorted[0..count)` worth one read:
 * frames at most {@link MAX_GAP_FRAMES} apart, at most {@link MAX_SPAN_FRAMES} in all.
 */
function forEachSpan(
  sorted: Uint32Array,
  count: number,
  visit: (first: number, end: number) => void,
): void {
  let first = 0;
  while (first < count) {
    const firstPfn = sorted[first];
    let end = first + 1;
    while (
      end < count &&
      sorted[end] - sorted[end - 1] <= MAX_GAP_FRAMES &&
      sorted[end] - firstPfn < MAX_SPAN_FRAMES
    ) end++;
    visit(first, end);
    first = end;
  }
}

/** The count at `offset` of a read buffer (a count above 2^32 cannot happen; saturate). */
function countAt(words: Uint32Array, offset: number): number {
  return words[2 * offset + 1] === 0 ? words[2 * offset] : 0xffff_ffff;
}

function record(
  table: FrameTable,
  sorted: Uint32Array,
  first: number,
  end: number,
  buffer: Uint8Array,
  got: number,
  own: (pfn: number) => number,
): void {
  const words = new Uint32Array(buffer.buffer, 0, got * 2);
  const firstPfn = sorted[first];
  for (let i = first; i < end; i++) {
    const pfn = sorted[i];
    const offset = pfn - firstPfn;
    // Past the last frame kpagecount has: nothing maps it.
    setFrameCount(table, pfn, offset < got ? countAt(words, offset) : 0, own(pfn));
  }
}

/**
 * Reads the counts of the frames `sorted[0..count)` (ascending, distinct) into
 * `table`: large spans on the I/O thread pool, small ones in place.
 *
 * @throws {ProcError} on a read error.
 */
async function readCounts(
  table: FrameTable,
  reader: CountReader,
  sorted: Uint32Array,
  count: number,
  own: (pfn: number) => number,
): Promise<void> {
  const spans: [number, number][] = [];
  forEachSpan(sorted, count, (first, end) => spans.push([first, end]));
  for (const [first, end] of spans) {
    const span = sorted[end - 1] - sorted[first] + 1;
    const got = span >= ASYNC_MIN_FRAMES
      ? await readKpagecountsAsync(reader.source, sorted[first], span, reader.buffer)
      : readKpagecounts(reader.source, sorted[first], span, reader.buffer);
    record(table, sorted, first, end, reader.buffer, got, own);
  }
}

/**
 * Makes sure every frame referenced in `refs` has its count in `table`: the
 * frames the scan marked pending for this batch (`refs.unread`) are read now;
 * frames another reader marked are waited for (that reader reads them when its
 * batch is full or its process ends), and read here if it gave them up.
 *
 * @throws {ProcError} on a read error (this batch's pending frames are given up).
 */
export async function fetchCounts(
  table: FrameTable,
  refs: FrameRefs,
  reader: CountReader,
  selfFrames: SelfFrames,
): Promise<void> {
  const own = (pfn: number) => selfEntries(selfFrames, pfn);
  let waiting = refs.waiting;
  for (;;) {
    if (refs.unreadLength > 0) {
      const sorted = refs.unread.subarray(0, refs.unreadLength).sort();
      try {
        await readCounts(table, reader, sorted, sorted.length, own);
      } catch (error) {
        releaseUnread(table, refs, reader);
        throw error;
      }
      refs.unreadLength = 0;
      notify(reader.progress);
    }
    if (!waiting) return;
    // Still pending: wait for the next reader to record or give up counts.
    waiting = false;
    const { pfns, length } = refs;
    for (let i = 0; i < length && !waiting; i++) {
      waiting = table.counts[pfns[i]] <= COUNT_PENDING;
    }
    if (!waiting) return;
    await new Promise<void>((resolve) => reader.progress.waiters.push(resolve));
    waiting = false;
    for (let i = 0; i < length; i++) {
      const value = table.counts[pfns[i]];
      if (value === COUNT_UNKNOWN) {
        table.counts[pfns[i]] = COUNT_PENDING;
        refs.unread[refs.unreadLength++] = pfns[i];
      } else if (value === COUNT_PENDING) waiting = true;
    }
  }
}

/** The tool's own entries on frames of files it shares with the targets. */
export interface SelfFrames {
  /** PFN → the tool's own entries mapping it, as last seen, where there are more than one. */
  entries: Map<number, number>;
  /**
   * One bit per PFN: the tool maps it (once, unless `entries` says more). A
   * Deno target shares tens of thousands of frames with the tool, nearly all
   * mapped once: a map entry each cost ~5 ms of a one-shot run.
   */
  marks: Uint32Array;
  /** Room for {@link SELF_CHUNK_PAGES} entries of the tool's own pagemap. */
  buffer: Uint8Array;
  /** Per page of a target's run: the tool's entries on the same frame. */
  matches: Uint8Array;
  /** Per page of a target's run: its frame when the count is still to be read, else 0. */
  pending: Uint32Array;
}

/**
 * The tool's own entries on frame `pfn`, as last seen (0 for frames it does not map).
 *
 * @example
 * ```ts
 * import { createSelfFrames, selfEntries } from "./frame_counts.ts";
 * const selfFrames = createSelfFrames();
 * // As matchSelfFrames records them: frame 42 (32 + 10) mapped twice, 44 once.
 * selfFrames.marks = new Uint32Array([0, (1 << 10) | (1 << 12)]);
 * selfFrames.entries.set(42, 2);
 * [42, 43, 44].map((pfn) => selfEntries(selfFrames, pfn)); // [2, 0, 1]
 * ```
 */
export function selfEntries(selfFrames: SelfFrames, pfn: number): number {
  const word = Math.floor(pfn / 32);
  if (word >= selfFrames.marks.length || (selfFrames.marks[word] & (1 << (pfn & 31))) === 0) {
    return 0;
  }
  return selfFrames.entries.get(pfn) ?? 1;
}

/**
 * An empty record of the tool's own frames.
 *
 * @example
 * ```ts
 * import { createSelfFrames, selfEntries } from "./frame_counts.ts";
 * const selfFrames = createSelfFrames();
 * selfEntries(selfFrames, 42); // 0: the tool maps no frame yet
 * ```
 */
export function createSelfFrames(): SelfFrames {
  return {
    entries: new Map(),
    marks: new Uint32Array(0),
    buffer: new Uint8Array(SELF_CHUNK_PAGES * 8),
    matches: new Uint8Array(SELF_CHUNK_PAGES),
    pending: new Uint32Array(SELF_CHUNK_PAGES),
  };
}

/**
 * Records the entries of the tool and its launchers on the frames of a target's
 * run of pagemap entries that map file `key` (a freshly exec'd tool can share
 * frames with a target only through files both map). Their entries for the same
 * file page are read now, before the target's counts, and looked at again after
 * them ({@link verifySelfFrames}): the tool faults in pages as it runs (its own
 * code, as V8 compiles).
 *
 * Only pages whose frames the scan left pending in `table` are matched: the
 * tool's entries matter when a count is recorded, and a frame whose count is
 * known was matched then (by the first process that mapped it). So the
 * hundreds of processes mapping the same libc cost one match, not one each.
 * The pages compared are listed in `checks`, for {@link verifySelfFrames} to
 * look at again once the counts are read.
 *
 * `words` holds the target's entries from index `from` on, for `count` pages
 * whose first maps file page `firstFilePage`.
 *
 * @throws {ProcError} when the tool's own pagemap cannot be read.
 */
export function matchSelfFrames(
  self: SelfMappings,
  selfFrames: SelfFrames,
  table: FrameTable,
  checks: SelfChecks,
  key: string,
  words: Int32Array,
  from: number,
  count: number,
  firstFilePage: number,
): void {
  const ownVmas = self.byFile.get(key);
  if (!ownVmas) return;
  const { buffer, matches, pending } = selfFrames;
  const own = new Int32Array(buffer.buffer);
  const counts = table.counts;
  for (let done = 0; done < count; done += SELF_CHUNK_PAGES) {
    const pages = Math.min(SELF_CHUNK_PAGES, count - done);
    // The frames whose counts are still to be read (0 for none); inline, as
    // this runs before V8 optimises anything (calls cost more than the work).
    let any = false;
    for (let i = 0; i < pages; i++) {
      const high = words[2 * (from + done + i) + 1];
      const pfn = words[2 * (from + done + i)] >>> 0;
      // Present (the sign bit), with a 32-bit PFN: what the scan lists.
      const waits = high < 0 && (high & PFN_HIGH_MASK) === 0 && pfn < counts.length &&
        counts[pfn] === COUNT_PENDING;
      pending[i] = waits ? pfn : 0;
      any ||= waits;
    }
    if (!any) continue;
    const filePage = firstFilePage + done;
    matches.fill(0, 0, pages);
    for (const vma of ownVmas) {
      // The part of [filePage, filePage + pages) this VMA of the tool maps.
      const first = Math.max(filePage, vma.offsetPage);
      const end = Math.min(filePage + pages, vma.offsetPage + (vma.endPage - vma.startPage));
      if (end <= first) continue;
      const firstOwnPage = vma.startPage + (first - vma.offsetPage);
      const got = readPagemap(vma.pagemap, firstOwnPage, buffer.subarray(0, (end - first) * 8));
      for (let i = 0; i < got; i++) {
        const page = first - filePage + i;
        const pfn = pending[page];
        if (pfn === 0) continue;
        const high = own[2 * i + 1];
        const same = high < 0 && (high & PFN_HIGH_MASK) === 0 && own[2 * i] >>> 0 === pfn;
        if (same) matches[page]++;
        // Looked at again once the count is read: the tool may map the page by then.
        checks.files.push(vma.pagemap);
        checks.ownPages.push(firstOwnPage + i);
        checks.pfns.push(pfn);
        checks.matched.push(same ? 1 : 0);
      }
    }
    for (let i = 0; i < pages; i++) {
      if (pending[i] !== 0) setSelfEntries(selfFrames, pending[i], matches[i]);
    }
  }
}

/** Records that the tool has `entries` entries on frame `pfn`. */
function setSelfEntries(selfFrames: SelfFrames, pfn: number, entries: number): void {
  const word = Math.floor(pfn / 32);
  const bit = 1 << (pfn & 31);
  if (entries === 0) {
    if (word < selfFrames.marks.length) selfFrames.marks[word] &= ~bit;
  } else {
    if (word >= selfFrames.marks.length) {
      const marks = new Uint32Array(Math.max(word + 1, selfFrames.marks.length * 2));
      marks.set(selfFrames.marks);
      selfFrames.marks = marks;
    }
    selfFrames.marks[word] |= bit;
  }
  if (entries > 1) selfFrames.entries.set(pfn, entries);
  else if (selfFrames.entries.size > 0) selfFrames.entries.delete(pfn);
}

/**
 * Makes the counts `reader` recorded agree with the tool's own entries: reads
 * again the pages of the tool (and its launchers) that {@link matchSelfFrames}
 * compared, and where the tool now maps a frame differently than what was
 * subtracted from its count (it faulted the page in, as V8 ran new code, between
 * the match and the count), reads that count again, until the entries are the
 * same before and after it. Without this a Deno process measured by uss lost
 * pages of the binary both run from to "shared" (hundreds of pages in a run).
 *
 * @throws {ProcError} when a pagemap of the measuring side or kpagecount cannot be read.
 */
export async function verifySelfFrames(
  selfFrames: SelfFrames,
  table: FrameTable,
  reader: CountReader,
): Promise<void> {
  const { files, ownPages, pfns, matched } = reader.selfChecks;
  const own = new Int32Array(selfFrames.buffer.buffer);
  try {
    for (let attempt = 0; attempt < SELF_ATTEMPTS && ownPages.length > 0; attempt++) {
      let changed: Set<number> | null = null;
      for (let i = 0; i < ownPages.length;) {
        let end = i + 1;
        while (
          end < ownPages.length && ownPages[end] === ownPages[end - 1] + 1 &&
          files[end] === files[i] && end - i < SELF_CHUNK_PAGES
        ) end++;
        const got = readPagemap(
          files[i],
          ownPages[i],
          selfFrames.buffer.subarray(0, (end - i) * 8),
        );
        for (let k = 0; k < got; k++) {
          const high = own[2 * k + 1];
          const now = high < 0 && (high & PFN_HIGH_MASK) === 0 && own[2 * k] >>> 0 === pfns[i + k]
            ? 1
            : 0;
          if (now === matched[i + k]) continue;
          matched[i + k] = now;
          (changed ??= new Set()).add(pfns[i + k]);
        }
        i = end;
      }
      if (changed === null) return;
      // The changed frames' entries now: their distinct own pages that map them
      // (a page compared twice, as the target maps its file page twice, is one).
      const pages = new Map<number, Set<string>>();
      let at = 0;
      for (let i = 0; i < ownPages.length; i++) {
        const pfn = pfns[i];
        if (!changed.has(pfn)) continue;
        if (!pages.has(pfn)) pages.set(pfn, new Set());
        if (matched[i] === 1) pages.get(pfn)!.add(`${files[i].path} ${ownPages[i]}`);
        // Only the changed frames are looked at again.
        files[at] = files[i];
        ownPages[at] = ownPages[i];
        pfns[at] = pfn;
        matched[at++] = matched[i];
      }
      files.length =
        ownPages.length =
        pfns.length =
        matched.length =
          at;
      for (const [pfn, mapped] of pages) setSelfEntries(selfFrames, pfn, mapped.size);
      const sorted = Uint32Array.from(changed).sort();
      await readCounts(table, reader, sorted, sorted.length, (pfn) => selfEntries(selfFrames, pfn));
    }
  } finally {
    files.length =
      ownPages.length =
      pfns.length =
      matched.length =
        0;
  }
}
