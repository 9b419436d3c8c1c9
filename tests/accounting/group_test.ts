// Covers accountGroup (src/accounting/group.ts): a frame is unique to a group
// when its kpagecount (less the tool's own entries) equals the group's entries
// for it. Synthetic members: frame refs and kpagecounts chosen per case; the
// expected figures follow from that rule, not from the code.

import assert from "node:assert/strict";
import { frameSetBuilder } from "../../src/accounting/frame_set.ts";
import { accountGroup, type GroupMember } from "../../src/accounting/group.ts";
import {
  createFrameRefs,
  createScanTally,
  FRAME_FILE,
  FRAME_HUGETLB,
} from "../../src/accounting/pagemap_scan.ts";
import {
  accountProcess,
  createScratch,
  type FrameCounts,
  framePositions,
} from "../../src/accounting/usage.ts";

const PAGE = 4096;

interface MemberSpec {
  /** [pfn, kind] per entry. */
  refs: [number, number][];
  exclusiveAnon?: number;
  swapped?: number;
}

/** Builds members and counts the way measure.ts does, accounting each member on its own first. */
function group(
  specs: MemberSpec[],
  kpagecount: Record<number, number>,
  self: Record<number, number> = {},
) {
  const builder = frameSetBuilder();
  for (const spec of specs) for (const [pfn] of spec.refs) builder.add(pfn);
  const set = builder.build();
  const raw = new Uint32Array(set.pfns.length);
  const selfRefs = new Uint32Array(set.pfns.length);
  set.pfns.forEach((pfn, index) => {
    raw[index] = kpagecount[pfn];
    selfRefs[index] = self[pfn] ?? 0;
  });
  const counts: FrameCounts = { set, raw, self: selfRefs };
  const scratch = createScratch(set.pfns.length);
  const members: GroupMember[] = specs.map((spec) => {
    const tally = createScanTally(1);
    tally.exclusiveAnon[0] = spec.exclusiveAnon ?? 0;
    tally.swapped[0] = spec.swapped ?? 0;
    const refs = createFrameRefs(Math.max(1, spec.refs.length));
    for (const [pfn, kind] of spec.refs) {
      refs.pfns[refs.length] = pfn;
      refs.kinds[refs.length++] = kind;
    }
    const positions = framePositions(refs, set);
    const usage = accountProcess(tally, refs, positions, 1, counts, PAGE, scratch).total;
    return { tally, refs, positions, usage };
  });
  return { members, figures: accountGroup(members, counts, PAGE, scratch) };
}

Deno.test("copy-on-write shared by two members only is unique to the group, not to either", () => {
  // Frames 10-13: parent and child each map them (kpagecount 2).
  // Frame 20: the child's own copy (kpagecount 1). Frame 30: shared with an outsider (3).
  const shared: [number, number][] = [[10, 0], [11, 0], [12, 0], [13, 0]];
  const { members, figures } = group(
    [
      { refs: [...shared, [30, 0]], exclusiveAnon: 2 },
      { refs: [...shared, [20, 0], [30, 0]] },
    ],
    { 10: 2, 11: 2, 12: 2, 13: 2, 20: 1, 30: 3 },
  );
  assert.equal(members[0].usage.uss, 2 * PAGE); // its two exclusive pages
  assert.equal(members[1].usage.uss, PAGE); // frame 20
  assert.equal(figures.ussSum, 3 * PAGE);
  assert.equal(figures.usage.uss, (2 + 1 + 4) * PAGE); // + the 4 frames shared only inside
  assert.equal(figures.usage.ussAnon, figures.usage.uss);
  // Distinct frames: 2 exclusive + 10-13 + 20 + 30.
  assert.equal(figures.usage.rss, (2 + 4 + 1 + 1) * PAGE);
  assert.equal(figures.usage.pss, members[0].usage.pss + members[1].usage.pss);
});

Deno.test("group of one equals the process, whatever the sharing", () => {
  const { members, figures } = group(
    [{ refs: [[5, FRAME_FILE], [5, FRAME_FILE], [6, 0], [7, 0]], exclusiveAnon: 3, swapped: 2 }],
    { 5: 2, 6: 1, 7: 4 },
  );
  const own = members[0].usage;
  assert.equal(figures.usage.uss, own.uss);
  assert.equal(figures.usage.ussFile, own.ussFile);
  assert.equal(figures.usage.rss, own.rss);
  assert.equal(figures.usage.swap, 2 * PAGE);
  assert.equal(figures.ussSum, own.uss);
  assert.equal(own.uss, (3 + 1 + 1) * PAGE); // exclusive, frame 5 (mapped twice), frame 6
});

Deno.test("shmem mapped by every member is unique to the group and counted on the file side", () => {
  const page: [number, number][] = [[40, FRAME_FILE]];
  const { figures } = group([{ refs: page }, { refs: page }, { refs: page }], { 40: 3 });
  assert.equal(figures.ussSum, 0);
  assert.equal(figures.usage.uss, PAGE);
  assert.equal(figures.usage.ussFile, PAGE);
  assert.equal(figures.usage.rss, PAGE);
});

Deno.test("the tool's own entries do not make a frame shared", () => {
  // Frame 50: both members and the tool map it (kpagecount 3, tool holds 1).
  const page: [number, number][] = [[50, FRAME_FILE]];
  const { figures } = group([{ refs: page }, { refs: page }], { 50: 3 }, { 50: 1 });
  assert.equal(figures.usage.uss, PAGE);
});

Deno.test("hugetlb frames count in the hugetlb fields only; zero page not at all", () => {
  const huge: [number, number][] = [[60, FRAME_HUGETLB], [61, FRAME_HUGETLB]];
  const { figures } = group(
    [{ refs: [...huge, [0x99, 0]] }, { refs: huge }],
    { 60: 2, 61: 3, 0x99: 0 },
  );
  assert.equal(figures.usage.hugetlb, 2 * PAGE);
  assert.equal(figures.usage.hugetlbUss, PAGE); // 60; 61 has an outside mapping
  assert.equal(figures.usage.uss, 0);
  assert.equal(figures.usage.rss, 0);
});
