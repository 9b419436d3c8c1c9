// Covers planReads (src/measure/read_plan.ts): which pagemap reads cover a
// process's VMAs, on synthetic maps.
import * as assert from "node:assert/strict";
import { parseMaps, rangesOf } from "../../src/procfs/maps.ts";
import { planReads } from "../../src/measure/read_plan.ts";

const PAGE = 4096;

/** Maps text for VMAs given as [first page, pages]. */
function mapsOf(vmas: [number, number][]): string {
  const hex = (page: number) => (page * PAGE).toString(16);
  return vmas.map(([first, pages]) => `${hex(first)}-${hex(first + pages)} rw-p 0 00:00 0\n`)
    .join("");
}

function plan(vmas: [number, number][], selected?: number[]) {
  const ranges = rangesOf(parseMaps(mapsOf(vmas), PAGE), PAGE);
  const chosen = Uint8Array.from(selected ?? vmas.map(() => 1));
  const result = planReads(ranges, chosen, 65536, 1024, 512);
  return [...result.firstPage].map((first, run) => [first, result.pages[run]]);
}

Deno.test("planReads: a region straddling a chunk multiple is read whole", () => {
  // A forked server's 64 MiB region at page 58,368 of its 65,536-page chunk,
  // then libraries 321 pages further on (merged: the hole is read through).
  const base = 0x7f6750000 + 58368; // the region's first page (0x7f6750000: a chunk multiple)
  const runs = plan([[base, 16384], [base + 16384 + 321, 600]]);
  assert.deepEqual(runs, [[base, 16384 + 321 + 600]]);
});

Deno.test("planReads: long runs are cut at PMD boundaries into pieces as long as a chunk allows", () => {
  const first = 1000 * 512 + 100; // not PMD-aligned
  const pages = 200_000;
  const runs = plan([[first, pages]]);
  let next = first;
  for (const [start, length] of runs) {
    assert.equal(start, next);
    assert.ok(length <= 65536);
    next = start + length;
    if (next < first + pages) {
      assert.equal(next % 512, 0, "a cut inside a PMD block");
      assert.ok(length > 65536 - 512, "a piece shorter than it could be");
    }
  }
  assert.equal(next, first + pages);
  assert.equal(runs.length, Math.ceil(pages / (65536 - 512)));
});

Deno.test("planReads: holes and unselected VMAs end a run", () => {
  assert.deepEqual(plan([[10, 5], [20, 5], [2000, 5]]), [[10, 15], [2000, 5]]);
  assert.deepEqual(plan([[10, 5], [15, 5], [20, 5]], [1, 0, 1]), [[10, 5], [20, 5]]);
});

Deno.test("planReads: each run says how many VMAs it covers, every piece of a cut run the whole run's", () => {
  const ranges = rangesOf(
    parseMaps(mapsOf([[10, 5], [15, 5], [22, 3], [5000, 200_000]]), PAGE),
    PAGE,
  );
  const result = planReads(ranges, new Uint8Array([1, 1, 1, 1]), 65536, 1024, 512);
  assert.deepEqual([...result.vmas], [3, 1, 1, 1, 1]);
  assert.deepEqual(planReads(ranges, null, 65536, 1024, 512), result, "null selects every VMA");
  const withHole = planReads(ranges, new Uint8Array([1, 0, 1, 0]), 65536, 1024, 512);
  assert.deepEqual([...withHole.vmas], [1, 1]);
});

Deno.test("planReads refuses an alignment larger than a chunk", () => {
  const ranges = rangesOf(parseMaps(mapsOf([[0, 10]]), PAGE), PAGE);
  assert.throws(() => planReads(ranges, new Uint8Array([1]), 512, 16, 1024), RangeError);
});
