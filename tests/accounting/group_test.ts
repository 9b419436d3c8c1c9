// Covers groups (src/accounting/group.ts, and the group counters of
// src/accounting/frame_table.ts): members are accounted one after another on one
// frame table (beginGroup once, beginProcess per member), each with the group's
// account, then added with addGroupMember. A frame is unique to a group when its
// count (kpagecount less the tool's own entries) equals the group's entries for
// it; group USS is those frames plus the pages the members' scans settled as
// mapped once (bit 56). RAM is the group's distinct resident frames; RSS and
// PSS are the members' sums (swap slots, each counted once, are covered on a
// real swap file by tests/e2e/swap_test.ts). Also:
// counters that pass 254 entries, a second group (and epoch wrap) on the same
// table, a table grown mid-group, members without a scan. Frame refs and
// kpagecounts are chosen per case; expected figures follow from the rule.

import assert from "node:assert/strict";
import {
  accountRefs,
  beginGroup,
  beginProcess,
  createFrameTable,
  createProcessAccount,
  ensureFrame,
  FRAME_FILE,
  FRAME_HUGETLB,
  type FrameTable,
  setFrameCount,
} from "../../src/accounting/frame_table.ts";
import {
  addGroupMember,
  createGroupTotals,
  groupFigures,
  sumUsages,
} from "../../src/accounting/group.ts";
import { createFrameRefs, createScanTally } from "../../src/accounting/pagemap_scan.ts";
import { emptyUsage, processTotal, type Usage } from "../../src/accounting/usage.ts";

const PAGE = 4096;

/** One page-table entry of a member. */
interface Entry {
  pfn: number;
  kind?: number;
}

interface Member {
  entries: Entry[];
  /** Pages the member's scan settled as mapped once (bit 56), and swap. */
  exclusiveAnon?: number;
  exclusiveFile?: number;
  exclusiveHugetlb?: number;
  swapped?: number;
}

function times(count: number, entry: Entry): Entry[] {
  return Array.from({ length: count }, () => ({ ...entry }));
}

function usage(partial: Partial<Usage>): Usage {
  return { ...emptyUsage(), ...partial };
}

type SelfEntries = (pfn: number) => number;

/** A table with kpagecounts (less the tool's own entries) recorded, and the tool's own entries. */
function setup(
  kpagecount: Record<number, number>,
  self: Record<number, number> = {},
): { table: FrameTable; source: SelfEntries } {
  const table = createFrameTable(1024);
  for (const [pfn, raw] of Object.entries(kpagecount)) {
    ensureFrame(table, Number(pfn));
    setFrameCount(table, Number(pfn), raw, self[Number(pfn)] ?? 0);
  }
  return { table, source: (pfn) => self[pfn] ?? 0 };
}

/** Accounts one member of the current group and returns its own figures. */
function accountMember(
  table: FrameTable,
  source: SelfEntries,
  totals: ReturnType<typeof createGroupTotals>,
  member: Member,
): Usage {
  beginProcess(table);
  const account = createProcessAccount(1);
  const refs = createFrameRefs(Math.max(1, member.entries.length));
  for (const { pfn, kind = 0 } of member.entries) {
    refs.pfns[refs.length] = pfn;
    refs.metas[refs.length++] = kind;
  }
  accountRefs(table, refs, account, totals.frames, PAGE, source);
  const tally = createScanTally(1);
  tally.exclusiveAnon[0] = member.exclusiveAnon ?? 0;
  tally.exclusiveFile[0] = member.exclusiveFile ?? 0;
  tally.exclusiveHugetlb[0] = member.exclusiveHugetlb ?? 0;
  tally.swapped[0] = member.swapped ?? 0;
  const own = processTotal(tally, account, 1, PAGE);
  addGroupMember(totals, own, tally, PAGE);
  return own;
}

/** Accounts `members` as one group of `table`, member after member. */
function accountGroup(table: FrameTable, source: SelfEntries, members: Member[]) {
  beginGroup(table);
  const totals = createGroupTotals();
  const own = members.map((member) => accountMember(table, source, totals, member));
  return { members: own, totals, ...groupFigures(totals) };
}

/** One group on a fresh table. */
function group(
  members: Member[],
  kpagecount: Record<number, number>,
  self: Record<number, number> = {},
) {
  const { table, source } = setup(kpagecount, self);
  return accountGroup(table, source, members);
}

const sumOf = (usages: Usage[], key: keyof Usage) => usages.reduce((sum, u) => sum + u[key], 0);

Deno.test("copy-on-write shared by two members only is unique to the group, not to either", () => {
  // Frames 10-13: parent and child each map them (kpagecount 2).
  // Frame 20: the child's own copy (kpagecount 1). Frame 30: shared with an outsider (3).
  const shared: Entry[] = [{ pfn: 10 }, { pfn: 11 }, { pfn: 12 }, { pfn: 13 }];
  const { members, usage: figures, ussSum } = group(
    [
      { entries: [...shared, { pfn: 30 }], exclusiveAnon: 2 },
      { entries: [...shared, { pfn: 20 }, { pfn: 30 }] },
    ],
    { 10: 2, 11: 2, 12: 2, 13: 2, 20: 1, 30: 3 },
  );
  assert.equal(members[0].uss, 2 * PAGE); // its two exclusive pages
  assert.equal(members[1].uss, PAGE); // frame 20
  assert.equal(ussSum, 3 * PAGE);
  assert.equal(figures.uss, (2 + 1 + 4) * PAGE); // + the 4 frames shared only inside
  assert.equal(figures.ussAnon, figures.uss);
  // RAM: distinct frames, 2 exclusive + 10-13 + 20 + 30.
  assert.equal(figures.ram, (2 + 4 + 1 + 1) * PAGE);
  // Changed: RSS is the members' sum (7 + 6 entries), as PSS is.
  assert.equal(figures.rss, 13 * PAGE);
  assert.equal(figures.rss, members[0].rss + members[1].rss);
  assert.equal(figures.pss, members[0].pss + members[1].pss);
});

Deno.test("a group of one equals the process, whatever the sharing", () => {
  const { members, usage: figures, ussSum } = group(
    [{
      entries: [
        { pfn: 5, kind: FRAME_FILE },
        { pfn: 5, kind: FRAME_FILE },
        { pfn: 6 },
        { pfn: 7 },
      ],
      exclusiveAnon: 3,
      swapped: 2,
    }],
    { 5: 2, 6: 1, 7: 4 },
  );
  const own = members[0];
  assert.deepEqual(figures, own);
  assert.equal(ussSum, own.uss);
  // Exclusive 3, frame 5 (mapped twice), frame 6; 7 is shared.
  assert.equal(own.uss, (3 + 1 + 1) * PAGE);
  assert.equal(own.ussFile, PAGE);
  assert.equal(own.swap, 2 * PAGE);
});

Deno.test("a frame completes its group count across members with different entry counts", () => {
  // Frame 9: one member maps it twice, the other once, kpagecount 3.
  const { members, usage: figures } = group(
    [{ entries: times(2, { pfn: 9 }) }, { entries: [{ pfn: 9 }] }],
    { 9: 3 },
  );
  assert.equal(sumOf(members, "uss"), 0);
  assert.equal(figures.uss, PAGE);
  assert.equal(figures.ram, PAGE);
  assert.equal(figures.rss, 3 * PAGE);
});

Deno.test("shmem mapped by every member is unique to the group and counted on the file side", () => {
  const page: Entry[] = [{ pfn: 40, kind: FRAME_FILE }];
  const { usage: figures, ussSum } = group(
    [{ entries: page }, { entries: page }, { entries: page }],
    { 40: 3 },
  );
  assert.equal(ussSum, 0);
  assert.equal(figures.uss, PAGE);
  assert.equal(figures.ussFile, PAGE);
  assert.equal(figures.ram, PAGE);
  assert.equal(figures.rss, 3 * PAGE);
});

Deno.test("the tool's own entries do not make a frame shared with the group", () => {
  // Frame 50: both members and the tool map it (kpagecount 3, the tool holds 1).
  const page: Entry[] = [{ pfn: 50, kind: FRAME_FILE }];
  const { usage: figures } = group([{ entries: page }, { entries: page }], { 50: 3 }, { 50: 1 });
  assert.equal(figures.uss, PAGE);
});

Deno.test("hugetlb frames count in the hugetlb fields only; zero page not at all", () => {
  const huge: Entry[] = [{ pfn: 60, kind: FRAME_HUGETLB }, { pfn: 61, kind: FRAME_HUGETLB }];
  const { usage: figures } = group(
    [{ entries: [...huge, { pfn: 0x99 }] }, { entries: huge, exclusiveHugetlb: 512 }],
    { 60: 2, 61: 3, 0x99: 0 },
  );
  // Frame 60 is the group's; 61 has an outside mapping; 512 settled from smaps.
  // hugetlb is the members' mapped entries (changed: it was distinct frames).
  assert.deepEqual(figures, usage({ hugetlb: (4 + 512) * PAGE, hugetlbUss: (1 + 512) * PAGE }));
});

Deno.test("pages settled in any slot of a member's scan count for the group", () => {
  const totals = createGroupTotals();
  const tally = createScanTally(3);
  tally.exclusiveAnon[0] = 1;
  tally.exclusiveFile[2] = 2;
  tally.exclusiveHugetlb[1] = 4;
  const own = usage({ uss: 3 * PAGE, ussAnon: PAGE, ussFile: 2 * PAGE, ram: 3 * PAGE });
  addGroupMember(totals, own, tally, PAGE);
  const { usage: figures } = groupFigures(totals);
  assert.equal(figures.ussAnon, PAGE);
  assert.equal(figures.ussFile, 2 * PAGE);
  assert.equal(figures.hugetlbUss, 4 * PAGE);
  assert.equal(figures.ram, 3 * PAGE);
  assert.equal(totals.members, 1);
});

Deno.test("a member without a scan (smaps) adds to the members' sums only", () => {
  const totals = createGroupTotals();
  addGroupMember(
    totals,
    usage({ uss: PAGE, ussAnon: PAGE, pss: 2 * PAGE, rss: 3 * PAGE }),
    null,
    PAGE,
  );
  const { usage: figures, ussSum } = groupFigures(totals);
  assert.equal(totals.members, 1);
  assert.equal(ussSum, PAGE);
  assert.equal(figures.pss, 2 * PAGE);
  assert.equal(figures.rss, 3 * PAGE);
  // No frame-level figures: the caller reports such a group as sums (inexact).
  assert.equal(figures.uss, 0);
});

// ---- counters past 254 entries ----

Deno.test("group counters stay exact past 254 entries: a frame mapped by 300 members", () => {
  const members: Member[] = Array.from({ length: 300 }, (_, index) => ({
    entries: [
      ...(index < 254 ? [{ pfn: 1 }] : []), // kpagecount 254
      ...(index < 255 ? [{ pfn: 2 }] : []), // kpagecount 255: the narrow counter saturates
      ...(index < 256 ? [{ pfn: 3 }] : []), // kpagecount 256
      { pfn: 4 }, // kpagecount 300: every member
      { pfn: 5 }, // kpagecount 301: one entry outside the group
      ...(index === 0 ? times(299, { pfn: 6 }) : index === 1 ? [{ pfn: 6 }] : []), // 300
    ],
  }));
  const { members: own, usage: figures } = group(members, {
    1: 254,
    2: 255,
    3: 256,
    4: 300,
    5: 301,
    6: 300,
  });
  assert.equal(sumOf(own, "uss"), 0);
  assert.equal(figures.uss, 5 * PAGE); // frames 1, 2, 3, 4 and 6
  assert.equal(figures.ram, 6 * PAGE);
});

// ---- one table, many groups ----

Deno.test("a second group on the same table starts its entry counters at zero", () => {
  const { table, source } = setup({ 5: 4 });
  const pair: Member[] = [{ entries: [{ pfn: 5 }] }, { entries: [{ pfn: 5 }] }];
  const first = accountGroup(table, source, pair);
  const second = accountGroup(table, source, pair);
  // Four entries in all, two per group: neither group holds frame 5 alone.
  assert.equal(first.usage.uss, 0);
  assert.equal(second.usage.uss, 0);
  assert.equal(second.usage.ram, PAGE);
});

Deno.test("a second group on the same table starts at zero past 254 entries too", () => {
  const { table, source } = setup({ 8: 600, 9: 300 });
  const many: Member[] = Array.from({ length: 300 }, () => ({ entries: [{ pfn: 8 }] }));
  const first = accountGroup(table, source, many);
  const second = accountGroup(table, source, many);
  assert.equal(first.usage.uss, 0);
  assert.equal(second.usage.uss, 0);
  // Frame 9 (in the same block as 8) starts at zero for a third group too.
  const third = accountGroup(
    table,
    source,
    Array.from({ length: 300 }, () => ({ entries: [{ pfn: 9 }, { pfn: 8 }] })),
  );
  assert.equal(third.usage.uss, PAGE);
});

Deno.test("the group epoch wraps around without stale counters", () => {
  const { table, source } = setup({ 5: 4 });
  const pair: Member[] = [{ entries: [{ pfn: 5 }] }, { entries: [{ pfn: 5 }] }];
  accountGroup(table, source, pair); // group epoch 1
  table.groupEpoch = 0xffff_fffe; // the next group wraps to epoch 1 again
  const after = accountGroup(table, source, pair);
  assert.equal(table.groupEpoch, 1);
  assert.equal(after.usage.uss, 0);
});

Deno.test("a table grown between members keeps the group's counters", () => {
  const { table, source } = setup({ 5: 2 });
  beginGroup(table);
  const totals = createGroupTotals();
  accountMember(table, source, totals, { entries: [{ pfn: 5 }] });
  // The next member's scan meets a larger frame number.
  ensureFrame(table, 100_000);
  setFrameCount(table, 100_000, 1);
  accountMember(table, source, totals, { entries: [{ pfn: 5 }, { pfn: 100_000 }] });
  assert.equal(groupFigures(totals).usage.uss, 2 * PAGE);
});

Deno.test("sumUsages adds groups without claiming exactness", () => {
  const total = sumUsages([usage({ uss: 1, rss: 2, ram: 2 }), usage({ uss: 3, pss: 4, ram: 1 })]);
  assert.deepEqual(total, usage({ uss: 4, pss: 4, rss: 2, ram: 3 }));
  assert.deepEqual(sumUsages([]), emptyUsage());
});
