/**
 * The hot loop: classifies raw pagemap entries of one VMA into what can be
 * counted at once and what needs `/proc/kpagecount`.
 *
 * A present entry with bit 56 (mapped exactly once) is a frame that only this
 * process maps, so it is unique without a kpagecount read, except where the bit
 * lies: the kernel copies it from the first subpage to all entries of a
 * PMD-mapped THP, and hugetlb sets it regardless. Such entries, and every entry
 * without bit 56, become frame references for the count pass.
 *
 * Pure: typed arrays in, tallies out (and frames marked "count pending" in the
 * frame table, so the count pass knows what to read).
 *
 * @module
 */

import {
  EXCLUSIVE,
  FILE_OR_SHARED,
  GUARD,
  PFN_HIGH_MASK,
  PRESENT,
  SWAPPED,
} from "../procfs/pagemap_bits.ts";
import {
  COUNT_BASE,
  COUNT_PENDING,
  COUNT_UNKNOWN,
  ensureFrame,
  FRAME_FILE,
  FRAME_HUGETLB,
  frameCount,
  type FrameTable,
  setFrameCount,
} from "./frame_table.ts";

/**
 * Frame references of one batch of reads: the PFN of each entry that needs its
 * count, and beside it `slot << 2 | kind` (slot: the mapping, or 0 when only
 * process totals are wanted; kind: {@link FRAME_FILE}, {@link FRAME_HUGETLB}).
 * `length` rows are valid. PFNs are 32-bit (16 TiB of physical address space
 * with 4 KiB pages): integer loads keep the hot loops free of number
 * conversions. The scan also notes which of the frames still need their count
 * read.
 */
export interface FrameRefs {
  pfns: Uint32Array;
  metas: Uint32Array;
  length: number;
  /** Frames nobody had asked for yet: marked pending in the table, to be read. */
  unread: Uint32Array;
  unreadLength: number;
  /** Some referenced frame was pending: another reader is reading its count. */
  waiting: boolean;
  /**
   * Swap entries, when the scan tracks swap slots: the slot (see {@link swapSlot})
   * in place of a PFN, with the same metas. Grows as needed.
   */
  swap: SwapRefs;
}

/** References to swap slots, accounted like frame references against a table of slots. */
export interface SwapRefs {
  pfns: Uint32Array;
  metas: Uint32Array;
  length: number;
}

/** Swap types from this one on are not swap areas (migration, device, hwpoison, markers). */
const MAX_SWAP_TYPES = 23;

/**
 * Whether a non-present entry (two 32-bit words) is memory in a swap area. The
 * kernel sets bit 62 for every entry in swap format, and some are not swap:
 * guard regions (bit 58), userfaultfd write-protect markers on pages never
 * populated (type 31, as root), pages being migrated (a transient state; the
 * kernel's smaps counts them resident), device-private pages (in a device's
 * own memory). A reader without privilege sees the guard bit but not the type.
 */
function namesSwapArea(low: number, high: number): boolean {
  return (high & (SWAPPED | GUARD)) === SWAPPED && (low & 31) < MAX_SWAP_TYPES;
}

/** Swap offsets per type in the slot numbering (512 GiB of 4 KiB pages). */
const SLOTS_PER_TYPE = 0x800_0000;

/**
 * The slot number of a swap entry (two 32-bit words): `type × 2^27 + offset`,
 * or -1 when the entry names no slot this tool can tell apart (offset hidden
 * from a reader without CAP_SYS_ADMIN, a migration or device entry, an offset
 * beyond 2^27).
 *
 * @example
 * ```ts
 * import { swapSlot } from "./pagemap_scan.ts";
 * swapSlot((5 << 5) | 1, 0x4000_0000 | 0); // 134217733: type 1, offset 5
 * ```
 */
export function swapSlot(low: number, high: number): number {
  const type = low & 31;
  const offset = (high & PFN_HIGH_MASK) * SLOTS_PER_TYPE + (low >>> 5);
  if (type >= MAX_SWAP_TYPES || offset === 0 || offset >= SLOTS_PER_TYPE) return -1;
  return type * SLOTS_PER_TYPE + offset;
}

function growSwap(swap: SwapRefs): void {
  const capacity = Math.max(1024, swap.pfns.length * 2);
  const pfns = new Uint32Array(capacity);
  pfns.set(swap.pfns);
  const metas = new Uint32Array(capacity);
  metas.set(swap.metas);
  swap.pfns = pfns;
  swap.metas = metas;
}

/**
 * Per-slot page counts gathered while scanning, plus sanity counters. Counts of
 * one slot fit 32 bits (16 TiB of 4 KiB pages): half the memory of doubles for
 * a process's 65,000 mappings.
 */
export interface ScanTally {
  /** Pages mapped exactly once, anonymous, per slot. */
  exclusiveAnon: Uint32Array;
  /** Pages mapped exactly once, file or shmem, per slot. */
  exclusiveFile: Uint32Array;
  /** Swapped-out entries per slot. */
  swapped: Uint32Array;
  /** Hugetlb pages mapped exactly once, per slot (settled from smaps, never from bit 56). */
  exclusiveHugetlb: Uint32Array;
  /** Present entries seen. */
  present: number;
  /** Present entries whose PFN read as 0: the kernel hid PFNs from this reader. */
  presentWithoutPfn: number;
  /** Present entries whose PFN does not fit in 32 bits (not measured). */
  presentBeyond32Bits: number;
}

/**
 * Creates empty {@link FrameRefs} with room for `capacity` rows.
 *
 * @example
 * ```ts
 * import { createFrameRefs } from "./pagemap_scan.ts";
 * const refs = createFrameRefs(65536); // a batch: the entries of one 512 KiB pagemap read
 * [refs.pfns.length, refs.length]; // [65536, 0]
 * ```
 */
export function createFrameRefs(capacity: number): FrameRefs {
  return {
    pfns: new Uint32Array(capacity),
    metas: new Uint32Array(capacity),
    length: 0,
    unread: new Uint32Array(capacity),
    unreadLength: 0,
    waiting: false,
    swap: { pfns: new Uint32Array(0), metas: new Uint32Array(0), length: 0 },
  };
}

/**
 * Empties a batch for reuse.
 *
 * @example
 * ```ts
 * import { clearFrameRefs, createFrameRefs } from "./pagemap_scan.ts";
 * const refs = createFrameRefs(16);
 * refs.length = 3;
 * clearFrameRefs(refs);
 * refs.length; // 0
 * ```
 */
export function clearFrameRefs(refs: FrameRefs): void {
  refs.length = 0;
  refs.unreadLength = 0;
  refs.waiting = false;
  refs.swap.length = 0;
}

/**
 * Creates an empty {@link ScanTally} for `slots` slots.
 *
 * @example
 * ```ts
 * import { createScanTally } from "./pagemap_scan.ts";
 * const tally = createScanTally(3); // one slot per mapping
 * tally.exclusiveAnon.length; // 3
 * ```
 */
export function createScanTally(slots: number): ScanTally {
  const size = Math.max(1, slots);
  return {
    exclusiveAnon: new Uint32Array(size),
    exclusiveFile: new Uint32Array(size),
    swapped: new Uint32Array(size),
    exclusiveHugetlb: new Uint32Array(size),
    present: 0,
    presentWithoutPfn: 0,
    presentBeyond32Bits: 0,
  };
}

/** How {@link scanPagemapEntries} treats a run of entries. */
export interface ScanTarget {
  /** Where the entries' figures go: the mapping's index, or 0 for process totals. */
  slot: number;
  /** The VMA is hugetlb: never trust bit 56, count every frame. */
  hugetlb: boolean;
  /** Trust bit 56 where it cannot be a PMD mapping (false: count every frame). */
  exclusiveShortcut: boolean;
  /** Pages a PMD maps (2 MiB / page size): where bit 56 may be copied. */
  pmdPages: number;
  /** Also list each swap entry's slot in `refs.swap`. */
  swapSlots?: boolean;
}

/** Anonymous and file pages counted by the last {@link countExclusiveRun}. */
const RUN_COUNTS = new Float64Array(2);
const PRESENT_EXCLUSIVE = (PRESENT | EXCLUSIVE) | 0;
const PRESENT_I32 = PRESENT | 0;
const EXCLUSIVE_RUN_MASK = (PRESENT | EXCLUSIVE | PFN_HIGH_MASK) | 0;

const PRESENT_OR_SWAPPED = (PRESENT | SWAPPED) | 0;

/**
 * The index of the first entry from `from` (below `to`) that is present or
 * swapped. Address space reserved and never touched reads as entries that are
 * neither (a JVM's heap, V8's code range: millions of them; zero, or only the
 * soft-dirty bit where the kernel tracks it), which count nothing, and this loop
 * passes them at a fraction of the general path's cost, cold or not.
 */
function skipHoles(words: Int32Array, from: number, to: number): number {
  let i = from;
  while (i < to && (words[2 * i + 1] & PRESENT_OR_SWAPPED) === 0) i++;
  return i;
}

/**
 * Counts the entries from `from` (below `to`) that are present, mapped exactly
 * once and have a PFN whose low word is non-zero, into {@link RUN_COUNTS}; stops
 * at the first other entry and returns its index. Most pages of most processes
 * take this path: a loop this small runs fast even before V8 optimises it, which
 * is most of a short-lived tool's life.
 */
function countExclusiveRun(words: Int32Array, from: number, to: number): number {
  let anon = 0;
  let file = 0;
  let i = from;
  for (; i < to; i++) {
    const high = words[2 * i + 1];
    // A PFN beyond 32 bits or hidden (0) leaves the run: the general path reports it.
    if ((high & EXCLUSIVE_RUN_MASK) !== PRESENT_EXCLUSIVE || words[2 * i] === 0) break;
    if ((high & FILE_OR_SHARED) !== 0) file++;
    else anon++;
  }
  RUN_COUNTS[0] = anon;
  RUN_COUNTS[1] = file;
  return i;
}

/**
 * Scans `entryCount` pagemap entries starting at entry `from` of `words` (two
 * little-endian 32-bit words each, viewed as an Int32Array: V8 keeps int32 loads
 * unboxed), which map the virtual pages from `firstPage` on; adds to `tally` and
 * appends to `refs` (which must have room for `entryCount` more rows), whose
 * new rows are then marked in `table` (see {@link markRefs}).
 *
 * Runs of plainly exclusive entries and runs of plainly referenced ones each go
 * through a tight loop of their own; the rest, one entry at a time.
 *
 * Callers must not split a PMD-aligned block of a VMA across two calls: the
 * PMD check needs all the block's entries in one buffer (reads are aligned to
 * PMD blocks).
 *
 * @example
 * ```ts
 * import { EXCLUSIVE, PRESENT, SWAPPED } from "../procfs/pagemap_bits.ts";
 * import { createFrameTable } from "./frame_table.ts";
 * import { createFrameRefs, createScanTally, scanPagemapEntries } from "./pagemap_scan.ts";
 * // Three pages: mapped only here (PFN 0x100), maybe shared (PFN 0x200), swapped out.
 * const words = new Int32Array([0x100, PRESENT | EXCLUSIVE, 0x200, PRESENT, 0, SWAPPED]);
 * const target = { slot: 0, hugetlb: false, exclusiveShortcut: true, pmdPages: 512 };
 * const tally = createScanTally(1);
 * const refs = createFrameRefs(3);
 * scanPagemapEntries(words, 0, 3, 0x7f001, target, tally, refs, createFrameTable(1024));
 * [tally.exclusiveAnon[0], tally.swapped[0]]; // [1, 1]
 * [refs.length, refs.pfns[0], refs.unreadLength]; // [1, 0x200, 1]: its count is to be read
 * ```
 */
export function scanPagemapEntries(
  words: Int32Array,
  from: number,
  entryCount: number,
  firstPage: number,
  target: ScanTarget,
  tally: ScanTally,
  refs: FrameRefs,
  table: FrameTable,
): void {
  const slot = target.slot;
  const pmdPages = target.pmdPages;
  const shortcut = target.exclusiveShortcut && !target.hugetlb;
  const meta = slot * 4 + (target.hugetlb ? FRAME_HUGETLB : 0);
  const fileMeta = meta + FRAME_FILE;
  // Entries that go straight to references: present, a 32-bit PFN, and (when
  // bit 56 is trusted) not exclusive.
  const refMask = (shortcut ? PRESENT | EXCLUSIVE | PFN_HIGH_MASK : PRESENT | PFN_HIGH_MASK) | 0;
  const end = from + entryCount;
  // Indexes i whose page (firstPage + i - from) starts a PMD block satisfy
  // i ≡ firstAligned (mod pmdPages).
  const firstAligned = from + (pmdPages - (firstPage % pmdPages)) % pmdPages;
  let anon = 0;
  let file = 0;
  let swapped = 0;
  let present = 0;
  let withoutPfn = 0;
  let beyond = 0;
  // Entries below this index belong to a block that may be PMD-mapped.
  let pmdCandidateEnd = 0;
  const { pfns, metas } = refs;
  let length = refs.length;
  const trackSwap = target.swapSlots === true;
  for (let i = from; i < end;) {
    const high = words[2 * i + 1];
    if ((high & PRESENT_OR_SWAPPED) === 0) {
      i = skipHoles(words, i + 1, end);
      continue;
    }
    if (shortcut && (high & PRESENT_EXCLUSIVE) === PRESENT_EXCLUSIVE && i >= pmdCandidateEnd) {
      // Entries before the next PMD boundary (where the PMD check must run) go
      // through the tight loop while they are plainly present and exclusive.
      const sinceBoundary = (i - firstAligned) & (pmdPages - 1);
      if (sinceBoundary !== 0) {
        const stop = countExclusiveRun(words, i, Math.min(end, i + pmdPages - sinceBoundary));
        if (stop > i) {
          anon += RUN_COUNTS[0];
          file += RUN_COUNTS[1];
          present += stop - i;
          i = stop;
          continue;
        }
      }
    }
    if ((high & refMask) === PRESENT_I32 && words[2 * i] !== 0) {
      let j = i;
      for (; j < end; j++) {
        const entryHigh = words[2 * j + 1];
        const pfn = words[2 * j] >>> 0;
        if ((entryHigh & refMask) !== PRESENT_I32 || pfn === 0) break;
        pfns[length] = pfn;
        metas[length] = (entryHigh & FILE_OR_SHARED) !== 0 ? fileMeta : meta;
        length++;
      }
      present += j - i;
      i = j;
      continue;
    }
    i++;
    const low = words[2 * i - 2];
    if (high >= 0) { // bit 63 (present) is the sign bit
      if (!namesSwapArea(low, high)) continue;
      swapped++;
      if (!trackSwap) continue;
      const slot = swapSlot(low, high);
      if (slot < 0) continue;
      const swap = refs.swap;
      if (swap.length === swap.pfns.length) growSwap(swap);
      swap.pfns[swap.length] = slot;
      swap.metas[swap.length++] = meta;
      continue;
    }
    present++;
    if ((high & PFN_HIGH_MASK) !== 0) {
      beyond++;
      continue;
    }
    if (low === 0) {
      withoutPfn++;
      continue;
    }
    const isFile = (high & FILE_OR_SHARED) !== 0;
    const at = i - 1;
    if (shortcut && (high & EXCLUSIVE) !== 0 && at >= pmdCandidateEnd) {
      // Exclusive at a PMD boundary: a PMD-mapped THP if the block's frames
      // are one aligned run (then bit 56 may lie for all of them).
      const last = at + pmdPages - 1;
      const maybePmd = ((at - firstAligned) & (pmdPages - 1)) === 0 &&
        (low & (pmdPages - 1)) === 0 &&
        last < end &&
        (words[2 * last + 1] & (PRESENT | PFN_HIGH_MASK)) === (high & (PRESENT | PFN_HIGH_MASK)) &&
        words[2 * last] === low + pmdPages - 1;
      if (!maybePmd) {
        if (isFile) file++;
        else anon++;
        continue;
      }
      pmdCandidateEnd = at + pmdPages;
    }
    pfns[length] = low >>> 0;
    metas[length] = isFile ? fileMeta : meta;
    length++;
  }
  const first = refs.length;
  refs.length = length;
  markRefs(table, refs, first);
  tally.exclusiveAnon[slot] += anon;
  tally.exclusiveFile[slot] += file;
  tally.swapped[slot] += swapped;
  tally.present += present;
  tally.presentWithoutPfn += withoutPfn;
  tally.presentBeyond32Bits += beyond;
}

/**
 * Marks the frames of rows `from` on of `refs` whose count `table` does not
 * have yet as pending there, listing them in `refs.unread` (this batch reads
 * them); a frame already pending (another batch reads it) sets `refs.waiting`.
 * One rule for both of the scan's copying loops (measured: no slower than inline).
 */
function markRefs(table: FrameTable, refs: FrameRefs, from: number): void {
  const { pfns, unread, length } = refs;
  let { unreadLength, waiting } = refs;
  let counts = table.counts;
  for (let i = from; i < length; i++) {
    const pfn = pfns[i];
    if (pfn >= counts.length) {
      ensureFrame(table, pfn);
      counts = table.counts;
    }
    const count = counts[pfn];
    if (count <= COUNT_PENDING) {
      if (count === COUNT_UNKNOWN) {
        counts[pfn] = COUNT_PENDING;
        unread[unreadLength++] = pfn;
      } else waiting = true;
    }
  }
  refs.unreadLength = unreadLength;
  refs.waiting = waiting;
}

/**
 * Counts the references to each swap slot among `entryCount` pagemap entries
 * from entry `from` of `words`, in `table` (`COUNT_BASE + references` per slot):
 * the census every process's swap slots are then accounted against.
 *
 * @returns swap entries whose slot could not be told apart (see {@link swapSlot}).
 * @example
 * ```ts
 * import { countSwapSlots } from "./pagemap_scan.ts";
 * import { createFrameTable, frameCount } from "./frame_table.ts";
 * const table = createFrameTable(64);
 * const words = new Int32Array([(3 << 5) | 0, 0x4000_0000, (3 << 5) | 0, 0x4000_0000]);
 * countSwapSlots(words, 0, 2, table); // 0
 * frameCount(table, 3); // 2: slot 3 referenced twice
 * ```
 */
export function countSwapSlots(
  words: Int32Array,
  from: number,
  entryCount: number,
  table: FrameTable,
): number {
  let untold = 0;
  for (let i = from; i < from + entryCount; i++) {
    const high = words[2 * i + 1];
    if (high < 0 || !namesSwapArea(words[2 * i], high)) continue;
    const slot = swapSlot(words[2 * i], high);
    if (slot < 0) {
      untold++;
      continue;
    }
    if (slot >= table.counts.length) ensureFrame(table, slot);
    const value = table.counts[slot];
    if (value >= COUNT_BASE && value < 0xffff) table.counts[slot] = value + 1;
    else setFrameCount(table, slot, (value === COUNT_UNKNOWN ? 0 : frameCount(table, slot)) + 1);
  }
  return untold;
}
