// Covers src/accounting/usage.ts (slotUsage, processTotal, emptyUsage, addUsage)
// and src/accounting/smaps_usage.ts (usageFromSmaps). slotUsage joins what the
// scan settled at once (pages with bit 56: unique, resident, full PSS; swap) to
// what frame references added (accountRefs, covered in frame_table_test.ts),
// per slot, rounding PSS once per slot so rows add up to the total. The rule
// behind the expected figures is in the team's page-accounting notes
// (../shared/docs/page-accounting.md, outside the repository): a frame is unique
// when its count equals the process's own entries for it; RSS is one page per
// entry, as the kernel's, RAM one page per resident frame; kpagecount 0 is not
// memory; hugetlb only in the hugetlb fields. usageFromSmaps has no frames to
// tell apart: its RAM is smaps' Rss.

import assert from "node:assert/strict";
import {
  accountRefs,
  beginProcess,
  createFrameTable,
  createProcessAccount,
  FIELDS,
  FRAME_FILE,
  FRAME_HUGETLB,
  HUGETLB,
  HUGETLB_USS,
  PSS,
  RAM,
  RSS,
  setFrameCount,
  USS_ANON,
  USS_FILE,
} from "../../src/accounting/frame_table.ts";
import {
  createFrameRefs,
  createScanTally,
  type ScanTally,
} from "../../src/accounting/pagemap_scan.ts";
import {
  addUsage,
  emptyUsage,
  processTotal,
  slotUsage,
  type Usage,
} from "../../src/accounting/usage.ts";
import { usageFromSmaps } from "../../src/accounting/smaps_usage.ts";
import { parseSmaps, type SmapsFields } from "../../src/procfs/smaps.ts";

const PAGE = 4096;

/**
 * A Usage: zeros but `partial`; swap PSS and swap USS default to the swap (what
 * a process's figures say when no swap slot was accounted as shared).
 */
function usage(partial: Partial<Usage>): Usage {
  const swap = partial.swap ?? 0;
  return { ...emptyUsage(), swapPss: swap, swapUss: swap, ...partial };
}

/** One page-table entry that needs its frame counted. */
interface Entry {
  pfn: number;
  slot?: number;
  kind?: number;
}

interface Scenario {
  slots?: number;
  entries?: Entry[];
  /** kpagecount per referenced PFN. */
  kpagecount?: Record<number, number>;
  /** Fills the exclusive and swap tallies. */
  tally?: (tally: ScanTally) => void;
}

/** Accounts a process as the tool does: its entries against recorded counts, then its figures. */
function figuresOf(scenario: Scenario) {
  const slots = scenario.slots ?? 1;
  const entries = scenario.entries ?? [];
  const table = createFrameTable(1024);
  for (const [pfn, raw] of Object.entries(scenario.kpagecount ?? {})) {
    setFrameCount(table, Number(pfn), raw);
  }
  const refs = createFrameRefs(Math.max(1, entries.length));
  for (const { pfn, slot = 0, kind = 0 } of entries) {
    refs.pfns[refs.length] = pfn;
    refs.metas[refs.length++] = slot << 2 | kind;
  }
  beginProcess(table);
  const account = createProcessAccount(slots);
  accountRefs(table, refs, account, null, PAGE, () => 0);
  const tally = createScanTally(slots);
  scenario.tally?.(tally);
  return {
    perSlot: Array.from({ length: slots }, (_, slot) => slotUsage(tally, account, slot, PAGE)),
    total: processTotal(tally, account, slots, PAGE),
  };
}

Deno.test("exclusive tallies (bit 56) count as unique, resident and full PSS; swap in bytes", () => {
  const { perSlot, total } = figuresOf({
    slots: 2,
    tally: (tally) => {
      tally.exclusiveAnon[0] = 5;
      tally.exclusiveFile[1] = 2;
      tally.swapped[1] = 3;
    },
  });
  assert.deepEqual(perSlot, [
    usage({ uss: 5 * PAGE, ussAnon: 5 * PAGE, pss: 5 * PAGE, rss: 5 * PAGE, ram: 5 * PAGE }),
    usage({
      uss: 2 * PAGE,
      ussFile: 2 * PAGE,
      pss: 2 * PAGE,
      rss: 2 * PAGE,
      ram: 2 * PAGE,
      swap: 3 * PAGE,
    }),
  ]);
  assert.deepEqual(
    total,
    usage({
      uss: 7 * PAGE,
      ussAnon: 5 * PAGE,
      ussFile: 2 * PAGE,
      pss: 7 * PAGE,
      rss: 7 * PAGE,
      ram: 7 * PAGE,
      swap: 3 * PAGE,
    }),
  );
});

Deno.test("exclusive hugetlb tallies count as hugetlb and hugetlbUss only", () => {
  const { total } = figuresOf({
    tally: (tally) => {
      tally.exclusiveHugetlb[0] = 1024;
    },
  });
  assert.deepEqual(total, usage({ hugetlb: 1024 * PAGE, hugetlbUss: 1024 * PAGE }));
});

Deno.test("figures from frame references add to the scan's, field by field", () => {
  const tally = createScanTally(1);
  tally.exclusiveAnon[0] = 1;
  tally.exclusiveFile[0] = 2;
  tally.swapped[0] = 3;
  tally.exclusiveHugetlb[0] = 4;
  const account = createProcessAccount(1);
  const figures = account.figures;
  figures[USS_ANON] = 10 * PAGE;
  figures[USS_FILE] = 20 * PAGE;
  figures[PSS] = 40 * PAGE;
  figures[RSS] = 50 * PAGE;
  figures[RAM] = 45 * PAGE;
  figures[HUGETLB] = 60 * PAGE;
  figures[HUGETLB_USS] = 30 * PAGE;
  assert.equal(figures.length, FIELDS);
  assert.deepEqual(
    processTotal(tally, account, 1, PAGE),
    usage({
      uss: 33 * PAGE,
      ussAnon: 11 * PAGE,
      ussFile: 22 * PAGE,
      pss: 43 * PAGE,
      rss: 53 * PAGE,
      ram: 48 * PAGE,
      swap: 3 * PAGE,
      hugetlb: 64 * PAGE,
      hugetlbUss: 34 * PAGE,
    }),
  );
});

Deno.test("PSS of pages shared by 3 processes adds exactly PAGE/3 per entry, not truncated", () => {
  const { total } = figuresOf({
    entries: [{ pfn: 1 }, { pfn: 2 }, { pfn: 3 }],
    kpagecount: { 1: 3, 2: 3, 3: 3 },
  });
  // 3 × 4096/3 = 4096; truncating each share would give 3 × 1365 = 4095.
  assert.deepEqual(total, usage({ pss: PAGE, rss: 3 * PAGE, ram: 3 * PAGE }));
});

Deno.test("PSS of pages shared by 5 or more processes is not lost to truncation", () => {
  // procrank truncates to whole KiB per page: 4 KiB / 5 → 0. The exact share is 819.2 B.
  const five = figuresOf({ entries: [{ pfn: 1 }], kpagecount: { 1: 5 } });
  assert.equal(five.total.pss, Math.round(PAGE / 5));
  const seven = figuresOf({
    entries: Array.from({ length: 7 }, (_, i) => ({ pfn: 100 + i })),
    kpagecount: Object.fromEntries(Array.from({ length: 7 }, (_, i) => [100 + i, 7])),
  });
  assert.equal(seven.total.pss, PAGE);
});

Deno.test("per-slot figures add up to the total, field by field, and PSS stays whole bytes", () => {
  const { perSlot, total } = figuresOf({
    slots: 4,
    entries: [
      { pfn: 1, slot: 0 },
      { pfn: 2, slot: 0 },
      { pfn: 2, slot: 1 },
      { pfn: 3, slot: 1, kind: FRAME_FILE },
      { pfn: 4, slot: 2, kind: FRAME_FILE },
      { pfn: 5, slot: 2 },
      { pfn: 6, slot: 3, kind: FRAME_HUGETLB },
      { pfn: 7, slot: 3 },
    ],
    kpagecount: { 1: 3, 2: 2, 3: 7, 4: 1, 5: 0, 6: 1, 7: 6 },
    tally: (tally) => {
      tally.exclusiveAnon[0] = 2;
      tally.exclusiveFile[2] = 1;
      tally.swapped[3] = 4;
    },
  });
  // Frame 2 is mapped once in slot 0 and once in slot 1 (kpagecount 2): unique,
  // in slot 1 where its count completes (changed: it was the first entry's slot),
  // and in both slots' RSS (changed: RSS is one page per entry), in RAM once,
  // in slot 0 where it is first seen. Frame 5 (kpagecount 0) counts nowhere;
  // frame 6 is hugetlb.
  assert.deepEqual(perSlot, [
    usage({
      uss: 2 * PAGE,
      ussAnon: 2 * PAGE,
      pss: Math.round(2 * PAGE + PAGE / 3 + PAGE / 2),
      rss: 4 * PAGE,
      ram: 4 * PAGE,
    }),
    usage({
      uss: PAGE,
      ussAnon: PAGE,
      pss: Math.round(PAGE / 2 + PAGE / 7),
      rss: 2 * PAGE,
      ram: PAGE,
    }),
    usage({ uss: 2 * PAGE, ussFile: 2 * PAGE, pss: 2 * PAGE, rss: 2 * PAGE, ram: 2 * PAGE }),
    usage({
      pss: Math.round(PAGE / 6),
      rss: PAGE,
      ram: PAGE,
      swap: 4 * PAGE,
      hugetlb: PAGE,
      hugetlbUss: PAGE,
    }),
  ]);
  for (const key of Object.keys(total) as (keyof Usage)[]) {
    assert.equal(total[key], perSlot.reduce((sum, row) => sum + row[key], 0), key);
  }
  assert.equal(total.uss, 5 * PAGE);
  assert.equal(total.rss, 9 * PAGE);
  assert.equal(total.ram, 8 * PAGE);
});

Deno.test("addUsage adds field by field into its first argument", () => {
  const total = usage({ uss: 1, ussAnon: 1, rss: 5, ram: 4 });
  const result = addUsage(
    total,
    usage({ uss: 2, ussFile: 2, pss: 3, ram: 1, swap: 4, hugetlb: 6, hugetlbUss: 7 }),
  );
  assert.equal(result, total);
  assert.deepEqual(total, {
    uss: 3,
    ussAnon: 1,
    ussFile: 2,
    pss: 3,
    rss: 5,
    ram: 5,
    swap: 4,
    swapPss: 4,
    swapUss: 4,
    hugetlb: 6,
    hugetlbUss: 7,
  });
  assert.notEqual(emptyUsage(), emptyUsage());
});

// ---- usageFromSmaps ----

const KB = 1024;

function fields(partial: Partial<SmapsFields>): SmapsFields {
  return {
    size: 0,
    kernelPageSize: 4 * KB,
    rss: 0,
    pss: 0,
    sharedClean: 0,
    sharedDirty: 0,
    privateClean: 0,
    privateDirty: 0,
    anonymous: 0,
    anonHugePages: 0,
    swap: 0,
    swapPss: 0,
    sharedHugetlb: 0,
    privateHugetlb: 0,
    ...partial,
  };
}

Deno.test("usageFromSmaps: USS is Private_Clean + Private_Dirty; Pss, Rss, Swap as reported", () => {
  assert.deepEqual(
    usageFromSmaps(fields({
      rss: 40 * KB,
      pss: 30 * KB,
      privateClean: 8 * KB,
      privateDirty: 12 * KB,
      sharedClean: 20 * KB,
      anonymous: 12 * KB,
      swap: 16 * KB,
      swapPss: 8 * KB,
    })),
    usage({
      uss: 20 * KB,
      ussAnon: 12 * KB,
      ussFile: 8 * KB,
      pss: 30 * KB,
      rss: 40 * KB,
      ram: 40 * KB,
      swap: 16 * KB,
      swapPss: 8 * KB, // the kernel's SwapPss; swap USS stays the swap (unknown to smaps)
    }),
  );
});

Deno.test("usageFromSmaps: shared anonymous pages (after fork) do not count as anonymous USS", () => {
  // 20 kB anonymous, of which 12 kB still shared with a child after fork.
  const result = usageFromSmaps(fields({
    rss: 20 * KB,
    pss: 14 * KB,
    privateDirty: 8 * KB,
    sharedDirty: 12 * KB,
    anonymous: 20 * KB,
  }));
  assert.equal(result.uss, 8 * KB);
  assert.equal(result.ussAnon, 8 * KB);
  assert.equal(result.ussFile, 0);
});

Deno.test("usageFromSmaps: hugetlb goes to hugetlb (private + shared), hugetlbUss private only", () => {
  assert.deepEqual(
    usageFromSmaps(fields({
      size: 8 * 1024 * KB,
      kernelPageSize: 2048 * KB,
      privateHugetlb: 4096 * KB,
      sharedHugetlb: 2048 * KB,
    })),
    usage({ hugetlb: 6144 * KB, hugetlbUss: 4096 * KB }),
  );
});

Deno.test("usageFromSmaps: the recorded smaps sample gives the kernel's figures per VMA", () => {
  const text = Deno.readTextFileSync(new URL("../../testdata/smaps_sample.txt", import.meta.url));
  const rows = parseSmaps(text, PAGE).map((vma) => [vma.start, usageFromSmaps(vma.smaps)]);
  assert.deepEqual(rows, [
    ["7f602f800000", usage({ hugetlb: 4096 * KB, hugetlbUss: 4096 * KB })],
    ["7f602ff28000", usage({ pss: 88 * KB, rss: 736 * KB, ram: 736 * KB })],
    [
      "7f60300e7000",
      usage({ uss: 12 * KB, ussAnon: 12 * KB, pss: 12 * KB, rss: 12 * KB, ram: 12 * KB }),
    ],
    [
      "7f60300ea000",
      usage({ uss: 4 * KB, ussFile: 4 * KB, pss: 4 * KB, rss: 4 * KB, ram: 4 * KB }),
    ],
    [
      "7f60300ed000",
      usage({
        uss: 4 * KB,
        ussAnon: 4 * KB,
        pss: 4 * KB,
        rss: 4 * KB,
        ram: 4 * KB,
        swap: 8 * KB,
        swapPss: 4 * KB, // SwapPss as recorded
      }),
    ],
    ["ffffffffff600000", usage({})],
  ]);
});
