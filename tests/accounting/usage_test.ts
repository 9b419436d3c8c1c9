// Covers accountProcess (src/accounting/usage.ts) and usageFromSmaps
// (src/accounting/smaps_usage.ts). Scans are synthetic: frame refs and
// kpagecounts chosen per case, the frame set built with frameSetBuilder as the
// tool does. Expected figures follow docs/page-accounting.md: a frame is unique
// when kpagecount equals the process's own entries for it (minus the tool's own);
// PSS adds PAGE / kpagecount per entry, untruncated; kpagecount 0 is not memory;
// hugetlb is reported only in the hugetlb fields.

import assert from "node:assert/strict";
import { frameSetBuilder } from "../../src/accounting/frame_set.ts";
import {
  createFrameRefs,
  createScanTally,
  FRAME_FILE,
  FRAME_HUGETLB,
  type ScanTally,
} from "../../src/accounting/pagemap_scan.ts";
import {
  accountProcess,
  createScratch,
  type FrameCounts,
  framePositions,
  type Usage,
} from "../../src/accounting/usage.ts";
import { usageFromSmaps } from "../../src/accounting/smaps_usage.ts";
import { parseSmaps, type SmapsFields } from "../../src/procfs/maps.ts";

const PAGE = 4096;

/** One page-table entry of the process that needs its frame counted. */
interface Ref {
  pfn: number;
  vma?: number;
  kind?: number;
}

interface Scenario {
  vmaCount?: number;
  refs: Ref[];
  /** kpagecount per PFN (every referenced PFN must be listed). */
  counts: Record<number, number>;
  /** Entries the tool itself holds per PFN. */
  self?: Record<number, number>;
  /** Fills the exclusive/swap tallies. */
  tally?: (tally: ScanTally) => void;
}

function buildCounts(scenario: Scenario): FrameCounts {
  const builder = frameSetBuilder();
  for (const ref of scenario.refs) builder.add(ref.pfn);
  const set = builder.build();
  const raw = new Uint32Array(set.pfns.length);
  set.pfns.forEach((pfn, index) => {
    assert.ok(pfn in scenario.counts, `test precondition: kpagecount of ${pfn}`);
    raw[index] = scenario.counts[pfn];
  });
  let self: Uint32Array | null = null;
  if (scenario.self) {
    self = new Uint32Array(set.pfns.length);
    for (const [pfn, count] of Object.entries(scenario.self)) {
      self[set.indexOf(Number(pfn))] = count;
    }
  }
  return { set, raw, self };
}

function account(scenario: Scenario) {
  const vmaCount = scenario.vmaCount ?? 1;
  const tally = createScanTally(vmaCount);
  scenario.tally?.(tally);
  const refs = createFrameRefs(Math.max(1, scenario.refs.length));
  for (const ref of scenario.refs) {
    refs.pfns[refs.length] = ref.pfn;
    refs.vmas[refs.length] = ref.vma ?? 0;
    refs.kinds[refs.length] = ref.kind ?? 0;
    refs.length++;
  }
  const counts = buildCounts(scenario);
  const positions = framePositions(refs, counts.set);
  const scratch = createScratch(counts.set.pfns.length);
  const figures = accountProcess(tally, refs, positions, vmaCount, counts, PAGE, scratch);
  return { figures, scratch, tally, refs, positions, counts };
}

function usage(partial: Partial<Usage>): Usage {
  return {
    uss: 0,
    ussAnon: 0,
    ussFile: 0,
    pss: 0,
    rss: 0,
    swap: 0,
    hugetlb: 0,
    hugetlbUss: 0,
    ...partial,
  };
}

function times(count: number, ref: Ref): Ref[] {
  return Array.from({ length: count }, () => ({ ...ref }));
}

Deno.test("private frames (kpagecount 1, one entry each) are unique", () => {
  const { figures } = account({
    refs: [{ pfn: 10 }, { pfn: 11 }, { pfn: 12, kind: FRAME_FILE }],
    counts: { 10: 1, 11: 1, 12: 1 },
  });
  assert.deepEqual(
    figures.total,
    usage({ uss: 3 * PAGE, ussAnon: 2 * PAGE, ussFile: PAGE, pss: 3 * PAGE, rss: 3 * PAGE }),
  );
  assert.equal(figures.moved, 0);
});

Deno.test("exclusive tallies (bit 56) count as unique, resident and full PSS; swap in bytes", () => {
  const { figures } = account({
    vmaCount: 2,
    refs: [],
    counts: {},
    tally: (tally) => {
      tally.exclusiveAnon[0] = 5;
      tally.exclusiveFile[1] = 2;
      tally.swapped[1] = 3;
    },
  });
  assert.deepEqual(figures.perVma, [
    usage({ uss: 5 * PAGE, ussAnon: 5 * PAGE, pss: 5 * PAGE, rss: 5 * PAGE }),
    usage({ uss: 2 * PAGE, ussFile: 2 * PAGE, pss: 2 * PAGE, rss: 2 * PAGE, swap: 3 * PAGE }),
  ]);
});

Deno.test("a frame mapped twice by the process (kpagecount 2) is unique, once in RSS, twice in PSS", () => {
  const { figures } = account({
    vmaCount: 2,
    refs: [{ pfn: 500, vma: 0, kind: FRAME_FILE }, { pfn: 500, vma: 1, kind: FRAME_FILE }],
    counts: { 500: 2 },
  });
  assert.equal(figures.total.uss, PAGE);
  assert.equal(figures.total.ussFile, PAGE);
  assert.equal(figures.total.rss, PAGE);
  assert.equal(figures.total.pss, 2 * (PAGE / 2));
  // Each mapping holds half of the frame's PSS.
  assert.equal(figures.perVma[0].pss, PAGE / 2);
  assert.equal(figures.perVma[1].pss, PAGE / 2);
  assert.equal(figures.perVma[0].rss + figures.perVma[1].rss, PAGE);
});

Deno.test("a KSM frame with 256 own entries and kpagecount 256 is unique", () => {
  const { figures } = account({
    refs: [...times(256, { pfn: 0x7000 }), ...times(256, { pfn: 0x7001 })],
    counts: { 0x7000: 256, 0x7001: 256 },
  });
  assert.deepEqual(
    figures.total,
    usage({ uss: 2 * PAGE, ussAnon: 2 * PAGE, pss: 2 * PAGE, rss: 2 * PAGE }),
  );
});

Deno.test("a frame shared with another process (kpagecount 2, one own entry) is not unique", () => {
  const { figures } = account({
    refs: [{ pfn: 42 }],
    counts: { 42: 2 },
  });
  assert.deepEqual(figures.total, usage({ pss: PAGE / 2, rss: PAGE }));
});

Deno.test("a KSM frame also merged into another process (kpagecount above own entries) is shared", () => {
  const { figures } = account({
    refs: times(3, { pfn: 0x7000 }),
    counts: { 0x7000: 4 },
  });
  assert.equal(figures.total.uss, 0);
  assert.equal(figures.total.rss, PAGE);
  assert.equal(figures.total.pss, 3 * PAGE / 4);
});

Deno.test("PSS of pages shared by 3 processes adds exactly PAGE/3 per entry, not truncated", () => {
  const { figures } = account({
    refs: [{ pfn: 1 }, { pfn: 2 }, { pfn: 3 }],
    counts: { 1: 3, 2: 3, 3: 3 },
  });
  // 3 × 4096/3 = 4096 exactly; truncating each share would give 3 × 1365 = 4095.
  assert.equal(figures.total.pss, PAGE);
  assert.equal(figures.total.rss, 3 * PAGE);
  assert.equal(figures.total.uss, 0);
});

Deno.test("PSS of pages shared by 5 or more processes is not lost to truncation", () => {
  // procrank truncates to whole KiB per page: 4 KiB / 5 → 0. The exact share is 819.2 B.
  const five = account({ refs: [{ pfn: 1 }], counts: { 1: 5 } }).figures.total.pss;
  assert.equal(five, Math.round(PAGE / 5));
  const many = account({
    refs: Array.from({ length: 7 }, (_, i) => ({ pfn: 100 + i })),
    counts: Object.fromEntries(Array.from({ length: 7 }, (_, i) => [100 + i, 7])),
  });
  assert.equal(many.figures.total.pss, PAGE);
});

Deno.test("kpagecount 0 (zero page, untracked PFNs) contributes nothing", () => {
  const { figures } = account({
    refs: [...times(10, { pfn: 0x1234 }), { pfn: 0x99 }, { pfn: 0x1235, kind: FRAME_FILE }],
    counts: { 0x1234: 0, 0x1235: 0, 0x99: 1 },
  });
  assert.deepEqual(figures.total, usage({ uss: PAGE, ussAnon: PAGE, pss: PAGE, rss: PAGE }));
  assert.equal(figures.moved, 0);
});

Deno.test("the tool's own entries are subtracted: kpagecount 2 with one held by the tool is unique", () => {
  const { figures } = account({
    refs: [{ pfn: 77, kind: FRAME_FILE }],
    counts: { 77: 2 },
    self: { 77: 1 },
  });
  assert.deepEqual(figures.total, usage({ uss: PAGE, ussFile: PAGE, pss: PAGE, rss: PAGE }));
});

Deno.test("after subtracting the tool, a frame still mapped by a third process stays shared", () => {
  const { figures } = account({
    refs: [{ pfn: 77, kind: FRAME_FILE }],
    counts: { 77: 3 },
    self: { 77: 1 },
  });
  assert.deepEqual(figures.total, usage({ pss: PAGE / 2, rss: PAGE }));
});

Deno.test("frames whose kpagecount is below the process's own entries are reported as moved", () => {
  const { figures } = account({
    refs: [
      ...times(3, { pfn: 10 }), // 3 entries, kpagecount 1: moved
      ...times(2, { pfn: 11 }), // 2 entries, kpagecount 1: moved
      ...times(2, { pfn: 12 }), // 2 entries, kpagecount 2: fine
      { pfn: 13 }, // 1 entry, kpagecount 5: fine
    ],
    counts: { 10: 1, 11: 1, 12: 2, 13: 5 },
  });
  assert.equal(figures.moved, 2);
});

Deno.test("the tool's own entries can make a frame look moved", () => {
  const { figures } = account({
    refs: [{ pfn: 5 }],
    counts: { 5: 1 },
    self: { 5: 1 },
  });
  assert.equal(figures.moved, 1);
});

Deno.test("hugetlb frames count only in hugetlb and hugetlbUss", () => {
  const { figures } = account({
    refs: [
      ...Array.from({ length: 512 }, (_, i) => ({ pfn: 0x8_0000 + i, kind: FRAME_HUGETLB })),
      ...Array.from({ length: 512 }, (_, i) => ({
        pfn: 0x8_0200 + i,
        kind: FRAME_HUGETLB | FRAME_FILE,
      })),
    ],
    counts: Object.fromEntries([
      ...Array.from({ length: 512 }, (_, i) => [0x8_0000 + i, 1]),
      ...Array.from({ length: 512 }, (_, i) => [0x8_0200 + i, 2]), // shared with another process
    ]),
  });
  assert.deepEqual(figures.total, usage({ hugetlb: 2 * 512 * PAGE, hugetlbUss: 512 * PAGE }));
});

Deno.test("exclusive hugetlb tallies count as hugetlb and hugetlbUss only", () => {
  const { figures } = account({
    refs: [],
    counts: {},
    tally: (tally) => {
      tally.exclusiveHugetlb[0] = 1024;
    },
  });
  assert.deepEqual(figures.total, usage({ hugetlb: 1024 * PAGE, hugetlbUss: 1024 * PAGE }));
});

Deno.test("per-VMA figures add up to the total, field by field, and PSS stays whole bytes", () => {
  const { figures } = account({
    vmaCount: 4,
    refs: [
      { pfn: 1, vma: 0 },
      { pfn: 2, vma: 0 },
      { pfn: 2, vma: 1 },
      { pfn: 3, vma: 1, kind: FRAME_FILE },
      { pfn: 4, vma: 2, kind: FRAME_FILE },
      { pfn: 5, vma: 2 },
      { pfn: 6, vma: 3, kind: FRAME_HUGETLB },
      { pfn: 7, vma: 3 },
    ],
    counts: { 1: 3, 2: 2, 3: 7, 4: 1, 5: 0, 6: 1, 7: 6 },
    tally: (tally) => {
      tally.exclusiveAnon[0] = 2;
      tally.exclusiveFile[2] = 1;
      tally.swapped[3] = 4;
    },
  });
  const keys = Object.keys(figures.total) as (keyof Usage)[];
  for (const key of keys) {
    const sum = figures.perVma.reduce((total, row) => total + row[key], 0);
    assert.equal(figures.total[key], sum, key);
  }
  for (const row of figures.perVma) assert.ok(Number.isInteger(row.pss), String(row.pss));
  for (const row of figures.perVma) assert.equal(row.uss, row.ussAnon + row.ussFile);
  // Frame 2 is mapped once in VMA 0 and once in VMA 1 (kpagecount 2): unique, once.
  assert.equal(figures.total.uss, (2 + 2 + 1) * PAGE); // tallies 2 + 1, frames 2 and 4
  // Tallies 3, frames 1, 2, 3, 4, 7 (5 has kpagecount 0, 6 is hugetlb).
  assert.equal(figures.total.rss, (3 + 5) * PAGE);
  // PSS per VMA: tallies + Σ PAGE/kpagecount per entry, each VMA rounded to a byte.
  assert.deepEqual(figures.perVma.map((row) => row.pss), [
    Math.round(2 * PAGE + PAGE / 3 + PAGE / 2),
    Math.round(PAGE / 2 + PAGE / 7),
    Math.round(PAGE + PAGE),
    Math.round(PAGE / 6),
  ]);
  assert.equal(figures.total.hugetlb, PAGE);
  assert.equal(figures.total.swap, 4 * PAGE);
});

Deno.test("scratch serves the next process without clearing: same figures again", () => {
  const scenario: Scenario = {
    refs: [...times(3, { pfn: 9 }), { pfn: 10 }, { pfn: 2 ** 33 }],
    counts: { 9: 3, 10: 4, [2 ** 33]: 1 },
  };
  const { figures, scratch, tally, refs, positions, counts } = account(scenario);
  const again = accountProcess(tally, refs, positions, 1, counts, PAGE, scratch);
  assert.deepEqual(again, figures);
  assert.equal(scratch.epoch, 2);
  assert.equal(figures.total.uss, 2 * PAGE);
});

Deno.test("framePositions: each ref's place in the frame set; a missing frame is an error", () => {
  const { refs, positions, counts } = account({
    refs: [{ pfn: 2 ** 33 }, { pfn: 7 }, { pfn: 7 }, { pfn: 4096 }],
    counts: { 7: 2, 4096: 1, [2 ** 33]: 1 },
  });
  assert.deepEqual([...counts.set.pfns], [7, 4096, 2 ** 33]);
  assert.deepEqual([...positions], [2, 0, 0, 1]);
  refs.pfns[1] = 8;
  assert.throws(() => framePositions(refs, counts.set), RangeError);
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
      swap: 16 * KB,
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
    ["7f602ff28000", usage({ pss: 88 * KB, rss: 736 * KB })],
    ["7f60300e7000", usage({ uss: 12 * KB, ussAnon: 12 * KB, pss: 12 * KB, rss: 12 * KB })],
    ["7f60300ea000", usage({ uss: 4 * KB, ussFile: 4 * KB, pss: 4 * KB, rss: 4 * KB })],
    [
      "7f60300ed000",
      usage({ uss: 4 * KB, ussAnon: 4 * KB, pss: 4 * KB, rss: 4 * KB, swap: 8 * KB }),
    ],
    ["ffffffffff600000", usage({})],
  ]);
});
