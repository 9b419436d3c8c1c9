// Covers frameSetBuilder and popcount32 (src/accounting/frame_set.ts): sorted
// distinct output, indexOf of present and absent frames, frames around 32-frame
// word and chunk boundaries (4096 and 65536 frames: both sizes the set has used)
// and above 2^32, duplicates, and a randomized comparison against a sorted-Set
// reference.

import assert from "node:assert/strict";
import { frameSetBuilder, popcount32 } from "../../src/accounting/frame_set.ts";

const CHUNK = 65536;
const SMALL_CHUNK = 4096;

function build(pfns: number[]) {
  const builder = frameSetBuilder();
  for (const pfn of pfns) builder.add(pfn);
  return builder.build();
}

/** The reference: distinct values, sorted numerically. */
function reference(pfns: number[]): number[] {
  return [...new Set(pfns)].sort((a, b) => a - b);
}

function naivePopcount(word: number): number {
  let count = 0;
  for (let bit = 0; bit < 32; bit++) if (((word >>> bit) & 1) === 1) count++;
  return count;
}

/** mulberry32: a small deterministic PRNG, so failures reproduce. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b_79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function assertMatchesReference(pfns: number[], probes: number[] = []): void {
  const set = build(pfns);
  const expected = reference(pfns);
  assert.deepEqual([...set.pfns], expected);
  expected.forEach((pfn, index) => assert.equal(set.indexOf(pfn), index, `indexOf(${pfn})`));
  const present = new Set(expected);
  for (const probe of probes) {
    if (!present.has(probe)) assert.equal(set.indexOf(probe), -1, `indexOf(${probe})`);
  }
}

Deno.test("popcount32 counts the set bits of any 32-bit word", () => {
  const words = [
    0,
    1,
    2,
    3,
    0x8000_0000,
    0xffff_ffff,
    0x7fff_ffff,
    0x5555_5555,
    0xaaaa_aaaa,
    0x0f0f_0f0f,
    0xf0f0_f0f0,
    0x8000_0001,
    0x0001_0000,
    0xdead_beef,
  ];
  for (const word of words) assert.equal(popcount32(word), naivePopcount(word), word.toString(16));
  // Negative int32 views of the same bits (what `|` and `&` produce) count the same.
  assert.equal(popcount32(-1), 32);
  assert.equal(popcount32(1 << 31), 1);
  const random = prng(7);
  for (let i = 0; i < 5000; i++) {
    const word = Math.floor(random() * 2 ** 32);
    assert.equal(popcount32(word), naivePopcount(word), word.toString(16));
  }
});

Deno.test("an empty set has no frames and finds nothing", () => {
  const set = build([]);
  assert.equal(set.pfns.length, 0);
  assert.equal(set.indexOf(0), -1);
  assert.equal(set.indexOf(12345), -1);
});

Deno.test("frames come out sorted and distinct, whatever the insertion order", () => {
  const set = build([42, 7, 42, 1000, 7, 7, 3, 999, 1000]);
  assert.deepEqual([...set.pfns], [3, 7, 42, 999, 1000]);
  assert.equal(set.indexOf(3), 0);
  assert.equal(set.indexOf(7), 1);
  assert.equal(set.indexOf(42), 2);
  assert.equal(set.indexOf(999), 3);
  assert.equal(set.indexOf(1000), 4);
});

Deno.test("indexOf of an absent frame is -1, next to present ones and in empty chunks", () => {
  const set = build([10, 12, 40, 3 * CHUNK + 5]);
  for (const absent of [0, 9, 11, 13, 39, 41, CHUNK, 2 * CHUNK + 5, 3 * CHUNK + 4, 3 * CHUNK + 6]) {
    assert.equal(set.indexOf(absent), -1, String(absent));
  }
  assert.equal(set.indexOf(3 * CHUNK + 5), 3);
});

Deno.test("frames on both sides of 32-bit word and 65536-frame chunk boundaries", () => {
  const pfns = [
    0,
    31,
    32,
    63,
    64,
    SMALL_CHUNK - 1,
    SMALL_CHUNK,
    SMALL_CHUNK + 1,
    3 * SMALL_CHUNK - 1,
    3 * SMALL_CHUNK,
    CHUNK - 33,
    CHUNK - 32,
    CHUNK - 1,
    CHUNK,
    CHUNK + 1,
    CHUNK + 31,
    CHUNK + 32,
    2 * CHUNK - 1,
    2 * CHUNK,
    10 * CHUNK + 31,
  ];
  assertMatchesReference([...pfns].reverse(), [
    1,
    30,
    33,
    62,
    SMALL_CHUNK - 2,
    SMALL_CHUNK + 2,
    2 * SMALL_CHUNK,
    CHUNK - 2,
    CHUNK + 2,
    2 * CHUNK + 1,
  ]);
});

Deno.test("a chunk with every frame set is ranked correctly", () => {
  const pfns: number[] = [];
  for (let pfn = CHUNK - 100; pfn < 2 * CHUNK + 100; pfn++) pfns.push(pfn);
  const set = build(pfns);
  assert.equal(set.pfns.length, CHUNK + 200);
  pfns.forEach((pfn, index) => {
    if (set.indexOf(pfn) !== index) assert.equal(set.indexOf(pfn), index, String(pfn));
  });
  assert.equal(set.indexOf(CHUNK - 101), -1);
  assert.equal(set.indexOf(2 * CHUNK + 100), -1);
});

Deno.test("PFNs above 2^32 keep their exact values and positions", () => {
  const pfns = [
    2 ** 32 - 1,
    2 ** 32,
    2 ** 32 + 1,
    2 ** 32 + 31,
    2 ** 40 + 5,
    2 ** 40 + CHUNK,
    0xff_ffff_ffff, // last frame of a 52-bit physical address space
    2 ** 45 + 3, // beyond any real machine, still a valid 55-bit PFN
    2 ** 53 - 1, // the largest PFN a Number holds exactly
    17,
  ];
  assertMatchesReference(pfns, [
    2 ** 32 + 2,
    2 ** 40 + 4,
    2 ** 40 + 6,
    2 ** 41,
    0xff_ffff_fffe,
    2 ** 45 + 2,
    2 ** 53 - 2,
  ]);
  // Two PFNs 2^32 apart share low bits but are different frames.
  const set = build([5, 2 ** 32 + 5]);
  assert.deepEqual([...set.pfns], [5, 2 ** 32 + 5]);
  assert.equal(set.indexOf(5), 0);
  assert.equal(set.indexOf(2 ** 32 + 5), 1);
});

Deno.test("duplicates collapse to one position", () => {
  const pfns: number[] = [];
  for (let i = 0; i < 256; i++) pfns.push(0x4_2000); // a KSM frame mapped 256 times
  pfns.push(0x4_1fff, 0x4_2001);
  const set = build(pfns);
  assert.deepEqual([...set.pfns], [0x4_1fff, 0x4_2000, 0x4_2001]);
  assert.equal(set.indexOf(0x4_2000), 1);
});

Deno.test("lookups in any order after build (chunk cache) stay correct", () => {
  const pfns = [5, CHUNK * 7 + 3, 2 ** 33, CHUNK + 9, 2 ** 33 + CHUNK];
  const set = build(pfns);
  const expected = reference(pfns);
  for (const pfn of [2 ** 33, 5, 2 ** 33, CHUNK + 9, 5, 2 ** 33 + CHUNK, CHUNK * 7 + 3]) {
    assert.equal(set.indexOf(pfn), expected.indexOf(pfn), String(pfn));
  }
  assert.equal(set.indexOf(CHUNK * 7 + 4), -1);
  assert.equal(set.indexOf(5), 0);
});

Deno.test("randomized: matches a sorted-Set reference on clustered and sparse PFNs", () => {
  for (let round = 0; round < 20; round++) {
    const random = prng(1000 + round);
    const pfns: number[] = [];
    const clusters = 1 + Math.floor(random() * 8);
    for (let c = 0; c < clusters; c++) {
      // Clusters anywhere up to 2^40 frames, some straddling a chunk boundary.
      const base = random() < 0.3
        ? Math.floor(random() * 2 ** 24) * CHUNK - 50
        : Math.floor(random() * 2 ** 40);
      const span = 1 + Math.floor(random() * 3 * CHUNK);
      const count = Math.floor(random() * 3000);
      for (let i = 0; i < count; i++) pfns.push(Math.max(0, base + Math.floor(random() * span)));
    }
    for (let i = 0; i < 200; i++) pfns.push(Math.floor(random() * 2 ** 20));
    // Re-add some, to exercise duplicates.
    for (let i = 0; i < 300 && pfns.length > 0; i++) {
      pfns.push(pfns[Math.floor(random() * pfns.length)]);
    }
    const probes: number[] = [];
    for (const pfn of pfns.slice(0, 500)) probes.push(pfn - 1, pfn + 1, pfn + CHUNK);
    assertMatchesReference(pfns, probes);
  }
});
