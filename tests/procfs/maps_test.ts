// Covers parseMapsLine, parseMaps, parseMapRanges, readMapPieces and vmaOf (src/procfs/maps.ts):
// paths with spaces, ` (deleted)`, pseudo-paths, anonymous lines, addresses
// above 2^53 and 57-bit (5-level paging) addresses, malformed lines. smaps is in
// smaps_test.ts.
//
// testdata/maps_edge_cases.txt and testdata/smaps_sample.txt are in the kernel's
// exact format (header padded to column 73, anonymous lines ending in "0 ").
// Their file lines were captured from a C probe on this machine; the [heap],
// [anon:…], [anon_shmem:…], 57-bit and hugetlb/swap entries were written by hand
// in the same format (this kernel has no CONFIG_ANON_VMA_NAME, no LA57, and no
// hugetlb pages reserved).

import assert from "node:assert/strict";
import {
  type MapRanges,
  parseMapRanges,
  parseMaps,
  parseMapsLine,
  readMapPieces,
  type Vma,
  vmaOf,
} from "../../src/procfs/maps.ts";

const PAGE = 4096;
const TESTDATA = new URL("../../testdata/", import.meta.url);
const MAPS_TEXT = Deno.readTextFileSync(new URL("maps_edge_cases.txt", TESTDATA));

/** Page number of a hex address, computed exactly with BigInt. */
function exactPage(hex: string, pageSize = PAGE): number {
  const page = BigInt(`0x${hex}`) / BigInt(pageSize);
  assert.ok(page <= BigInt(Number.MAX_SAFE_INTEGER), "test precondition: page fits a double");
  return Number(page);
}

function vmaWithPath(vmas: Vma[], path: string): Vma {
  const found = vmas.find((vma) => vma.path === path);
  assert.ok(found, `no VMA with path ${JSON.stringify(path)}`);
  return found;
}

Deno.test("parseMaps: every line of the snapshot becomes one VMA, in order", () => {
  const lines = MAPS_TEXT.split("\n").filter((line) => line !== "");
  const vmas = parseMaps(MAPS_TEXT, PAGE);
  assert.equal(vmas.length, lines.length);
  assert.equal(vmas.length, 16);
  for (let i = 0; i < vmas.length; i++) {
    assert.equal(`${vmas[i].start}-${vmas[i].end}`, lines[i].split(" ")[0]);
  }
});

Deno.test("parseMapsLine: a classic file line yields every field as printed", () => {
  const vma = parseMapsLine(
    "00400000-00452000 r-xp 00000000 08:02 173521                             /usr/bin/dbus-daemon",
    PAGE,
  );
  assert.deepEqual(vma, {
    start: "00400000",
    end: "00452000",
    startPage: 0x400,
    endPage: 0x452,
    perms: "r-xp",
    offset: "00000000",
    device: "08:02",
    inode: 173521,
    path: "/usr/bin/dbus-daemon",
    deleted: false,
  });
});

Deno.test("parseMaps: a file offset and a shared mapping keep their printed form", () => {
  const vmas = parseMaps(MAPS_TEXT, PAGE);
  const twoSpaces = vmaWithPath(vmas, "/tmp/two  spaces/x");
  assert.equal(twoSpaces.offset, "00001000");
  assert.equal(twoSpaces.device, "fe:00");
  assert.equal(twoSpaces.inode, 2146850);
  const shm = vmaWithPath(vmas, "[anon_shmem:ring]");
  assert.equal(shm.perms, "rw-s");
  assert.equal(shm.device, "00:01");
  assert.equal(shm.inode, 1025);
});

Deno.test("parseMaps: spaces inside a path are kept, including runs of spaces", () => {
  const vmas = parseMaps(MAPS_TEXT, PAGE);
  const lib = vmaWithPath(vmas, "/tmp/ussprobe/my lib v2.so");
  assert.equal(lib.deleted, false);
  assert.equal(lib.startPage, exactPage("7fcca11e3000"));
  assert.equal(lib.endPage - lib.startPage, 2);
  vmaWithPath(vmas, "/tmp/two  spaces/x");
});

Deno.test("parseMaps: a ' (deleted)' suffix becomes the deleted flag and leaves the path", () => {
  const vmas = parseMaps(MAPS_TEXT, PAGE);
  const gone = vmaWithPath(vmas, "/tmp/ussprobe/gone.bin");
  assert.equal(gone.deleted, true);
  assert.equal(gone.perms, "rw-s");
  // MAP_SHARED|MAP_ANONYMOUS memory is an unlinked shmem file named /dev/zero.
  const zero = vmaWithPath(vmas, "/dev/zero");
  assert.equal(zero.deleted, true);
  const deleted = vmas.filter((vma) => vma.deleted).map((vma) => vma.path);
  assert.deepEqual(deleted, ["/dev/zero", "/tmp/ussprobe/gone.bin"]);
  assert.ok(vmas.every((vma) => !vma.path.endsWith("(deleted)")));
});

Deno.test("parseMaps: pseudo-paths are kept verbatim and are not deleted", () => {
  const vmas = parseMaps(MAPS_TEXT, PAGE);
  const pseudo = vmas.filter((vma) => vma.path.startsWith("[")).map((vma) => vma.path);
  assert.deepEqual(pseudo, [
    "[heap]",
    "[anon:v8 heap]",
    "[anon_shmem:ring]",
    "[vvar]",
    "[vvar_vclock]",
    "[vdso]",
    "[stack]",
    "[anon:la57 top]",
    "[vsyscall]",
  ]);
  for (const path of pseudo) assert.equal(vmaWithPath(vmas, path).deleted, false);
  const heap = vmaWithPath(vmas, "[heap]");
  assert.equal(heap.startPage, 0xe03);
  assert.equal(heap.endPage, 0xe24);
});

Deno.test("parseMaps: anonymous lines (trailing space after inode 0) have an empty path", () => {
  const vmas = parseMaps(MAPS_TEXT, PAGE);
  const anonymous = vmas.filter((vma) => vma.path === "");
  assert.deepEqual(anonymous.map((vma) => vma.start), ["7fcca11dc000", "7fcca11ef000"]);
  assert.equal(anonymous[0].perms, "---p");
  for (const vma of anonymous) {
    assert.equal(vma.inode, 0);
    assert.equal(vma.deleted, false);
  }
});

Deno.test("parseMapsLine: an anonymous line whose trailing space was trimmed still parses", () => {
  const vma = parseMapsLine("7fcca11ef000-7fcca11f1000 rw-p 00000000 00:00 0", PAGE);
  assert.ok(vma);
  assert.equal(vma.path, "");
  assert.equal(vma.inode, 0);
  assert.equal(vma.endPage - vma.startPage, 2);
});

Deno.test("parseMapsLine: [vsyscall] above 2^53 gets exact page numbers", () => {
  const line =
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";
  const vma = parseMapsLine(line, PAGE);
  assert.ok(vma);
  assert.ok(BigInt("0xffffffffff600000") > 2n ** 53n);
  assert.equal(vma.startPage, exactPage("ffffffffff600000"));
  assert.equal(vma.startPage, 0xffffffffff600);
  assert.equal(vma.endPage, 0xffffffffff601);
  assert.equal(vma.endPage - vma.startPage, 1);
  assert.equal(vma.path, "[vsyscall]");
  assert.equal(vma.perms, "--xp");
});

Deno.test("parseMapsLine: page numbers stay exact for other page sizes", () => {
  const line = "ffffffffff600000-ffffffffff610000 --xp 00000000 00:00 0                  [x]";
  for (const pageSize of [4096, 16384, 65536]) {
    const vma = parseMapsLine(line, pageSize);
    assert.ok(vma);
    assert.equal(vma.startPage, exactPage("ffffffffff600000", pageSize));
    assert.equal(vma.endPage, exactPage("ffffffffff610000", pageSize));
    assert.equal(vma.endPage - vma.startPage, 0x10000 / pageSize);
  }
  const low = parseMapsLine("00400000-00452000 r-xp 00000000 08:02 1 /x", 16384);
  assert.equal(low?.startPage, 0x400000 / 16384);
});

Deno.test("parseMaps: a 57-bit (5-level paging) address has exact page numbers", () => {
  const vmas = parseMaps(MAPS_TEXT, PAGE);
  const top = vmaWithPath(vmas, "[anon:la57 top]");
  assert.equal(top.start, "fff3a61c2d4000");
  assert.ok(BigInt("0xfff3a61c2d4000") >= 2n ** 48n, "beyond 4-level paging");
  assert.equal(top.startPage, exactPage("fff3a61c2d4000"));
  assert.equal(top.endPage, exactPage("fff3a61c2f5000"));
  assert.equal(top.endPage - top.startPage, 0x21);
});

Deno.test("parseMaps: every VMA of the snapshot has start < end and follows its predecessor", () => {
  const vmas = parseMaps(MAPS_TEXT, PAGE);
  for (let i = 0; i < vmas.length; i++) {
    assert.ok(vmas[i].startPage < vmas[i].endPage, vmas[i].start);
    if (i > 0) assert.ok(vmas[i - 1].endPage <= vmas[i].startPage, vmas[i].start);
  }
});

Deno.test("parseMapsLine: malformed lines are rejected with null", () => {
  const malformed = [
    "",
    "garbage",
    "Size:                  8 kB",
    "VmFlags: rd wr mr mw me ac ",
    "00400000-00452000 r-xp 00000000 08:02",
    "00400000-00452000 r-xp 00000000",
    "00400000-00452000",
    "00400000 r-xp 00000000 08:02 0",
    "-00452000 r-xp 00000000 08:02 0",
    "0040000g-00452000 r-xp 00000000 08:02 0",
    "00400000-0045200z r-xp 00000000 08:02 0",
    "0x400000-0x452000 r-xp 00000000 08:02 0",
    "00400000-00452000 r-xp 00000000 08:02 12a  /usr/bin/x",
    "00400000-00452000 r-xp 00000000 08:02 -1 /usr/bin/x",
  ];
  for (const line of malformed) {
    assert.equal(parseMapsLine(line, PAGE), null, JSON.stringify(line));
  }
});

Deno.test("parseMaps: a malformed line anywhere throws a SyntaxError naming it", () => {
  const text = MAPS_TEXT.replace("[heap]\n", "[heap]\nnot a maps line\n");
  assert.throws(() => parseMaps(text, PAGE), (error: unknown) => {
    assert.ok(error instanceof SyntaxError);
    assert.match(error.message, /not a maps line/);
    return true;
  });
});

Deno.test("parseMaps: empty text and blank lines give no VMAs", () => {
  assert.deepEqual(parseMaps("", PAGE), []);
  assert.deepEqual(parseMaps("\n\n", PAGE), []);
  assert.equal(parseMaps(MAPS_TEXT.replaceAll("\n", "\n\n"), PAGE).length, 16);
});

Deno.test("parseMaps: the real /proc/self/maps agrees with an independent regex parse", () => {
  const text = Deno.readTextFileSync("/proc/self/maps");
  const pattern =
    /^([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][ps]) ([0-9a-f]+) ([0-9a-f]+:[0-9a-f]+) ([0-9]+) *(.*)$/;
  const lines = text.split("\n").filter((line) => line !== "");
  const vmas = parseMaps(text, PAGE);
  assert.equal(vmas.length, lines.length);
  for (let i = 0; i < lines.length; i++) {
    const match = pattern.exec(lines[i]);
    assert.ok(match, lines[i]);
    const [, start, end, perms, offset, device, inode, rawPath] = match;
    const deleted = rawPath.endsWith(" (deleted)");
    assert.deepEqual(vmas[i], {
      start,
      end,
      startPage: exactPage(start),
      endPage: exactPage(end),
      perms,
      offset,
      device,
      inode: Number(inode),
      path: deleted ? rawPath.slice(0, -" (deleted)".length) : rawPath,
      deleted,
    });
  }
  assert.ok(vmas.some((vma) => vma.path === "[stack]"));
});

Deno.test("vmaOf makes each VMA as parseMaps does: edge cases and this process", () => {
  const own = Deno.readTextFileSync("/proc/self/maps");
  // A device printed for a VMA without an inode is kept as printed too.
  const odd = "07f00000-07f01000 r--p 00000000 fe:00 0 \n";
  for (const text of [MAPS_TEXT, own, `${own}\n\n`, odd]) {
    const expected = parseMaps(text, PAGE);
    const ranges = parseMapRanges(new TextEncoder().encode(text), PAGE, true);
    assert.equal(ranges.count, expected.length);
    expected.forEach((vma, index) => assert.deepEqual(vmaOf(ranges, index), vma));
    assert.throws(() => vmaOf(ranges, expected.length), RangeError);
  }
  // Without labels, ranges make no VMA; each distinct path is kept once.
  const ranges = parseMapRanges(new TextEncoder().encode(MAPS_TEXT), PAGE);
  assert.throws(() => vmaOf(ranges, 0), RangeError);
  const labelled = parseMapRanges(new TextEncoder().encode(`${MAPS_TEXT}${MAPS_TEXT}`), PAGE, true);
  assert.equal(
    labelled.labels!.paths.length,
    new Set(parseMaps(MAPS_TEXT, PAGE).map((vma) => vma.path)).size,
  );
});

Deno.test("parseMapRanges: an inode followed by anything but spaces is not a maps line", () => {
  const line = "7f00-7f01 r--p 00000000 08:01 42x /lib/a.so\n";
  assert.equal(parseMapsLine(line.trim(), PAGE), null);
  assert.throws(() => parseMapRanges(new TextEncoder().encode(line), PAGE), SyntaxError);
});

Deno.test("parseMapRanges refuses permissions that are not [r-][w-][x-][sp]", () => {
  const line = "7f00-7f01 rwzp 00000000 00:00 0\n";
  assert.equal(parseMapsLine(line.trim(), PAGE), null);
  assert.throws(() => parseMapRanges(new TextEncoder().encode(line), PAGE), SyntaxError);
});

Deno.test("readMapPieces: the pieces of a long maps hold its VMAs in order, in tables given back and reused", () => {
  // A stand-in procfs: ROOT/1/maps of 6,000 lines (~300 KB, several 64 KiB pieces).
  const root = Deno.makeTempDirSync();
  try {
    const hex = (page: number) => (page * PAGE).toString(16);
    const text = Array.from({ length: 6000 }, (_, index) => {
      const first = 0x7f0000000 + 3 * index;
      const path = index % 3 === 0 ? "" : ` /lib/x${index % 100}.so`;
      return `${hex(first)}-${hex(first + 2)} rw-p ${hex(index)} fd:01 ${index}${path}\n`;
    }).join("");
    Deno.mkdirSync(`${root}/1`);
    Deno.writeTextFileSync(`${root}/1/maps`, text);
    const whole = parseMapRanges(new TextEncoder().encode(text), PAGE, true);
    for (const withLabels of [false, true]) {
      const spare: MapRanges[] = [];
      const tables = new Set<MapRanges>();
      const vmas: Vma[] = [];
      const rows: number[][] = [];
      for (const piece of readMapPieces(root, 1, PAGE, spare, withLabels)) {
        tables.add(piece);
        for (let index = 0; index < piece.count; index++) {
          rows.push([piece.startPage[index], piece.endPage[index], piece.inode[index]]);
          if (withLabels) vmas.push(vmaOf(piece, index));
        }
        assert.equal(piece.labels === null, !withLabels);
        spare.push(piece);
      }
      assert.deepEqual(
        rows,
        Array.from({ length: 6000 }, (_, index) => [
          whole.startPage[index],
          whole.endPage[index],
          whole.inode[index],
        ]),
      );
      if (withLabels) {
        assert.deepEqual(vmas, Array.from({ length: 6000 }, (_, index) => vmaOf(whole, index)));
      }
      assert.equal(tables.size, 1, "the table given back is reused");
    }
    // Pieces held at once each get a table of their own, sharing one list of paths.
    const held = [...readMapPieces(root, 1, PAGE, [], true)];
    assert.ok(held.length >= 4, `${held.length} pieces`);
    assert.equal(new Set(held).size, held.length);
    assert.equal(new Set(held.map((piece) => piece.labels!.paths)).size, 1);
    assert.deepEqual(held[0].labels!.paths, whole.labels!.paths, "each distinct path once");
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
