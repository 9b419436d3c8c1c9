// Covers src/procfs/smaps.ts: parseSmaps and parseSmapsTable (smaps fields in
// bytes, header lines parsed as maps, malformed fields), a table read as a
// stream in pieces (procTextChunks, procLineChunks), the real /proc/self/smaps, and
// a stopped fixture's smaps read as a stream.
//
// testdata/smaps_sample.txt is in the kernel's exact format: its file lines were
// captured from a C probe on this machine; the hugetlb and swap entries were
// written by hand in the same format (this machine has no hugetlb pages reserved
// and no swap).

import assert from "node:assert/strict";
import { procLineChunks, procTextChunks, READ_BYTES } from "../../src/procfs/files.ts";
import { buildFixture, startFixture } from "../helpers.ts";
import {
  parseSmaps,
  parseSmapsTable,
  readSmaps,
  smapsFieldsAt,
  smapsVmaAt,
} from "../../src/procfs/smaps.ts";

const PAGE = 4096;
const SMAPS_TEXT = Deno.readTextFileSync(
  new URL("../../testdata/smaps_sample.txt", import.meta.url),
);

/** Page number of a hex address, computed exactly with BigInt. */
function exactPage(hex: string, pageSize = PAGE): number {
  return Number(BigInt(`0x${hex}`) / BigInt(pageSize));
}

const KB = 1024;

function smapsVma(start: string) {
  const vma = parseSmaps(SMAPS_TEXT, PAGE).find((candidate) => candidate.start === start);
  assert.ok(vma, `no smaps VMA at ${start}`);
  return vma;
}

Deno.test("parseSmaps: one VMA per header, with header fields parsed like maps", () => {
  const vmas = parseSmaps(SMAPS_TEXT, PAGE);
  assert.deepEqual(vmas.map((vma) => [vma.start, vma.path, vma.deleted]), [
    ["7f602f800000", "/anon_hugepage", true],
    ["7f602ff28000", "/usr/lib/x86_64-linux-gnu/libc.so.6", false],
    ["7f60300e7000", "", false],
    ["7f60300ea000", "/tmp/ussprobe/gone.bin", true],
    ["7f60300ed000", "", false],
    ["ffffffffff600000", "[vsyscall]", false],
  ]);
  const vsyscall = vmas[5];
  assert.equal(vsyscall.startPage, exactPage("ffffffffff600000"));
  assert.equal(vsyscall.endPage, exactPage("ffffffffff601000"));
});

Deno.test("parseSmaps: kB fields become bytes, each under its own key", () => {
  const libc = smapsVma("7f602ff28000");
  assert.deepEqual(libc.smaps, {
    size: 1368 * KB,
    kernelPageSize: 4 * KB,
    rss: 736 * KB,
    pss: 88 * KB,
    sharedClean: 736 * KB,
    sharedDirty: 0,
    privateClean: 0,
    privateDirty: 0,
    anonymous: 0,
    anonHugePages: 0,
    swap: 0,
    swapPss: 0,
    sharedHugetlb: 0,
    privateHugetlb: 0,
  });
  const anon = smapsVma("7f60300e7000");
  assert.equal(anon.smaps.size, 12 * KB);
  assert.equal(anon.smaps.rss, 12 * KB);
  assert.equal(anon.smaps.privateDirty, 12 * KB);
  assert.equal(anon.smaps.anonymous, 12 * KB);
  const gone = smapsVma("7f60300ea000");
  assert.equal(gone.smaps.privateDirty, 4 * KB);
  assert.equal(gone.smaps.anonymous, 0);
});

Deno.test("parseSmaps: a hugetlb VMA reports 2 MiB KernelPageSize and Private_Hugetlb, no Rss", () => {
  const huge = smapsVma("7f602f800000");
  assert.equal(huge.smaps.kernelPageSize, 2 * 1024 * 1024);
  assert.equal(huge.smaps.privateHugetlb, 4 * 1024 * 1024);
  assert.equal(huge.smaps.sharedHugetlb, 0);
  assert.equal(huge.smaps.size, 4 * 1024 * 1024);
  assert.equal(huge.smaps.rss, 0);
  assert.equal(huge.smaps.pss, 0);
});

Deno.test("parseSmaps: Swap and SwapPss are read separately", () => {
  const swapped = smapsVma("7f60300ed000");
  assert.equal(swapped.smaps.swap, 8 * KB);
  assert.equal(swapped.smaps.swapPss, 4 * KB);
  assert.equal(swapped.smaps.rss, 4 * KB);
});

Deno.test("parseSmaps: look-alike keys (Pss_Dirty, MMUPageSize, …) and VmFlags are ignored", () => {
  const header = "7f60300e7000-7f60300ea000 rw-p 00000000 00:00 0 ";
  const text = [
    header,
    "Size:                 12 kB",
    "KernelPageSize:        4 kB",
    "MMUPageSize:        2048 kB",
    "Rss:                  12 kB",
    "Pss:                  12 kB",
    "Pss_Dirty:            99 kB",
    "Pss_Anon:             98 kB",
    "Private_Dirty:        12 kB",
    "Anonymous:            12 kB",
    "KSM:                  97 kB",
    "SwapPss:               0 kB",
    "THPeligible:           1",
    "ProtectionKey:         0",
    "VmFlags: rd wr mr mw me ac ",
    "",
  ].join("\n");
  const vmas = parseSmaps(text, PAGE);
  assert.equal(vmas.length, 1);
  assert.equal(vmas[0].smaps.pss, 12 * KB);
  assert.equal(vmas[0].smaps.kernelPageSize, 4 * KB);
  assert.equal(vmas[0].smaps.swapPss, 0);
  assert.equal(vmas[0].smaps.swap, 0);
  assert.deepEqual(Object.keys(vmas[0].smaps).sort(), [
    "anonHugePages",
    "anonymous",
    "kernelPageSize",
    "privateClean",
    "privateDirty",
    "privateHugetlb",
    "pss",
    "rss",
    "sharedClean",
    "sharedDirty",
    "sharedHugetlb",
    "size",
    "swap",
    "swapPss",
  ]);
});

Deno.test("parseSmaps: a field uss uses that is not `N kB` throws, naming it; others are ignored", () => {
  const header = "7f60300e7000-7f60300ea000 rw-p 00000000 00:00 0 ";
  const parse = (...fields: string[]) => parseSmaps([header, ...fields, ""].join("\n"), PAGE);
  assert.equal(parse("Rss:   12 kB  ", "THPeligible: x")[0].smaps.rss, 12 * KB);
  assert.throws(() => parse("Rss: twelve kB"), /smaps Rss is not a size in kB: "twelve kB"/);
  assert.throws(() => parse("Anonymous: 12 MB"), /smaps Anonymous is not a size in kB/);
  assert.throws(() => parse("Swap:"), /smaps Swap is not a size in kB/);
  assert.throws(
    () => parse("Rss: 1000000000000000000000 kB"), // beyond 2^53 bytes
    /smaps Rss is not a size in kB: "1000000000000000000000 kB"/,
  );
});

Deno.test("parseSmaps: a malformed VMA header throws a SyntaxError", () => {
  const text = SMAPS_TEXT.replace("7f60300e7000-7f60300ea000", "7f60300e7000+7f60300ea000");
  assert.throws(() => parseSmaps(text, PAGE), SyntaxError);
});

Deno.test("parseSmaps: the real /proc/self/smaps agrees with a regex sum of the same text", () => {
  const text = Deno.readTextFileSync("/proc/self/smaps");
  const vmas = parseSmaps(text, PAGE);
  const headers = text.split("\n").filter((line) => /^[0-9a-f]+-[0-9a-f]+ /.test(line));
  assert.equal(vmas.length, headers.length);
  const sum = (key: string) =>
    [...text.matchAll(new RegExp(`^${key}:\\s+(\\d+) kB$`, "gm"))]
      .reduce((total, match) => total + Number(match[1]) * KB, 0);
  const total = (field: "rss" | "pss" | "privateDirty" | "size") =>
    vmas.reduce((acc, vma) => acc + vma.smaps[field], 0);
  assert.equal(total("size"), sum("Size"));
  assert.equal(total("rss"), sum("Rss"));
  assert.equal(total("pss"), sum("Pss"));
  assert.equal(total("privateDirty"), sum("Private_Dirty"));
  assert.ok(total("rss") > 0);
  for (const vma of vmas) {
    assert.equal(vma.smaps.size, (vma.endPage - vma.startPage) * PAGE, vma.start);
  }
});

Deno.test("parseSmapsTable: the same VMAs whatever the pieces the text comes in", () => {
  const whole = parseSmaps(SMAPS_TEXT, PAGE);
  const lines = SMAPS_TEXT.split(/(?<=\n)/);
  for (const size of [1, 2, 7, 1000]) {
    const pieces: string[] = [];
    for (let at = 0; at < lines.length; at += size) {
      pieces.push(lines.slice(at, at + size).join(""));
    }
    const table = parseSmapsTable(pieces, PAGE);
    assert.equal(table.ranges.count, whole.length);
    whole.forEach((vma, index) => {
      assert.deepEqual(smapsVmaAt(table, index), vma, `${size} lines a piece, VMA ${index}`);
      assert.deepEqual(smapsFieldsAt(table, index), vma.smaps);
    });
  }
});

Deno.test("readSmaps: a stopped process's smaps read as a stream gives the VMAs of its whole text", async () => {
  // A stopped fixture, not this process: its layout cannot change between the
  // two reads (this one's does, as threads map and trim malloc arenas). 200
  // one-page VMAs between guard pages make smaps several reads long.
  const binary = await buildFixture("idle");
  await using fixture = await startFixture(binary, ["1", "200"], 1);
  const [{ pid }] = fixture.processes;
  const text = Deno.readTextFileSync(`/proc/${pid}/smaps`);
  assert.ok(text.length > 3 * READ_BYTES, `smaps is ${text.length} bytes`);
  const table = readSmaps("/proc", pid, PAGE);
  const whole = parseSmaps(text, PAGE);
  assert.ok(whole.length > 400);
  assert.equal(table.ranges.count, whole.length);
  whole.forEach((vma, index) => {
    assert.deepEqual(smapsVmaAt(table, index), vma, `VMA ${index}`);
    assert.deepEqual(smapsFieldsAt(table, index), vma.smaps);
  });
});

Deno.test("procTextChunks: pieces end at line ends and add up to the file, however long", () => {
  const dir = Deno.makeTempDirSync();
  try {
    // 200,000 lines (3.5 MB), one of them longer than a read, and no newline at the end.
    const lines = Array.from({ length: 200_000 }, (_, i) => `line ${i} é`);
    lines[1234] = "x".repeat(100_000);
    const text = lines.join("\n");
    Deno.writeTextFileSync(`${dir}/file`, text);
    const pieces = [...procTextChunks(`${dir}/file`)];
    assert.ok(pieces.length > 10);
    assert.equal(pieces.join(""), text);
    pieces.slice(0, -1).forEach((piece) => assert.ok(piece.endsWith("\n")));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("procLineChunks: a reader started while another is between pieces has a buffer of its own", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const decoder = new TextDecoder();
    // Files of several reads each, with different bytes.
    const texts = ["a", "b", "c"].map((letter) => `${letter.repeat(99)}\n`.repeat(2000));
    texts.forEach((text, index) => Deno.writeTextFileSync(`${dir}/${index}`, text));
    const outer = procLineChunks(`${dir}/0`);
    let read = "";
    for (let step = 0;; step++) {
      const piece = outer.next();
      if (piece.done) break;
      // Between two pieces of the first file, read the others whole, one
      // inside the other: the piece in hand must not change under them.
      const before = decoder.decode(piece.value);
      let inner = "";
      for (const bytes of procLineChunks(`${dir}/${1 + step % 2}`)) {
        inner += decoder.decode(bytes);
        for (const nested of procLineChunks(`${dir}/${2 - step % 2}`)) assert.ok(nested.length > 0);
      }
      assert.equal(inner, texts[1 + step % 2]);
      assert.equal(decoder.decode(piece.value), before);
      read += before;
    }
    assert.equal(read, texts[0]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
