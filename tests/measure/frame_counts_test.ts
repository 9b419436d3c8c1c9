// Covers matchSelfFrames and verifySelfFrames (src/measure/frame_counts.ts):
// the tool's own entries on a frame are subtracted from its kpagecount, and they
// must be the entries the tool had when the count was read. Here the tool's
// pagemap and kpagecount are files in a directory standing in for /proc, so the
// test can change the tool's mapping between the match and the count, as V8
// faulting in more of the Deno binary does in a real run (tests/e2e/self_test.ts
// shows it against the real kernel).

import assert from "node:assert/strict";
import {
  COUNT_PENDING,
  createFrameTable,
  frameCount,
  type FrameTable,
} from "../../src/accounting/frame_table.ts";
import { createFrameRefs } from "../../src/accounting/pagemap_scan.ts";
import type { SelfMappings } from "../../src/measure/context.ts";
import {
  createCountReader,
  createSelfFrames,
  fetchCounts,
  matchSelfFrames,
  selfEntries,
  verifySelfFrames,
} from "../../src/measure/frame_counts.ts";
import { openKpagecount } from "../../src/procfs/kpagecount.ts";
import { openPagemap } from "../../src/procfs/pagemap.ts";
import { PRESENT } from "../../src/procfs/pagemap_bits.ts";

const KEY = "2049:42";
/** The target maps file pages 0-3 on these frames. */
const FRAMES = [100, 101, 102, 103];
/** The tool maps the same file pages at its pages 10-13. */
const OWN_FIRST_PAGE = 10;

/** Pagemap entries (two 32-bit words each) of present pages on `pfns` (null: not present). */
function entries(pfns: (number | null)[]): Int32Array {
  const words = new Int32Array(pfns.length * 2);
  pfns.forEach((pfn, page) => {
    if (pfn === null) return;
    words[2 * page] = pfn;
    words[2 * page + 1] = PRESENT | 0;
  });
  return words;
}

/** A stand-in for /proc: `self/pagemap` (the tool's pages 0-15) and `kpagecount`. */
function fakeProc(root: string, own: (number | null)[], counts: Map<number, number>): void {
  const pagemap = new Int32Array(16 * 2);
  pagemap.set(entries(own), OWN_FIRST_PAGE * 2);
  Deno.mkdirSync(`${root}/self`, { recursive: true });
  Deno.writeFileSync(`${root}/self/pagemap`, new Uint8Array(pagemap.buffer));
  const kpagecount = new BigUint64Array(128);
  for (const [pfn, count] of counts) kpagecount[pfn] = BigInt(count);
  Deno.writeFileSync(`${root}/kpagecount`, new Uint8Array(kpagecount.buffer));
}

/**
 * Matches the tool's entries with a target mapping FRAMES, lets `between`
 * change the tool's pagemap and the counts (as the machine would before the
 * count is read), reads the counts and, when `verify`, checks them; returns the
 * recorded counts (the tool's entries left out) and the tool's entries.
 */
async function measure(
  before: (number | null)[],
  after: (number | null)[],
  counts: Map<number, number>,
  verify: boolean,
): Promise<{ others: number[]; own: number[] }> {
  const root = Deno.makeTempDirSync({ prefix: "uss-selfcheck-" });
  try {
    fakeProc(root, before, counts);
    const pagemap = openPagemap(root, "self");
    const source = openKpagecount(root);
    try {
      const self: SelfMappings = {
        byFile: new Map([[KEY, [{
          startPage: OWN_FIRST_PAGE,
          endPage: 14,
          offsetPage: 0,
          pagemap,
        }]]]),
        inodes: new Set([42]),
        pagemaps: [pagemap],
      };
      const table: FrameTable = createFrameTable(128);
      const refs = createFrameRefs(FRAMES.length);
      for (const pfn of FRAMES) {
        // As the scan leaves them: listed, pending, to be read by this batch.
        refs.pfns[refs.length++] = pfn;
        table.counts[pfn] = COUNT_PENDING;
        refs.unread[refs.unreadLength++] = pfn;
      }
      const selfFrames = createSelfFrames();
      const reader = createCountReader(source, { waiters: [] });
      matchSelfFrames(self, selfFrames, table, reader.selfChecks, KEY, entries(FRAMES), 0, 4, 0);
      fakeProc(root, after, counts);
      await fetchCounts(table, refs, reader, selfFrames);
      if (verify) await verifySelfFrames(selfFrames, table, reader);
      return {
        others: FRAMES.map((pfn) => frameCount(table, pfn)),
        own: FRAMES.map((pfn) => selfEntries(selfFrames, pfn)),
      };
    } finally {
      pagemap.file.close();
      source.file.close();
    }
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
}

Deno.test("own entries: a page the tool maps after the match is left out of the count", async () => {
  // Matched: the tool maps file page 0 only. Then it faults in page 1, and the
  // counts include it: frames 100 and 101 are the target's and the tool's.
  const before = [100, null, null, null];
  const after = [100, 101, null, null];
  const counts = new Map([[100, 2], [101, 2], [102, 1], [103, 1]]);
  const checked = await measure(before, after, counts, true);
  assert.deepEqual(checked.own, [1, 1, 0, 0]);
  assert.deepEqual(checked.others, [1, 1, 1, 1], "every frame is the target's alone");
  // Without the check the tool's new entry stays in frame 101's count.
  const unchecked = await measure(before, after, counts, false);
  assert.deepEqual(unchecked.others, [1, 2, 1, 1]);
});

Deno.test("own entries: a page the tool no longer maps is not subtracted", async () => {
  // Matched while the tool mapped page 0; the kernel reclaimed it before the
  // count, which then holds the target and another process.
  const before = [100, null, null, null];
  const after = [null, null, null, null];
  const counts = new Map([[100, 2], [101, 1], [102, 1], [103, 1]]);
  const checked = await measure(before, after, counts, true);
  assert.deepEqual(checked.own, [0, 0, 0, 0]);
  assert.deepEqual(checked.others, [2, 1, 1, 1], "frame 100 is shared with another process");
  const unchecked = await measure(before, after, counts, false);
  assert.deepEqual(unchecked.others, [1, 1, 1, 1], "unchecked, it would look unique");
});

Deno.test("own entries: unchanged, the counts stand", async () => {
  const own = [100, 101, null, 103];
  const counts = new Map([[100, 3], [101, 2], [102, 1], [103, 2]]);
  const checked = await measure(own, own, counts, true);
  assert.deepEqual(checked.own, [1, 1, 0, 1]);
  assert.deepEqual(checked.others, [2, 1, 1, 1]);
});
