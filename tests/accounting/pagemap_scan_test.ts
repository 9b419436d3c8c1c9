// Covers scanPagemapEntries (src/accounting/pagemap_scan.ts): pages with bit 56
// (mapped exactly once) are counted without a kpagecount read, split anon/file by
// bit 61; other present pages become frame refs (`slot << 2 | kind`); swapped
// entries and PFN-less present entries are counted; present entries whose PFN
// does not fit in 32 bits are counted apart and not referenced; hugetlb never
// trusts bit 56; a PMD-sized block that could be PMD-mapped (the kernel copies
// bit 56 to all its entries) goes to refs, while one that cannot be (misaligned
// or non-contiguous) takes the shortcut. The scan also marks each referenced
// frame whose count is unknown as pending in the frame table, listing it once in
// `refs.unread`; meeting a frame already pending sets `refs.waiting`. Batches
// are sized by the caller (room for every entry scanned) and reused through
// clearFrameRefs. Entries are built with BigInt from the bit layout in
// pagemap.rst.

import assert from "node:assert/strict";
import {
  COUNT_PENDING,
  COUNT_UNKNOWN,
  createFrameTable,
  FRAME_FILE,
  FRAME_HUGETLB,
  frameCount,
  type FrameTable,
  setFrameCount,
} from "../../src/accounting/frame_table.ts";
import {
  clearFrameRefs,
  countSwapSlots,
  createFrameRefs,
  createScanTally,
  type FrameRefs,
  scanPagemapEntries,
  type ScanTally,
  type ScanTarget,
  swapSlot,
} from "../../src/accounting/pagemap_scan.ts";

const PMD = 512;
const PRESENT = 1n << 63n;
const SWAPPED = 1n << 62n;
const FILE = 1n << 61n;
const EXCLUSIVE = 1n << 56n;
const UFFD_WP = 1n << 57n;
const SOFT_DIRTY = 1n << 55n;

interface PresentOptions {
  exclusive?: boolean;
  file?: boolean;
}

function present(pfn: number, options: PresentOptions = {}): bigint {
  assert.ok(Number.isSafeInteger(pfn) && pfn >= 0, "test precondition: exact PFN");
  return PRESENT | BigInt(pfn) | (options.exclusive ? EXCLUSIVE : 0n) |
    (options.file ? FILE : 0n);
}

function swapped(type = 0, offset = 0): bigint {
  return SWAPPED | (BigInt(offset) << 5n) | BigInt(type);
}

const NONE = 0n;

/** Entries as the file holds them (little-endian u64), viewed as 32-bit words. */
function toWords(entries: bigint[]): Int32Array {
  const bytes = new Uint8Array(entries.length * 8);
  const view = new DataView(bytes.buffer);
  entries.forEach((entry, index) => view.setBigUint64(index * 8, entry, true));
  return new Int32Array(bytes.buffer);
}

/** A run of `count` present entries with PFNs `firstPfn`, `firstPfn + 1`, … */
function run(firstPfn: number, count: number, options: PresentOptions = {}): bigint[] {
  return Array.from({ length: count }, (_, i) => present(firstPfn + i, options));
}

const NORMAL: ScanTarget = { slot: 0, hugetlb: false, exclusiveShortcut: true, pmdPages: PMD };

/** Scans all of `entries` (virtual pages from `firstPage` on) into a fresh batch. */
function scan(
  entries: bigint[],
  firstPage: number,
  target: ScanTarget = NORMAL,
  slots = 1,
  table: FrameTable = createFrameTable(1024),
): { tally: ScanTally; refs: FrameRefs; table: FrameTable } {
  const tally = createScanTally(slots);
  const refs = createFrameRefs(Math.max(1, entries.length));
  scanPagemapEntries(toWords(entries), 0, entries.length, firstPage, target, tally, refs, table);
  return { tally, refs, table };
}

/** The batch's rows as [pfn, slot, kind]. */
function refRows(refs: FrameRefs): [number, number, number][] {
  const rows: [number, number, number][] = [];
  for (let row = 0; row < refs.length; row++) {
    rows.push([refs.pfns[row], refs.metas[row] >>> 2, refs.metas[row] & 3]);
  }
  return rows;
}

function unread(refs: FrameRefs): number[] {
  return [...refs.unread.subarray(0, refs.unreadLength)];
}

Deno.test("exclusive pages are counted without refs, split anon/file by bit 61", () => {
  const { tally, refs, table } = scan([
    present(0x1000, { exclusive: true }),
    present(0x1005, { exclusive: true }),
    present(0x2000, { exclusive: true, file: true }),
    present(0x1001, { exclusive: true }),
  ], 0x7f00_0000);
  assert.equal(refs.length, 0);
  assert.equal(tally.exclusiveAnon[0], 3);
  assert.equal(tally.exclusiveFile[0], 1);
  assert.equal(tally.present, 4);
  assert.equal(tally.swapped[0], 0);
  assert.equal(tally.presentWithoutPfn, 0);
  // Nothing to read for them.
  assert.equal(refs.unreadLength, 0);
  assert.ok(!table.counts.includes(COUNT_PENDING));
});

Deno.test("non-exclusive present pages become refs in address order, with slot and kind", () => {
  const { tally, refs } = scan(
    [
      present(0x3000),
      NONE,
      present(0x3100, { file: true }),
      present(0x3000), // the same frame mapped twice: two rows
    ],
    100,
    { ...NORMAL, slot: 2 },
    3,
  );
  assert.deepEqual(refRows(refs), [
    [0x3000, 2, 0],
    [0x3100, 2, FRAME_FILE],
    [0x3000, 2, 0],
  ]);
  assert.equal(tally.present, 3);
  assert.equal(tally.exclusiveAnon[2], 0);
  assert.equal(tally.exclusiveFile[2], 0);
});

Deno.test("present entries whose PFN does not fit in 32 bits are counted apart, not referenced", () => {
  const { tally, refs } = scan([
    present(0x1_2345_6789, { file: true }),
    present(0x3000),
    present(2 ** 32),
    present(2 ** 53 - 1), // the largest PFN exact in a Number
  ], 0);
  assert.deepEqual(refRows(refs), [[0x3000, 0, 0]]);
  assert.equal(tally.present, 4);
  assert.equal(tally.presentBeyond32Bits, 3);
  assert.equal(tally.presentWithoutPfn, 0);
});

Deno.test("swapped entries are counted per slot; empty entries count nothing", () => {
  const { tally, refs } = scan(
    [
      swapped(1, 0x1234),
      NONE,
      swapped(), // an unprivileged reader sees type and offset 0
      swapped(22, 2 ** 40), // the last type of a swap area
      NONE,
    ],
    0,
    { ...NORMAL, slot: 1 },
    2,
  );
  assert.deepEqual([...tally.swapped], [0, 3]);
  assert.equal(tally.present, 0);
  assert.equal(refs.length, 0);
});

Deno.test("guard-region entries (bits 62 and 58) are not swapped-out memory", () => {
  // Recorded on this kernel (6.18) after madvise(MADV_GUARD_INSTALL) on two pages of
  // an anonymous mapping: bit 62 and bit 58 set, swap type 31 (the PTE-marker type)
  // and offset 4 when read as root; smaps_rollup reported Swap: 0 kB for them.
  const GUARD_AS_ROOT = 0x4400_0000_0000_009fn;
  const GUARD_UNPRIVILEGED = GUARD_AS_ROOT & ~((1n << 55n) - 1n);
  const { tally, refs } = scan(
    [present(0x2294f3, { exclusive: true }), NONE, GUARD_AS_ROOT, GUARD_UNPRIVILEGED],
    0x7f00_0000,
  );
  assert.equal(tally.swapped[0], 0);
  assert.equal(tally.present, 1);
  assert.equal(tally.exclusiveAnon[0], 1);
  assert.equal(refs.length, 0);
});

Deno.test("uffd-wp markers and migration entries are in swap format but not swapped-out memory", () => {
  // Recorded on this kernel (6.18): a page never populated, write-protected by
  // userfaultfd (UFFD_FEATURE_WP_UNPOPULATED), reads as bits 62 and 57, swap
  // type 31 (the PTE-marker type), offset 1; smaps_rollup said Swap: 0 kB.
  const UFFD_WP_MARKER = 0x4200_0000_0000_003fn;
  const MIGRATING = swapped(25, 0x2294f3); // a migration entry: type 25, the PFN as offset
  const { tally, refs } = scan(
    [UFFD_WP_MARKER, MIGRATING, swapped(2, 7), present(0x2294f4, { exclusive: true })],
    0,
    NORMAL,
    1,
  );
  assert.equal(tally.swapped[0], 1, "only the entry in swap area 2");
  assert.equal(tally.present, 1);
  assert.equal(refs.length, 0);
  const census = createFrameTable(64);
  const words = toWords([UFFD_WP_MARKER, MIGRATING, swapped(2, 7)]);
  assert.equal(countSwapSlots(words, 0, 3, census), 0, "markers are not slots left untold");
  assert.equal(frameCount(census, swapSlot((7 << 5) | 2, 0x4000_0000)), 1, "type 2, offset 7");
});

Deno.test("present entries with PFN 0 are counted as presentWithoutPfn, not as memory", () => {
  const { tally, refs } = scan([
    PRESENT | EXCLUSIVE,
    PRESENT,
    PRESENT | FILE,
    present(0x777),
  ], 0);
  assert.equal(tally.present, 4);
  assert.equal(tally.presentWithoutPfn, 3);
  assert.equal(tally.exclusiveAnon[0], 0);
  assert.equal(tally.exclusiveFile[0], 0);
  assert.deepEqual(refRows(refs), [[0x777, 0, 0]]);
});

Deno.test("hugetlb targets never take the shortcut: every frame is a hugetlb ref", () => {
  const entries = [
    ...run(0x8_0000, 4, { exclusive: true, file: true }),
    present(0x9_0000, { exclusive: true }),
  ];
  const { tally, refs } = scan(entries, 0x7f00_0000, { ...NORMAL, hugetlb: true });
  assert.equal(tally.exclusiveAnon[0] + tally.exclusiveFile[0], 0);
  assert.deepEqual(refRows(refs), [
    [0x8_0000, 0, FRAME_HUGETLB | FRAME_FILE],
    [0x8_0001, 0, FRAME_HUGETLB | FRAME_FILE],
    [0x8_0002, 0, FRAME_HUGETLB | FRAME_FILE],
    [0x8_0003, 0, FRAME_HUGETLB | FRAME_FILE],
    [0x9_0000, 0, FRAME_HUGETLB],
  ]);
});

Deno.test("exclusiveShortcut false sends every present frame to refs", () => {
  const entries = [
    present(0x10, { exclusive: true }),
    present(0x11, { exclusive: true, file: true }),
    present(0x12),
    swapped(),
    NONE,
  ];
  const { tally, refs } = scan(entries, 1, { ...NORMAL, exclusiveShortcut: false });
  assert.deepEqual(refRows(refs), [[0x10, 0, 0], [0x11, 0, FRAME_FILE], [0x12, 0, 0]]);
  assert.equal(tally.exclusiveAnon[0] + tally.exclusiveFile[0], 0);
  assert.equal(tally.swapped[0], 1);
  assert.equal(tally.present, 3);
});

// ---- PMD blocks ----

Deno.test("an aligned block of 512 contiguous, 512-aligned exclusive PFNs may be a PMD: all refs", () => {
  const firstPage = 0x7f00_0000_0000 / 4096; // 2 MiB aligned
  assert.equal(firstPage % PMD, 0);
  const { tally, refs } = scan(run(0x4_0000, PMD, { exclusive: true }), firstPage);
  assert.equal(refs.length, PMD);
  assert.equal(tally.exclusiveAnon[0], 0);
  assert.equal(tally.present, PMD);
  for (let row = 0; row < PMD; row++) assert.equal(refs.pfns[row], 0x4_0000 + row);
});

Deno.test("a possible PMD block of file pages (shmem THP) also goes to refs", () => {
  const { tally, refs } = scan(run(0x40_0000, PMD, { exclusive: true, file: true }), 5 * PMD);
  assert.equal(refs.length, PMD);
  assert.equal(tally.exclusiveFile[0], 0);
  assert.ok(refRows(refs).every(([, , kind]) => kind === FRAME_FILE));
});

Deno.test("the PMD block size follows pmdPages (16 KiB pages: 2048 entries)", () => {
  const target = { ...NORMAL, pmdPages: 2048 };
  const block = scan(run(0x10_0000, 2048, { exclusive: true }), 3 * 2048, target);
  assert.equal(block.refs.length, 2048);
  // 512 entries at a 512-aligned page are no PMD block at this size.
  const small = scan(run(0x10_0000, PMD, { exclusive: true }), 3 * 2048, target);
  assert.equal(small.refs.length, 0);
  assert.equal(small.tally.exclusiveAnon[0], PMD);
});

Deno.test("a possible PMD block above 2^32 PFNs is not referenced, and flags the scan", () => {
  const { tally, refs } = scan(run(2 ** 32 + PMD * 7, PMD, { exclusive: true }), 3 * PMD);
  assert.equal(refs.length, 0);
  // The caller refuses a process with any such entry; the block's first entry
  // (where the PMD check would run) is enough. The other entries need no PFN
  // to be counted as mapped once, so the scan may count them so.
  assert.ok(tally.presentBeyond32Bits >= 1);
  assert.equal(tally.present, PMD);
});

Deno.test("PFNs whose low word has bit 31 set (negative as int32) are exact", () => {
  // One table for frame numbers up to 2^32 - 1: 8 GiB of address space, backed
  // by memory only where written.
  const table = createFrameTable(1024);
  const { refs } = scan(
    [
      present(0x8000_0000),
      present(0xffff_ffff, { file: true }),
      present(0x7fff_ffff),
    ],
    0,
    NORMAL,
    1,
    table,
  );
  assert.deepEqual(refRows(refs), [
    [0x8000_0000, 0, 0],
    [0xffff_ffff, 0, FRAME_FILE],
    [0x7fff_ffff, 0, 0],
  ]);
  assert.deepEqual(unread(refs), [0x8000_0000, 0xffff_ffff, 0x7fff_ffff]);
  assert.equal(table.counts[0xffff_ffff], COUNT_PENDING);
  for (const base of [0x8000_0000, 0xffff_fe00]) {
    const pmd = scan(run(base, PMD, { exclusive: true }), 6 * PMD, NORMAL, 1, table);
    assert.equal(pmd.refs.length, PMD, `PMD at PFN ${base.toString(16)}`);
    assert.equal(pmd.refs.pfns[PMD - 1], base + PMD - 1);
    const broken = run(base, PMD, { exclusive: true });
    broken[PMD - 1] = present(base - 1, { exclusive: true });
    const shortcut = scan(broken, 6 * PMD, NORMAL, 1, table);
    assert.equal(shortcut.tally.exclusiveAnon[0], PMD, `broken at ${base.toString(16)}`);
  }
});

Deno.test("the same block whose last PFN breaks contiguity cannot be a PMD: shortcut", () => {
  const entries = run(0x4_0000, PMD, { exclusive: true });
  entries[PMD - 1] = present(0x9_9999, { exclusive: true });
  const { tally, refs } = scan(entries, 4 * PMD);
  assert.equal(refs.length, 0);
  assert.equal(tally.exclusiveAnon[0], PMD);
});

Deno.test("the same block with a PFN run not 512-aligned cannot be a PMD: shortcut", () => {
  const { tally, refs } = scan(run(0x4_0001, PMD, { exclusive: true }), 4 * PMD);
  assert.equal(refs.length, 0);
  assert.equal(tally.exclusiveAnon[0], PMD);
});

Deno.test("the same block at a misaligned virtual start cannot be a PMD: shortcut", () => {
  for (const firstPage of [4 * PMD + 1, 4 * PMD + 256, 4 * PMD - 1]) {
    const { tally, refs } = scan(run(0x4_0000, PMD, { exclusive: true }), firstPage);
    assert.equal(refs.length, 0, `firstPage ${firstPage}`);
    assert.equal(tally.exclusiveAnon[0], PMD, `firstPage ${firstPage}`);
  }
});

Deno.test("a block whose 512th entry is past entryCount takes the shortcut", () => {
  // A VMA ending one page short of the block cannot hold a PMD mapping, even when
  // the reused buffer still holds a matching entry from an earlier read.
  const stale = toWords(run(0x4_0000, PMD, { exclusive: true }));
  const tally = createScanTally(1);
  const refs = createFrameRefs(PMD);
  scanPagemapEntries(stale, 0, PMD - 1, 4 * PMD, NORMAL, tally, refs, createFrameTable(1024));
  assert.equal(refs.length, 0);
  assert.equal(tally.exclusiveAnon[0], PMD - 1);
  const short = scan(run(0x4_0000, PMD - 1, { exclusive: true }), 4 * PMD);
  assert.equal(short.refs.length, 0);
  assert.equal(short.tally.exclusiveAnon[0], PMD - 1);
});

Deno.test("a possible PMD in the middle of a buffer: only its 512 entries become refs", () => {
  // 10 small pages, an aligned block of 512, 10 small pages.
  const before = [0x100, 0x300, 0x500, 0x700, 0x900, 0xb00, 0xd00, 0xf00, 0x1100, 0x1300]
    .map((pfn) => present(pfn, { exclusive: true }));
  const after = before.map((entry) => entry + 1n);
  const entries = [...before, ...run(0x20_0000, PMD, { exclusive: true }), ...after];
  const { tally, refs } = scan(entries, 8 * PMD - 10);
  assert.equal(tally.exclusiveAnon[0], 20);
  assert.equal(refs.length, PMD);
  assert.equal(refs.pfns[0], 0x20_0000);
  assert.equal(refs.pfns[PMD - 1], 0x20_0000 + PMD - 1);
});

Deno.test("a PMD block whose copied bit 56 is clear is all refs anyway", () => {
  const { tally, refs } = scan(run(0x4_0000, PMD), 2 * PMD);
  assert.equal(refs.length, PMD);
  assert.equal(tally.exclusiveAnon[0], 0);
});

// ---- where in the buffer ----

Deno.test("only entryCount entries from `from` are scanned", () => {
  const words = toWords([present(1), present(2), present(3), present(4), present(5)]);
  const tally = createScanTally(1);
  const refs = createFrameRefs(5);
  scanPagemapEntries(words, 1, 2, 0, NORMAL, tally, refs, createFrameTable(1024));
  assert.deepEqual(refRows(refs), [[2, 0, 0], [3, 0, 0]]);
  assert.equal(tally.present, 2);
});

Deno.test("long runs of empty entries are passed over, and the entries between them counted", () => {
  // Not present, not swapped: zero, or soft-dirty where the kernel tracks it
  // (a VMA's untouched pages then read as bit 55 alone), or write-protected.
  const kinds = [NONE, SOFT_DIRTY, UFFD_WP];
  const holes = (count: number) => Array.from({ length: count }, (_, i) => kinds[i % 3]);
  // An exclusive page, a shared one and a swapped one between runs of holes (a
  // reservation reads as millions of them), and a page past the scanned range.
  const entries = [
    ...holes(3000),
    present(0x10, { exclusive: true }),
    ...holes(1),
    present(0x20),
    ...holes(700),
    swapped(1, 9),
    ...holes(2000),
    present(0x30),
  ];
  const words = toWords(entries);
  const tally = createScanTally(1);
  const refs = createFrameRefs(entries.length);
  scanPagemapEntries(words, 0, entries.length - 1, 0, NORMAL, tally, refs, createFrameTable(1024));
  assert.equal(tally.exclusiveAnon[0], 1);
  assert.deepEqual(refRows(refs), [[0x20, 0, 0]]);
  assert.equal(tally.swapped[0], 1);
  assert.equal(tally.present, 2);
});

Deno.test("a run scanned from the middle of a buffer is aligned by its own first page", () => {
  // 7 entries of another mapping, then a block of 512 whose first page is PMD-aligned.
  const words = toWords([...run(0x100, 7), ...run(0x4_0000, PMD, { exclusive: true })]);
  const table = createFrameTable(1024);
  const aligned = createFrameRefs(PMD);
  scanPagemapEntries(words, 7, PMD, 4 * PMD, NORMAL, createScanTally(1), aligned, table);
  assert.equal(aligned.length, PMD);
  assert.equal(aligned.pfns[0], 0x4_0000);
  const tally = createScanTally(1);
  const misaligned = createFrameRefs(PMD);
  scanPagemapEntries(words, 7, PMD, 4 * PMD + 7, NORMAL, tally, misaligned, table);
  assert.equal(misaligned.length, 0);
  assert.equal(tally.exclusiveAnon[0], PMD);
});

Deno.test("tallies and refs accumulate across calls and slots", () => {
  const tally = createScanTally(2);
  const refs = createFrameRefs(8);
  const table = createFrameTable(1024);
  const first = toWords([present(0x50, { exclusive: true }), present(0x51), swapped()]);
  const second = toWords([
    present(0x60, { exclusive: true, file: true }),
    present(0x61, { file: true }),
  ]);
  scanPagemapEntries(first, 0, 3, 0, NORMAL, tally, refs, table);
  scanPagemapEntries(first, 0, 3, 3, NORMAL, tally, refs, table);
  scanPagemapEntries(second, 0, 2, 100, { ...NORMAL, slot: 1 }, tally, refs, table);
  assert.deepEqual([...tally.exclusiveAnon], [2, 0]);
  assert.deepEqual([...tally.exclusiveFile], [0, 1]);
  assert.deepEqual([...tally.swapped], [2, 0]);
  assert.equal(tally.present, 6);
  assert.deepEqual(refRows(refs), [[0x51, 0, 0], [0x51, 0, 0], [0x61, 1, FRAME_FILE]]);
});

// ---- frames whose count is not known yet ----

Deno.test("a frame of unknown count is marked pending and listed once; a repeat sets waiting", () => {
  const { refs, table } = scan([present(0x30), present(0x31, { file: true }), present(0x30)], 0);
  assert.equal(refs.length, 3);
  assert.deepEqual(unread(refs), [0x30, 0x31]);
  assert.equal(table.counts[0x30], COUNT_PENDING);
  assert.equal(table.counts[0x31], COUNT_PENDING);
  // The second 0x30 finds it pending: this batch's own read will settle it.
  assert.equal(refs.waiting, true);
});

Deno.test("a batch of distinct unknown frames does not wait", () => {
  const { refs } = scan([present(0x30), present(0x31), present(0x32)], 0);
  assert.deepEqual(unread(refs), [0x30, 0x31, 0x32]);
  assert.equal(refs.waiting, false);
});

Deno.test("frames with a recorded count are neither listed nor waited for", () => {
  const table = createFrameTable(1024);
  setFrameCount(table, 0x40, 2);
  setFrameCount(table, 0x41, 0); // not resident
  setFrameCount(table, 0x42, 70_000); // beyond 16 bits
  const { refs } = scan([present(0x40), present(0x41), present(0x42)], 0, NORMAL, 1, table);
  assert.equal(refs.length, 3);
  assert.equal(refs.unreadLength, 0);
  assert.equal(refs.waiting, false);
  assert.equal(frameCount(table, 0x42), 70_000);
});

Deno.test("another batch meeting a frame still pending waits for it; once recorded, it does not", () => {
  const table = createFrameTable(1024);
  const first = scan([present(0x50), present(0x51)], 0, NORMAL, 1, table).refs;
  assert.deepEqual(unread(first), [0x50, 0x51]);
  const second = scan([present(0x52), present(0x50)], 0, NORMAL, 1, table).refs;
  assert.deepEqual(unread(second), [0x52]);
  assert.equal(second.waiting, true);
  setFrameCount(table, 0x50, 3);
  const third = scan([present(0x50)], 0, NORMAL, 1, table).refs;
  assert.equal(third.unreadLength, 0);
  assert.equal(third.waiting, false);
});

Deno.test("swapped, PFN-less and out-of-range entries mark nothing", () => {
  const { refs, table } = scan([swapped(0, 0x30), PRESENT, present(2 ** 32 + 0x30)], 0);
  assert.equal(refs.unreadLength, 0);
  assert.equal(refs.waiting, false);
  assert.equal(table.counts[0x30], COUNT_UNKNOWN);
});

Deno.test("a frame beyond the table grows it, and is marked pending there", () => {
  const table = createFrameTable(32);
  const { refs } = scan([present(0x1_0000), present(0x1_0000 + PMD * 9)], 0, NORMAL, 1, table);
  assert.ok(table.counts.length > 0x1_0000 + PMD * 9);
  assert.deepEqual(unread(refs), [0x1_0000, 0x1_0000 + PMD * 9]);
  assert.equal(table.counts[0x1_0000 + PMD * 9], COUNT_PENDING);
});

Deno.test("clearFrameRefs empties a batch for reuse", () => {
  const table = createFrameTable(1024);
  const refs = createFrameRefs(4);
  const tally = createScanTally(1);
  scanPagemapEntries(toWords([present(7), present(7)]), 0, 2, 0, NORMAL, tally, refs, table);
  assert.equal(refs.waiting, true);
  clearFrameRefs(refs);
  assert.equal(refs.length, 0);
  assert.equal(refs.unreadLength, 0);
  assert.equal(refs.waiting, false);
  setFrameCount(table, 7, 2);
  scanPagemapEntries(toWords([present(8), present(7)]), 0, 2, 0, NORMAL, tally, refs, table);
  assert.deepEqual(refRows(refs), [[8, 0, 0], [7, 0, 0]]);
  assert.deepEqual(unread(refs), [8]);
  assert.equal(refs.waiting, false);
});

Deno.test("countSwapSlots: references per slot, exact past 16 bits; swapSlot numbers type and offset", () => {
  const table = createFrameTable(64);
  // Swap entries: type 0, offset 3 (bit 62 set; offset in bits 5-54).
  const entries = 70_000;
  const words = new Int32Array(entries * 2);
  for (let i = 0; i < entries; i++) {
    words[2 * i] = 3 << 5;
    words[2 * i + 1] = 0x4000_0000;
  }
  assert.equal(countSwapSlots(words, 0, entries, table), 0, "every slot told apart");
  assert.equal(frameCount(table, 3), entries, "a count beyond 65531 is kept exactly");
  assert.equal(swapSlot((5 << 5) | 1, 0x4000_0000), 0x800_0000 + 5, "type 1, offset 5");
  assert.equal(swapSlot(0, 0x4000_0000), -1, "offset 0 (hidden without CAP_SYS_ADMIN)");
});
