// Covers src/accounting/frame_table.ts: recording counts (setFrameCount,
// frameCount, ensureFrame, forgetCounts) and the per-process rule of
// accountRefs. Frame refs and kpagecounts are chosen per case.
// Expected figures follow the team's page-accounting notes
// (../shared/docs/page-accounting.md, outside the repository): a frame is unique when its
// count (kpagecount less the tool's own entries) equals the process's own
// entries for it, and it counts in the slot of the entry that completes that
// count; RSS is one page per entry of a resident frame, as the kernel's Rss,
// while RAM counts each resident frame once, in the slot of its first entry;
// PSS adds PAGE / count per entry, untruncated; kpagecount 0 is not memory;
// hugetlb counts only in the hugetlb fields (one page per entry). Frames whose
// recorded count is below the process's own entries are "moved": listed once
// in `moved` (the tool measures the process again with fresh counts), and
// counted unique once (clamped). The last test drives accountRefs's two paths
// (short and general) over random mixes, groups included; groups as such are in
// group_test.ts;
// how a process's figures are assembled (slotUsage, processTotal) is in usage_test.ts.

import assert from "node:assert/strict";
import {
  accountRefs,
  beginGroup,
  beginProcess,
  COUNT_PENDING,
  COUNT_UNKNOWN,
  createFrameTable,
  createProcessAccount,
  ensureFrame,
  FIELDS,
  forgetCounts,
  FRAME_FILE,
  FRAME_HUGETLB,
  frameCount,
  type FrameTable,
  HUGETLB,
  HUGETLB_USS,
  type ProcessAccount,
  PSS,
  RAM,
  resetFrameTable,
  RSS,
  setFrameCount,
  USS_ANON,
  USS_FILE,
} from "../../src/accounting/frame_table.ts";
import { createFrameRefs, type FrameRefs } from "../../src/accounting/pagemap_scan.ts";

const PAGE = 4096;

/** One page-table entry of the process whose frame is counted. */
interface Entry {
  pfn: number;
  slot?: number;
  kind?: number;
}

function times(count: number, entry: Entry): Entry[] {
  return Array.from({ length: count }, () => ({ ...entry }));
}

function refsOf(entries: Entry[]): FrameRefs {
  const refs = createFrameRefs(Math.max(1, entries.length));
  for (const { pfn, slot = 0, kind = 0 } of entries) {
    refs.pfns[refs.length] = pfn;
    refs.metas[refs.length] = slot << 2 | kind;
    refs.length++;
  }
  return refs;
}

/** What /proc/kpagecount says, per PFN, and the tool's own entries. */
interface Kernel {
  /** kpagecount when the count pass reads it (every referenced frame listed). */
  kpagecount: Record<number, number>;
  /** Entries the measuring tool itself holds, per PFN. */
  self?: Record<number, number>;
}

type SelfEntries = (pfn: number) => number;

/** A table with every count of `kernel` recorded, and the tool's own entries. */
function setup(kernel: Kernel): { table: FrameTable; self: SelfEntries } {
  const table = createFrameTable(1024);
  const self = (pfn: number) => kernel.self?.[pfn] ?? 0;
  for (const [pfn, raw] of Object.entries(kernel.kpagecount)) {
    ensureFrame(table, Number(pfn));
    setFrameCount(table, Number(pfn), raw, self(Number(pfn)));
  }
  return { table, self };
}

/** Accounts one process's entries (in batches) as a new process of `table`. */
function accountProcess(
  table: FrameTable,
  self: SelfEntries,
  batches: Entry[][],
  options: { slots?: number; includeSelf?: boolean } = {},
): ProcessAccount {
  beginProcess(table);
  const account = createProcessAccount(options.slots ?? 1, options.includeSelf ?? false);
  for (const batch of batches) accountRefs(table, refsOf(batch), account, null, PAGE, self);
  return account;
}

/** One process, one batch, on a fresh table. */
function measure(
  kernel: Kernel,
  entries: Entry[],
  options: { slots?: number; includeSelf?: boolean } = {},
) {
  const { table, self } = setup(kernel);
  const account = accountProcess(table, self, [entries], options);
  return { account, table };
}

/** The frame-derived figures of one slot, in pages. */
interface Pages {
  ussAnon: number;
  ussFile: number;
  pss: number;
  rss: number;
  ram: number;
  hugetlb: number;
  hugetlbUss: number;
}

function pages(partial: Partial<Pages>): Pages {
  return {
    ussAnon: 0,
    ussFile: 0,
    pss: 0,
    rss: 0,
    ram: 0,
    hugetlb: 0,
    hugetlbUss: 0,
    ...partial,
  };
}

function slotPages(account: ProcessAccount, slot = 0): Pages {
  const at = (field: number) => account.figures[slot * FIELDS + field] / PAGE;
  return {
    ussAnon: at(USS_ANON),
    ussFile: at(USS_FILE),
    pss: at(PSS),
    rss: at(RSS),
    ram: at(RAM),
    hugetlb: at(HUGETLB),
    hugetlbUss: at(HUGETLB_USS),
  };
}

function assertClose(actual: number, expected: number, message?: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-9, message ?? `${actual} ≈ ${expected}`);
}

// ---- recording counts ----

Deno.test("setFrameCount records kpagecount less the tool's own entries", () => {
  const table = createFrameTable(64);
  setFrameCount(table, 42, 3, 1);
  setFrameCount(table, 43, 1);
  setFrameCount(table, 44, 1, 1); // only the tool maps it
  setFrameCount(table, 45, 1, 2); // the tool saw more entries than the count: not below 0
  assert.equal(frameCount(table, 42), 2);
  assert.equal(frameCount(table, 43), 1);
  assert.equal(frameCount(table, 44), 0);
  assert.equal(frameCount(table, 45), 0);
});

Deno.test("kpagecount 0 (zero page, untracked) records the frame as not resident: -1", () => {
  const table = createFrameTable(64);
  setFrameCount(table, 7, 0);
  setFrameCount(table, 8, 0, 1);
  assert.equal(frameCount(table, 7), -1);
  assert.equal(frameCount(table, 8), -1);
});

Deno.test("counts too large for 16 bits are kept exactly, and can be recorded again", () => {
  const table = createFrameTable(64);
  for (const raw of [65_531, 65_532, 65_535, 65_536, 70_000, 2 ** 32 - 1]) {
    setFrameCount(table, 9, raw);
    assert.equal(frameCount(table, 9), raw, String(raw));
  }
  setFrameCount(table, 9, 70_001, 1);
  assert.equal(frameCount(table, 9), 70_000);
  setFrameCount(table, 9, 5);
  assert.equal(frameCount(table, 9), 5);
  assert.equal(table.largeCounts.size, 0);
});

Deno.test("frameCount of a frame never recorded, or still pending, is an error", () => {
  const table = createFrameTable(64);
  assert.throws(() => frameCount(table, 3), RangeError);
  table.counts[3] = COUNT_PENDING;
  assert.throws(() => frameCount(table, 3), RangeError);
});

Deno.test("ensureFrame grows the table keeping recorded counts; PFNs from 2^32 are refused", () => {
  const table = createFrameTable(100);
  assert.ok(table.counts.length >= 100);
  setFrameCount(table, 99, 4);
  ensureFrame(table, 5000);
  assert.ok(table.counts.length > 5000);
  assert.equal(frameCount(table, 99), 4);
  setFrameCount(table, 5000, 2);
  assert.equal(frameCount(table, 5000), 2);
  assert.throws(() => ensureFrame(table, 2 ** 32), RangeError);
});

Deno.test("resetFrameTable forgets every count, wherever it was recorded, also after growth", () => {
  const table = createFrameTable(10_000);
  // The first and last frames, both frames of one 32-bit word, a frame on each
  // side of a 4 KiB page boundary of the array (2048 frames), a count beyond 16 bits.
  const frames = [0, 2047, 2048, 4000, 4001, table.counts.length - 1];
  for (const pfn of frames) setFrameCount(table, pfn, 3);
  setFrameCount(table, 5000, 70_000);
  ensureFrame(table, 50_000);
  setFrameCount(table, 50_000, 1);
  table.counts[table.counts.length - 1] = COUNT_PENDING;
  resetFrameTable(table);
  assert.ok(table.counts.every((value) => value === COUNT_UNKNOWN));
  assert.equal(table.largeCounts.size, 0);
  setFrameCount(table, 4000, 2);
  assert.equal(frameCount(table, 4000), 2);
});

// ---- one process ----

Deno.test("private frames (kpagecount 1, one entry each) are unique, anon and file apart", () => {
  const { account } = measure(
    { kpagecount: { 10: 1, 11: 1, 12: 1 } },
    [{ pfn: 10 }, { pfn: 11 }, { pfn: 12, kind: FRAME_FILE }],
  );
  assert.deepEqual(slotPages(account), pages({ ussAnon: 2, ussFile: 1, pss: 3, rss: 3, ram: 3 }));
  assert.deepEqual(account.moved, []);
});

Deno.test("a frame shared with another process (kpagecount 2, one own entry) is not unique", () => {
  const { account } = measure({ kpagecount: { 42: 2 } }, [{ pfn: 42 }]);
  assert.deepEqual(slotPages(account), pages({ pss: 1 / 2, rss: 1, ram: 1 }));
});

Deno.test("a frame mapped twice by the process (kpagecount 2) is unique, one frame of RAM, two of RSS", () => {
  const { account } = measure(
    { kpagecount: { 500: 2 } },
    [{ pfn: 500, slot: 0, kind: FRAME_FILE }, { pfn: 500, slot: 1, kind: FRAME_FILE }],
    { slots: 2 },
  );
  // Changed semantics: RSS is the kernel's, one page per entry (it was one per
  // frame, as RAM is now), and the unique frame counts in the slot of the entry
  // that completes its count, the last (it was the first).
  assert.deepEqual(slotPages(account, 0), pages({ pss: 1 / 2, rss: 1, ram: 1 }));
  assert.deepEqual(slotPages(account, 1), pages({ ussFile: 1, pss: 1 / 2, rss: 1 }));
});

Deno.test("a unique frame counts in the slot of the entry that completes its count", () => {
  const { account } = measure(
    { kpagecount: { 8: 3 } },
    [{ pfn: 8, slot: 2 }, { pfn: 8, slot: 0 }, { pfn: 8, slot: 1 }],
    { slots: 3 },
  );
  assert.deepEqual(slotPages(account, 2), pages({ pss: 1 / 3, rss: 1, ram: 1 }));
  assert.deepEqual(slotPages(account, 0), pages({ pss: 1 / 3, rss: 1 }));
  assert.deepEqual(slotPages(account, 1), pages({ ussAnon: 1, pss: 1 / 3, rss: 1 }));
});

Deno.test("a KSM frame with 256 own entries and kpagecount 256 is unique; RSS counts 256 entries", () => {
  const { account } = measure(
    { kpagecount: { 0x7000: 256, 0x7001: 256 } },
    [...times(256, { pfn: 0x7000 }), ...times(256, { pfn: 0x7001 })],
  );
  // Changed semantics: RSS is one page per entry, as the kernel's Rss.
  assert.deepEqual(slotPages(account), pages({ ussAnon: 2, pss: 2, rss: 512, ram: 2 }));
});

Deno.test("a KSM frame also merged into another process (kpagecount above own entries) is shared", () => {
  const { account } = measure({ kpagecount: { 0x7000: 4 } }, times(3, { pfn: 0x7000 }));
  assert.deepEqual(slotPages(account), pages({ pss: 3 / 4, rss: 3, ram: 1 }));
});

Deno.test("a count beyond 16 bits: 70000 own entries on a frame with kpagecount 70000 is unique", () => {
  const { account } = measure({ kpagecount: { 3: 70_000 } }, times(70_000, { pfn: 3 }));
  const figures = slotPages(account);
  assert.equal(figures.ussAnon, 1);
  assert.equal(figures.rss, 70_000);
  assert.equal(figures.ram, 1);
  assertClose(figures.pss, 1);
  assert.deepEqual(account.moved, []);
});

Deno.test("PSS adds PAGE / count per entry, untruncated", () => {
  const { account } = measure(
    { kpagecount: { 1: 3, 2: 3, 3: 3, 4: 5 } },
    [{ pfn: 1 }, { pfn: 2 }, { pfn: 3 }, { pfn: 4 }],
  );
  // 3 × 1/3 page, plus 1/5 page (819.2 bytes: procrank's per-page KiB truncation gives 0).
  assertClose(slotPages(account).pss, 1 + 1 / 5);
  assertClose(account.figures[PSS], PAGE + PAGE / 5);
});

Deno.test("kpagecount 0 (zero page, untracked PFNs) counts nothing, not even RSS or RAM", () => {
  const { account } = measure(
    { kpagecount: { 0x1234: 0, 0x1235: 0, 0x99: 1 } },
    [...times(10, { pfn: 0x1234 }), { pfn: 0x99 }, { pfn: 0x1235, kind: FRAME_FILE }],
  );
  assert.deepEqual(slotPages(account), pages({ ussAnon: 1, pss: 1, rss: 1, ram: 1 }));
  assert.deepEqual(account.moved, []);
});

Deno.test("the tool's own entries, subtracted when the count is recorded, do not make a frame shared", () => {
  const { account } = measure(
    { kpagecount: { 77: 2, 78: 3 }, self: { 77: 1, 78: 1 } },
    [{ pfn: 77, kind: FRAME_FILE }, { pfn: 78, kind: FRAME_FILE }],
  );
  // 77: only the tool shares it. 78: a third process still maps it.
  assert.deepEqual(slotPages(account), pages({ ussFile: 1, pss: 1 + 1 / 2, rss: 2, ram: 2 }));
});

Deno.test("a tool measuring itself counts its own entries back in", () => {
  const { account } = measure(
    { kpagecount: { 20: 1, 21: 2, 22: 2 }, self: { 20: 1, 21: 1, 22: 2 } },
    [{ pfn: 20 }, { pfn: 21 }, { pfn: 22 }, { pfn: 22 }],
    { includeSelf: true },
  );
  // 20: its private page; 21: shared with another process; 22: mapped twice, only by it.
  assert.deepEqual(slotPages(account), pages({ ussAnon: 2, pss: 1 + 1 / 2 + 1, rss: 4, ram: 3 }));
  assert.deepEqual(account.moved, []);
});

Deno.test("hugetlb frames count only in hugetlb (one page per entry) and hugetlbUss, not RAM", () => {
  const { account } = measure(
    { kpagecount: { 0x800: 1, 0x801: 2, 0x802: 2 } },
    [
      { pfn: 0x800, kind: FRAME_HUGETLB }, // private
      { pfn: 0x801, kind: FRAME_HUGETLB | FRAME_FILE }, // shared with another process
      { pfn: 0x802, kind: FRAME_HUGETLB | FRAME_FILE }, // mapped twice by the process
      { pfn: 0x802, kind: FRAME_HUGETLB | FRAME_FILE },
    ],
  );
  assert.deepEqual(slotPages(account), pages({ hugetlb: 4, hugetlbUss: 2 }));
});

Deno.test("a process's entries in several batches are still its own: a frame turns unique once", () => {
  const { table, self } = setup({ kpagecount: { 11: 2, 12: 3 } });
  const account = accountProcess(
    table,
    self,
    [[{ pfn: 11, slot: 0 }, { pfn: 12, slot: 0 }], [{ pfn: 12, slot: 1 }], [
      { pfn: 11, slot: 1 },
      { pfn: 12, slot: 1 },
    ]],
    { slots: 2 },
  );
  assert.deepEqual(slotPages(account, 0), pages({ pss: 1 / 2 + 1 / 3, rss: 2, ram: 2 }));
  assert.equal(slotPages(account, 1).ussAnon, 2);
  assert.equal(slotPages(account, 1).rss, 3);
  assert.equal(slotPages(account, 1).ram, 0);
});

Deno.test("every frame of a batch needs a recorded count", () => {
  const { table, self } = setup({ kpagecount: { 1: 1 } });
  beginProcess(table);
  const account = createProcessAccount(1);
  assert.throws(
    () => accountRefs(table, refsOf([{ pfn: 1 }, { pfn: 2 }]), account, null, PAGE, self),
    RangeError,
  );
});

// ---- counts below the process's own entries ----

Deno.test("a count below the process's entries: moved once per frame, unique once", () => {
  const { account } = measure(
    { kpagecount: { 10: 1, 11: 1, 12: 2, 13: 5 } },
    [
      ...times(3, { pfn: 10 }), // 3 entries, kpagecount 1: moved
      ...times(2, { pfn: 11 }), // 2 entries, kpagecount 1: moved
      ...times(2, { pfn: 12 }), // 2 entries, kpagecount 2: fine
      { pfn: 13 }, // 1 entry, kpagecount 5: fine
    ],
  );
  assert.deepEqual(account.moved, [10, 11]);
  // 10 and 11 clamped to unique (once each), 12 unique by the rule, 13 shared.
  assert.equal(slotPages(account).ussAnon, 3);
  assert.equal(slotPages(account).rss, 8);
  assert.equal(slotPages(account).ram, 4);
});

Deno.test("the tool's own entries can make a frame look moved: counted unique", () => {
  const { account } = measure({ kpagecount: { 5: 1 }, self: { 5: 1 } }, [{ pfn: 5 }]);
  assert.deepEqual(account.moved, [5]);
  assert.deepEqual(slotPages(account), pages({ ussAnon: 1, pss: 1, rss: 1, ram: 1 }));
});

Deno.test("a count read before the process mapped the frame again: moved, unique once", () => {
  // kpagecount 1 when read; the process has 2 entries by the time it is scanned.
  const { account } = measure({ kpagecount: { 6: 1 } }, [{ pfn: 6 }, { pfn: 6 }]);
  assert.deepEqual(account.moved, [6]);
  assert.equal(slotPages(account).ussAnon, 1);
  assert.equal(slotPages(account).rss, 2);
  assert.equal(slotPages(account).ram, 1);
  // PSS per entry divides by the entries seen when the count fell short.
  assert.equal(slotPages(account).pss, 1 + 1 / 2);
});

Deno.test("forgetCounts: moved frames are read afresh, pending reads are left alone", () => {
  const { table } = setup({ kpagecount: { 6: 1, 7: 70_000 } });
  table.counts[8] = COUNT_PENDING;
  forgetCounts(table, [6, 7, 8]);
  assert.equal(table.counts[6], COUNT_UNKNOWN);
  assert.equal(table.counts[7], COUNT_UNKNOWN);
  assert.equal(table.largeCounts.has(7), false);
  assert.equal(table.counts[8], COUNT_PENDING);
});

// ---- one table, many processes ----

Deno.test("a second process on the same table starts with none of its frames seen", () => {
  const { table, self } = setup({ kpagecount: { 5: 2 } });
  const first = accountProcess(table, self, [[{ pfn: 5 }]]);
  const second = accountProcess(table, self, [[{ pfn: 5 }]]);
  assert.deepEqual(slotPages(first), pages({ pss: 1 / 2, rss: 1, ram: 1 }));
  assert.deepEqual(slotPages(second), pages({ pss: 1 / 2, rss: 1, ram: 1 }));
});

Deno.test("accounting the same process again (a retry) gives the same figures", () => {
  const { table, self } = setup({ kpagecount: { 7: 4, 8: 1, 9: 4, 40: 2 } });
  const entries = [
    ...times(3, { pfn: 7 }),
    { pfn: 8, slot: 1 },
    ...times(2, { pfn: 9, slot: 1, kind: FRAME_FILE }),
    { pfn: 40 }, // in another block of 32 frames
    { pfn: 7, slot: 1 },
  ];
  const first = accountProcess(table, self, [entries], { slots: 2 });
  const again = accountProcess(table, self, [entries], { slots: 2 });
  assert.deepEqual(again, first);
  assert.deepEqual(again.moved, []);
  // 7 (4 entries, its last in slot 1) and 8 are unique; 9 and 40 are shared.
  assert.deepEqual(slotPages(again, 0), pages({ pss: 3 / 4 + 1 / 2, rss: 4, ram: 2 }));
  assert.deepEqual(
    slotPages(again, 1),
    pages({ ussAnon: 2, pss: 1 + 2 / 4 + 1 / 4, rss: 4, ram: 2 }),
  );
});

Deno.test("the process epoch wraps around without stale seen bits", () => {
  const { table, self } = setup({ kpagecount: { 5: 2, 6: 1 } });
  accountProcess(table, self, [[{ pfn: 5 }]]); // epoch 1 marks frame 5 seen
  table.processEpoch = 0xffff_fffe; // the next process wraps to epoch 1 again
  const after = accountProcess(table, self, [[{ pfn: 5 }, { pfn: 6 }]]);
  assert.equal(table.processEpoch, 1);
  assert.deepEqual(slotPages(after), pages({ ussAnon: 1, pss: 1 / 2 + 1, rss: 2, ram: 2 }));
});

Deno.test("entries on the short path add up exactly as on the general one", () => {
  // accountRefs takes most entries (the tool's entries not added back, same
  // slot and kind as the entry before, a count of one or more, a frame not seen
  // yet in the process) through a short loop; both paths end in the group's
  // counters. Counting the tool's entries back with none to add forces every
  // entry through the general path: process and group figures and moved frames
  // must be the same to the bit, whatever the mix of slots, kinds, repeats,
  // counts 0, counts beyond 16 bits, frames that moved and group counters that
  // pass 254.
  let state = 0x9e3779b9;
  const random = (below: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % below;
  };
  // Slot and kind pairs: an entry after a hugetlb one may return to the slot before it.
  const places = [[0, 0], [1, FRAME_HUGETLB], [0, FRAME_FILE], [2, 0], [3, FRAME_FILE]];
  const raw = [0, 1, 1, 1, 2, 2, 3, 33, 300, 70_000];
  const randomProcess = (): Entry[][] => {
    const batches: Entry[][] = [];
    let [slot, kind] = places[0];
    let pfn = random(200);
    for (let b = 0; b < 3; b++) {
      const batch: Entry[] = [];
      for (let n = random(300); n > 0; n--) {
        // Runs: mostly the next frame in the same place, now and then a jump,
        // a repeat, another slot or kind, or a frame mapped 100 times.
        const roll = random(12);
        if (roll === 0) [slot, kind] = places[random(places.length)];
        if (roll === 1) batch.push(...times(100, { pfn, slot, kind }));
        pfn = roll === 2 ? random(200) : roll === 3 ? pfn : (pfn + 1) % 200;
        batch.push({ pfn, slot, kind });
      }
      batches.push(batch);
    }
    return batches;
  };
  for (let round = 0; round < 201; round++) {
    const kernel: Required<Kernel> = { kpagecount: {}, self: {} };
    for (let pfn = 0; pfn < 200; pfn++) {
      kernel.kpagecount[pfn] = raw[random(raw.length)];
      // The tool's own entries: some counts become 0 (moved), some wrap below it.
      kernel.self[pfn] = random(8) === 0 ? 1 : 0;
    }
    // The last round: a member's first entry on a frame the group already
    // maps 254 times, where the group's counter turns wide, then another's.
    const last = round === 200;
    const members = last
      ? [[times(127, { pfn: 7 })], [times(127, { pfn: 7 })], [[{ pfn: 6 }, { pfn: 7 }]], [[
        { pfn: 6 },
        { pfn: 7 },
      ]]]
      : [randomProcess(), randomProcess(), randomProcess(), randomProcess()];
    if (last) {
      Object.assign(kernel.kpagecount, { 6: 1, 7: 300 });
      Object.assign(kernel.self, { 6: 0, 7: 0 });
    }
    // Even rounds: two groups on one table (the second finds the first's counters).
    const grouped = round % 2 === 0;
    const groupOf = (index: number) => last || index < 3 ? 0 : 1;
    const results = [false, true].map((general) => {
      const { table, self } = setup(kernel);
      const groups = [0, 1].map(() => ({ ussAnon: 0, ussFile: 0, hugetlbUss: 0, ram: 0 }));
      const accounts = members.map((batches, index) => {
        const group = grouped ? groups[groupOf(index)] : null;
        if (grouped && (index === 0 || groupOf(index) !== groupOf(index - 1))) beginGroup(table);
        beginProcess(table);
        const account = createProcessAccount(4, general);
        for (const batch of batches) {
          accountRefs(table, refsOf(batch), account, group, PAGE, general ? () => 0 : self);
        }
        return { figures: account.figures, moved: account.moved };
      });
      return { accounts, groups };
    });
    assert.deepEqual(results[0], results[1], `round ${round}`);
  }
});
