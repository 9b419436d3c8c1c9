// Covers scanPagemapEntries (src/accounting/pagemap_scan.ts): pages with bit 56
// (mapped exactly once) are counted without a kpagecount read, split anon/file by
// bit 61; other present pages become frame refs; swapped entries and PFN-less
// present entries are counted; hugetlb never trusts bit 56; a 2 MiB block that
// could be PMD-mapped (the kernel copies bit 56 to all 512 entries) goes to refs,
// while one that cannot be (misaligned or non-contiguous) takes the shortcut.
// Entries are built with BigInt from the bit layout in pagemap.rst.

import assert from "node:assert/strict";
import {
  createFrameRefs,
  createScanTally,
  FRAME_FILE,
  FRAME_HUGETLB,
  type FrameRefs,
  scanPagemapEntries,
  type ScanTally,
  type ScanTarget,
} from "../../src/accounting/pagemap_scan.ts";

const PMD = 512;
const PRESENT = 1n << 63n;
const SWAPPED = 1n << 62n;
const FILE = 1n << 61n;
const EXCLUSIVE = 1n << 56n;

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

const NORMAL: ScanTarget = { vma: 0, hugetlb: false, exclusiveShortcut: true };

function scan(
  entries: bigint[],
  firstPage: number,
  target: ScanTarget = NORMAL,
  vmaCount = 1,
): { tally: ScanTally; refs: FrameRefs } {
  const tally = createScanTally(vmaCount);
  const refs = createFrameRefs();
  scanPagemapEntries(toWords(entries), entries.length, firstPage, target, tally, refs);
  return { tally, refs };
}

function refRows(refs: FrameRefs): [number, number, number][] {
  const rows: [number, number, number][] = [];
  for (let row = 0; row < refs.length; row++) {
    rows.push([refs.pfns[row], refs.vmas[row], refs.kinds[row]]);
  }
  return rows;
}

Deno.test("exclusive pages are counted without refs, split anon/file by bit 61", () => {
  const { tally, refs } = scan([
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
});

Deno.test("non-exclusive present pages become refs in address order, file ones marked", () => {
  const { tally, refs } = scan(
    [
      present(0x3000),
      NONE,
      present(0x1_2345_6789, { file: true }), // PFN above 2^32
      present(0x3000), // the same frame mapped twice: two rows
    ],
    100,
    { vma: 2, hugetlb: false, exclusiveShortcut: true },
    3,
  );
  assert.deepEqual(refRows(refs), [
    [0x3000, 2, 0],
    [0x1_2345_6789, 2, FRAME_FILE],
    [0x3000, 2, 0],
  ]);
  assert.equal(tally.present, 3);
  assert.equal(tally.exclusiveAnon[2], 0);
  assert.equal(tally.exclusiveFile[2], 0);
});

Deno.test("swapped entries are counted per VMA; empty entries count nothing", () => {
  const { tally, refs } = scan(
    [
      swapped(1, 0x1234),
      NONE,
      swapped(), // an unprivileged reader sees type and offset 0
      swapped(31, 2 ** 40),
      NONE,
    ],
    0,
    { vma: 1, hugetlb: false, exclusiveShortcut: true },
    2,
  );
  assert.equal(tally.swapped[1], 3);
  assert.equal(tally.swapped[0], 0);
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
  const { tally, refs } = scan(entries, 0x7f00_0000, {
    vma: 0,
    hugetlb: true,
    exclusiveShortcut: true,
  });
  assert.equal(tally.exclusiveAnon[0] + tally.exclusiveFile[0], 0);
  assert.deepEqual(refRows(refs), [
    [0x8_0000, 0, FRAME_HUGETLB | FRAME_FILE],
    [0x8_0001, 0, FRAME_HUGETLB | FRAME_FILE],
    [0x8_0002, 0, FRAME_HUGETLB | FRAME_FILE],
    [0x8_0003, 0, FRAME_HUGETLB | FRAME_FILE],
    [0x9_0000, 0, FRAME_HUGETLB],
  ]);
});

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

Deno.test("a possible PMD block above 2^32 PFNs goes to refs", () => {
  const base = 2 ** 32 + 512 * 7;
  const { refs } = scan(run(base, PMD, { exclusive: true }), 3 * PMD);
  assert.equal(refs.length, PMD);
  assert.equal(refs.pfns[PMD - 1], base + PMD - 1);
});

Deno.test("PFNs whose low word has bit 31 set (negative as int32) are exact", () => {
  const { refs } = scan([
    present(0x8000_0000),
    present(0xffff_ffff, { file: true }),
    present(2 ** 53 - 1), // largest PFN exact in a Number: bits 0-52 set
    present(0x1_8000_0001),
  ], 0);
  assert.deepEqual(refRows(refs), [
    [0x8000_0000, 0, 0],
    [0xffff_ffff, 0, FRAME_FILE],
    [2 ** 53 - 1, 0, 0],
    [0x1_8000_0001, 0, 0],
  ]);
  for (const base of [0x8000_0000, 0xffff_fe00, 0x3_ffff_fe00]) {
    const pmd = scan(run(base, PMD, { exclusive: true }), 6 * PMD);
    assert.equal(pmd.refs.length, PMD, `PMD at PFN ${base.toString(16)}`);
    assert.equal(pmd.refs.pfns[PMD - 1], base + PMD - 1);
    const broken = run(base, PMD, { exclusive: true });
    broken[PMD - 1] = present(base + PMD, { exclusive: true });
    assert.equal(scan(broken, 6 * PMD).tally.exclusiveAnon[0], PMD, `broken at ${base}`);
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
  const refs = createFrameRefs();
  scanPagemapEntries(stale, PMD - 1, 4 * PMD, NORMAL, tally, refs);
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

Deno.test("exclusiveShortcut false sends every present frame to refs", () => {
  const entries = [
    present(0x10, { exclusive: true }),
    present(0x11, { exclusive: true, file: true }),
    present(0x12),
    swapped(),
    NONE,
  ];
  const { tally, refs } = scan(entries, 1, { vma: 0, hugetlb: false, exclusiveShortcut: false });
  assert.deepEqual(refRows(refs), [[0x10, 0, 0], [0x11, 0, FRAME_FILE], [0x12, 0, 0]]);
  assert.equal(tally.exclusiveAnon[0] + tally.exclusiveFile[0], 0);
  assert.equal(tally.swapped[0], 1);
  assert.equal(tally.present, 3);
});

Deno.test("refs grow past their initial capacity and keep every row", () => {
  const tally = createScanTally(1);
  const refs = createFrameRefs(4);
  const entries = Array.from(
    { length: 37 },
    (_, i) => present(1000 + 3 * i, { file: i % 2 === 0 }),
  );
  scanPagemapEntries(toWords(entries), entries.length, 0, NORMAL, tally, refs);
  assert.equal(refs.length, 37);
  assert.ok(refs.pfns.length >= 37);
  for (let row = 0; row < 37; row++) {
    assert.equal(refs.pfns[row], 1000 + 3 * row);
    assert.equal(refs.vmas[row], 0);
    assert.equal(refs.kinds[row], row % 2 === 0 ? FRAME_FILE : 0);
  }
  const big = scan(run(0x10_0001, 5000), 0).refs; // default capacity 4096
  assert.equal(big.length, 5000);
  assert.equal(big.pfns[4999], 0x10_0001 + 4999);
});

Deno.test("tallies and refs accumulate across calls and VMAs", () => {
  const tally = createScanTally(2);
  const refs = createFrameRefs();
  const first = [present(0x50, { exclusive: true }), present(0x51), swapped()];
  const second = [present(0x60, { exclusive: true, file: true }), present(0x61, { file: true })];
  scanPagemapEntries(toWords(first), 3, 0, { ...NORMAL, vma: 0 }, tally, refs);
  scanPagemapEntries(toWords(first), 3, 3, { ...NORMAL, vma: 0 }, tally, refs);
  scanPagemapEntries(toWords(second), 2, 100, { ...NORMAL, vma: 1 }, tally, refs);
  assert.deepEqual([...tally.exclusiveAnon], [2, 0]);
  assert.deepEqual([...tally.exclusiveFile], [0, 1]);
  assert.deepEqual([...tally.swapped], [2, 0]);
  assert.equal(tally.present, 6);
  assert.deepEqual(refRows(refs), [[0x51, 0, 0], [0x51, 0, 0], [0x61, 1, FRAME_FILE]]);
});

Deno.test("only the first entryCount entries of the buffer are scanned", () => {
  const words = toWords([present(1), present(2), present(3), present(4)]);
  const tally = createScanTally(1);
  const refs = createFrameRefs();
  scanPagemapEntries(words, 2, 0, NORMAL, tally, refs);
  assert.deepEqual(refRows(refs), [[1, 0, 0], [2, 0, 0]]);
  assert.equal(tally.present, 2);
});
