// Covers decodePagemapEntry, pfnOf and the flag masks (src/procfs/pagemap_bits.ts).
// Entries are built with BigInt from the layout in the kernel's pagemap.rst
// (bits 0-54 PFN; swap: 0-4 type, 5-54 offset; 55 soft-dirty, 56 exclusive,
// 57 uffd-wp, 58 guard, 61 file/shared, 62 swapped, 63 present), written
// little-endian into a buffer and read back as two 32-bit words.

import assert from "node:assert/strict";
import {
  decodePagemapEntry,
  ENTRY_BYTES,
  EXCLUSIVE,
  FILE_OR_SHARED,
  GUARD,
  type PagemapEntry,
  PFN_HIGH_MASK,
  pfnOf,
  PRESENT,
  SOFT_DIRTY,
  SWAPPED,
  UFFD_WP,
} from "../../src/procfs/pagemap_bits.ts";

const BIT = {
  softDirty: 55n,
  exclusive: 56n,
  uffdWriteProtected: 57n,
  guard: 58n,
  fileOrShared: 61n,
  swapped: 62n,
  present: 63n,
} as const;
type Flag = keyof typeof BIT;
const FLAGS = Object.keys(BIT) as Flag[];

const PFN_MASK = (1n << 55n) - 1n;

function entry(field: bigint, flags: Flag[]): bigint {
  assert.ok(field >= 0n && field <= PFN_MASK, "test precondition: field fits bits 0-54");
  return flags.reduce((value, flag) => value | (1n << BIT[flag]), field);
}

function swapField(type: bigint, offset: bigint): bigint {
  return (offset << 5n) | type;
}

/** Writes `value` little-endian as the file does and reads it back as two u32 words. */
function words(value: bigint): [number, number] {
  const bytes = new Uint8Array(ENTRY_BYTES);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, value, true);
  return [view.getUint32(0, true), view.getUint32(4, true)];
}

function decode(value: bigint): PagemapEntry {
  const [low, high] = words(value);
  return decodePagemapEntry(low, high);
}

Deno.test("pagemap entries are 8 bytes and read back as little-endian word pairs", () => {
  assert.equal(ENTRY_BYTES, 8);
  assert.deepEqual(words(0x8000_0001_2345_6789n), [0x2345_6789, 0x8000_0001]);
  // Hot loops use a host-order Uint32Array; on this (little-endian) host it matches.
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, 0x8000_0001_2345_6789n, true);
  assert.deepEqual([...new Uint32Array(bytes.buffer)], [0x2345_6789, 0x8000_0001]);
});

Deno.test("flag masks are the documented bits 55-63 shifted into the high word", () => {
  const high = (bit: bigint) => Number((1n << bit) >> 32n);
  assert.equal(PRESENT >>> 0, high(63n));
  assert.equal(SWAPPED, high(62n));
  assert.equal(FILE_OR_SHARED, high(61n));
  assert.equal(GUARD, high(58n));
  assert.equal(UFFD_WP, high(57n));
  assert.equal(EXCLUSIVE, high(56n));
  assert.equal(SOFT_DIRTY, high(55n));
  assert.equal(PFN_HIGH_MASK, Number(PFN_MASK >> 32n));
});

Deno.test("a present entry decodes its PFN and no swap fields", () => {
  assert.deepEqual(decode(entry(0x12_3456n, ["present"])), {
    present: true,
    swapped: false,
    fileOrShared: false,
    exclusive: false,
    softDirty: false,
    uffdWriteProtected: false,
    guard: false,
    pfn: 0x12_3456,
    swapType: null,
    swapOffset: null,
  });
});

Deno.test("each flag bit decodes to exactly its own flag", () => {
  for (const flag of FLAGS) {
    const decoded = decode(entry(0x4242n, ["present", flag]));
    for (const other of FLAGS) {
      assert.equal(decoded[other], other === flag || other === "present", `${flag} → ${other}`);
    }
    if (flag !== "swapped") assert.equal(decoded.pfn, 0x4242, flag);
  }
});

Deno.test("flag bits never leak into the PFN", () => {
  const all: Flag[] = ["present", "softDirty", "exclusive", "uffdWriteProtected", "guard"];
  const decoded = decode(entry(0x1234n, [...all, "fileOrShared"]));
  assert.equal(decoded.pfn, 0x1234);
  assert.equal(pfnOf(...words(entry(0x1234n, [...all, "fileOrShared"]))), 0x1234);
  // Bits 59-60 are unused (zero) per pagemap.rst; even if set they are not PFN bits.
  const [low, high] = words(entry(0x1234n, ["present"]) | (3n << 59n));
  assert.equal(pfnOf(low, high), 0x1234);
});

// The field is 55 bits wide, but Numbers are exact only below 2^53. Real values stay
// far below: x86-64 physical addresses have at most 52 bits (PFN < 2^40) and a swap
// offset of 2^48 pages would be a 1 EiB swap device. The tests cover up to 2^53 - 1.
const EXACT_FIELD = (1n << 53n) - 1n;

Deno.test("PFNs above 2^32 are rebuilt exactly (up to 2^53 - 1)", () => {
  const pfns = [
    0xffff_ffffn,
    0x1_0000_0000n,
    0x1_0000_0001n,
    0x12_3456_789an,
    0xff_ffff_ffffn, // last frame of a 52-bit physical address space
    EXACT_FIELD,
  ];
  for (const pfn of pfns) {
    const value = entry(pfn, ["present", "exclusive", "fileOrShared"]);
    const decoded = decode(value);
    assert.equal(decoded.pfn, Number(pfn), pfn.toString(16));
    assert.equal(pfnOf(...words(value)), Number(pfn), pfn.toString(16));
    assert.equal(decoded.exclusive, true);
    assert.equal(decoded.fileOrShared, true);
  }
});

Deno.test("a swapped entry decodes swap type (bits 0-4) and offset (bits 5-54)", () => {
  const cases: [bigint, bigint][] = [
    [0n, 1n],
    [1n, 0x1234n],
    [0x1fn, EXACT_FIELD >> 5n], // max type, largest offset exact in a Number (2^48 - 1)
    [7n, 0x1_0000_0000n], // offset above 2^32
    [2n, 0x7ff_ffffn], // offset crossing the word boundary (bits 5-32)
  ];
  for (const [type, offset] of cases) {
    const decoded = decode(entry(swapField(type, offset), ["swapped", "exclusive"]));
    assert.equal(decoded.present, false);
    assert.equal(decoded.swapped, true);
    assert.equal(decoded.pfn, null);
    assert.equal(decoded.swapType, Number(type), `type ${type}`);
    assert.equal(decoded.swapOffset, Number(offset), `offset ${offset.toString(16)}`);
  }
});

Deno.test("a swapped entry of an unprivileged reader has zero type and offset", () => {
  const decoded = decode(entry(0n, ["swapped"]));
  assert.equal(decoded.swapType, 0);
  assert.equal(decoded.swapOffset, 0);
});

Deno.test("a present entry read without CAP_SYS_ADMIN has PFN 0, flags intact", () => {
  const decoded = decode(entry(0n, ["present", "exclusive"]));
  assert.equal(decoded.present, true);
  assert.equal(decoded.pfn, 0);
  assert.equal(decoded.exclusive, true);
});

Deno.test("an empty entry (never touched) is neither present nor swapped", () => {
  assert.deepEqual(decode(0n), {
    present: false,
    swapped: false,
    fileOrShared: false,
    exclusive: false,
    softDirty: false,
    uffdWriteProtected: false,
    guard: false,
    pfn: null,
    swapType: null,
    swapOffset: null,
  });
});

Deno.test("a guard region entry decodes the guard flag without being present", () => {
  const decoded = decode(entry(0n, ["guard"]));
  assert.equal(decoded.guard, true);
  assert.equal(decoded.present, false);
  assert.equal(decoded.pfn, null);
});

Deno.test("decoding agrees with BigInt shifts on random entries", () => {
  let seed = 0x9e37_79b9;
  const random32 = () => {
    seed = (seed + 0x6d2b_79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  for (let i = 0; i < 2000; i++) {
    // Flags random, field below 2^53 (bits 53-54 cleared: see EXACT_FIELD).
    const value = ((BigInt(random32()) << 32n) | BigInt(random32())) & ~(3n << 53n);
    const decoded = decode(value);
    const bit = (n: bigint) => ((value >> n) & 1n) === 1n;
    const field = value & PFN_MASK;
    const present = bit(63n);
    const swapped = bit(62n);
    assert.equal(decoded.present, present);
    assert.equal(decoded.swapped, swapped);
    assert.equal(decoded.fileOrShared, bit(61n));
    assert.equal(decoded.guard, bit(58n));
    assert.equal(decoded.uffdWriteProtected, bit(57n));
    assert.equal(decoded.exclusive, bit(56n));
    assert.equal(decoded.softDirty, bit(55n));
    assert.equal(decoded.pfn, present ? Number(field) : null);
    assert.equal(decoded.swapType, !present && swapped ? Number(field & 0x1fn) : null);
    assert.equal(decoded.swapOffset, !present && swapped ? Number(field >> 5n) : null);
    assert.equal(pfnOf(...words(value)), Number(field));
  }
});
