/**
 * End-to-end: processes with known memory layouts (tests/fixtures/layouts.c),
 * measured by the real CLI. Each region's row of `uss maps --json PID` is
 * asserted to the page, and the process totals of `uss --json PID` against the
 * kernel's smaps_rollup wherever the kernel's rule agrees with ours.
 *
 * Root-only tests say so in their names (the exact method, kpagecount reads in
 * the test itself, KSM and hugetlb settings).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  buildFixture,
  type Fixture,
  IS_ROOT,
  readRollup,
  readSetting,
  runUssJson,
  skipOrFail,
  startFixture,
  withSetting,
} from "../helpers.ts";
import {
  type MappingJson,
  type MapsJson,
  type ProcessJson,
  SIZE_KEYS,
  type Sizes,
} from "../json_schema.ts";

/** Every announcement carries the page size and the measured region. */
interface Announced {
  page: number;
  region: string;
  end: string;
  role?: string;
}

/**
 * Tries of rollup, uss, rollup before a PSS disagreement counts: other processes
 * starting or exiting (other test files spawn many) move the Pss of shared
 * libraries, and a quiet window of ~50 ms is needed.
 */
const ROLLUP_ATTEMPTS = 40;

function address(hex: string): number {
  return parseInt(hex, 16);
}

function zeroSizes(): Sizes {
  return {
    uss: 0,
    uss_anon: 0,
    uss_file: 0,
    pss: 0,
    rss: 0,
    ram: 0,
    swap: 0,
    swap_pss: 0,
    swap_uss: 0,
    hugetlb: 0,
    hugetlb_uss: 0,
  };
}

function sumRows(rows: Sizes[]): Sizes {
  const total = zeroSizes();
  for (const row of rows) for (const key of SIZE_KEYS) total[key] += row[key];
  return total;
}

function processSizes(report: ProcessJson): Sizes {
  const sizes = zeroSizes();
  for (const key of SIZE_KEYS) {
    const value = report[key];
    assert.ok(Number.isInteger(value), `${key} of ${report.pid} is an integer: ${value}`);
    sizes[key] = value as number;
  }
  return sizes;
}

/**
 * The expected figures of a set of rows: keys not given are 0, but RAM is RSS
 * unless given (they differ only where a process maps a frame more than once).
 */
function expectSizes(actual: Sizes, expected: Partial<Sizes>, what: string): void {
  const sizes = zeroSizes();
  for (const key of SIZE_KEYS) sizes[key] = actual[key];
  assert.deepEqual(sizes, { ...zeroSizes(), ram: expected.rss ?? 0, ...expected }, what);
}

/** Rows of `report` that lie inside [start, end). */
function rowsIn(report: MapsJson, start: string, end: string): MappingJson[] {
  const from = address(start);
  const to = address(end);
  return report.mappings
    .filter((row) => address(row.start) >= from && address(row.end) <= to)
    .sort((a, b) => address(a.start) - address(b.start));
}

/** The single row that is exactly [start, end). */
function rowOf(report: MapsJson, start: string, end: string): MappingJson {
  const rows = report.mappings.filter((row) => row.start === start);
  assert.equal(rows.length, 1, `one mapping starts at ${start} in ${report.pid}`);
  assert.equal(rows[0].end, end, `mapping ${start} ends at ${end}`);
  return rows[0];
}

/**
 * Runs `uss maps --json PID`; checks the method, integer sizes and that the rows
 * add up to the process exactly.
 */
async function measureMaps(pid: number): Promise<MapsJson> {
  const { code, json, stderr } = await runUssJson<MapsJson>(["maps", String(pid)]);
  assert.equal(code, 0, `uss maps ${pid} exits 0 (stderr: ${stderr})`);
  assert.equal(json.state, "ok");
  assert.equal(json.pid, pid);
  if (IS_ROOT) assert.equal(json.method, "kpagecount", "the exact method as root");
  const total = processSizes(json);
  for (const row of json.mappings) {
    for (const key of SIZE_KEYS) {
      assert.ok(Number.isInteger(row[key]), `${key} of mapping ${row.start} is an integer`);
    }
  }
  assert.deepEqual(sumRows(json.mappings), total, "mapping rows add up to the process");
  return json;
}

/** The smaps fields (bytes) of the VMA starting at `start`. */
async function readSmapsVma(pid: number, start: string): Promise<Record<string, number>> {
  const text = await Deno.readTextFile(`/proc/${pid}/smaps`);
  let inside = false;
  const fields: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (header) {
      if (inside) break;
      inside = header[1] === start;
      continue;
    }
    const field = /^(\w+):\s+(\d+) kB/.exec(line);
    if (inside && field) fields[field[1]] = Number(field[2]) * 1024;
  }
  assert.ok(inside, `smaps of ${pid} has a VMA at ${start}`);
  return fields;
}

const ROLLUP_KEYS = [
  "Rss",
  "Pss",
  "Private_Clean",
  "Private_Dirty",
  "Private_Hugetlb",
  "Shared_Hugetlb",
  "Swap",
];

/**
 * Runs `uss --json PID` between two reads of smaps_rollup (never while uss
 * runs: uss maps shared libraries too).
 *
 * The Pss of a process moves whenever any process maps or unmaps a shared
 * library it uses (measured here: the kernel's own Pss of a stopped fixture
 * wanders over ~25 KiB within seconds while other tests run). So the triple is
 * repeated until both reads match and PSS agrees within 1 KiB; a real
 * disagreement persists and is returned for the caller's assertion to report.
 * USS and RSS do not depend on other processes and are asserted exactly.
 */
async function measureWithRollup(
  pid: number,
): Promise<{ report: ProcessJson; sizes: Sizes; rollup: Record<string, number> }> {
  const tolerance = await pssTolerance(pid);
  let last: { report: ProcessJson; sizes: Sizes; rollup: Record<string, number> } | null = null;
  let changing = "";
  for (let attempt = 1; attempt <= ROLLUP_ATTEMPTS; attempt++) {
    const before = await readRollup(pid);
    const { code, json, stderr } = await runUssJson<ProcessJson[]>([String(pid)]);
    const after = await readRollup(pid);
    assert.equal(code, 0, `uss ${pid} exits 0 (stderr: ${stderr})`);
    assert.equal(json.length, 1);
    const [report] = json;
    assert.equal(report.state, "ok");
    if (IS_ROOT) assert.equal(report.method, "kpagecount", "the exact method as root");
    const sizes = processSizes(report);
    const pick = (rollup: Record<string, number>) => ROLLUP_KEYS.map((key) => rollup[key] ?? 0);
    if (JSON.stringify(pick(before)) === JSON.stringify(pick(after))) {
      last = { report, sizes, rollup: before };
      if (Math.abs(sizes.pss - before.Pss) < tolerance) return last;
    } else {
      changing = `before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`;
    }
    await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 30));
  }
  if (last) return last;
  throw new Error(`smaps_rollup of ${pid} kept changing around uss runs: ${changing}`);
}

/**
 * How far PSS may be from the rollup's Pss (bytes). The exact method: 1 KiB, as
 * the kernel truncates the rollup's sum to kB. The smaps method (without root)
 * can only add the per-VMA Pss lines, each truncated to kB: 1 KiB per VMA.
 */
async function pssTolerance(pid: number): Promise<number> {
  if (IS_ROOT) return 1024;
  const text = await Deno.readTextFile(`/proc/${pid}/maps`);
  return 1024 * text.trimEnd().split("\n").length;
}

/**
 * `uss --json PID` agrees with the kernel: USS = Private_Clean + Private_Dirty,
 * RSS = Rss exactly, PSS within 1 KiB of Pss (which the kernel truncates to kB).
 */
async function assertRollupAgrees(pid: number, maps: MapsJson): Promise<Sizes> {
  const { sizes, rollup } = await measureWithRollup(pid);
  const privateBytes = rollup.Private_Clean + rollup.Private_Dirty;
  assert.equal(sizes.uss, privateBytes, `USS of ${pid} = Private_Clean + Private_Dirty`);
  assert.equal(sizes.rss, rollup.Rss, `RSS of ${pid} = Rss`);
  const tolerance = await pssTolerance(pid);
  assert.ok(
    Math.abs(sizes.pss - rollup.Pss) < tolerance,
    `PSS of ${pid} ${sizes.pss} within ${tolerance} B of Pss ${rollup.Pss}`,
  );
  assert.equal(sizes.swap, rollup.Swap, `swap of ${pid}`);
  // Both views see the same stopped process. Its library pages can turn shared
  // or unique between two runs as other tests' processes come and go, so a
  // disagreement is measured again, side by side: a real one repeats.
  let agreement = { plain: sizes, maps };
  for (let attempt = 0; attempt < 10; attempt++) {
    const { plain, maps } = agreement;
    if (plain.uss === maps.uss && plain.rss === maps.rss) break;
    const [report] = (await runUssJson<ProcessJson[]>([String(pid)])).json;
    agreement = { plain: processSizes(report), maps: await measureMaps(pid) };
  }
  assert.equal(agreement.plain.uss, agreement.maps.uss, "uss and uss maps agree on USS");
  assert.equal(agreement.plain.rss, agreement.maps.rss, "uss and uss maps agree on RSS");
  return sizes;
}

function byRole<T extends Announced>(fixture: Fixture<T>, role: string): T & { pid: number } {
  const found = fixture.processes.find((process) => process.role === role);
  assert.ok(found, `fixture announced a ${role}`);
  return found;
}

// ---------------------------------------------------------------------------

Deno.test("private: every written anonymous page is unique, resident, wholly owned", async () => {
  const binary = await buildFixture("layouts");
  const pages = 256;
  await using fixture = await startFixture<Announced>(binary, ["private", String(pages)], 1);
  const [{ pid, page, region, end }] = fixture.processes;
  const maps = await measureMaps(pid);
  const row = rowOf(maps, region, end);
  assert.equal(row.path, "");
  assert.equal(row.perms, "rw-p");
  expectSizes(row, {
    uss: pages * page,
    uss_anon: pages * page,
    pss: pages * page,
    rss: pages * page,
  }, "private region");
  await assertRollupAgrees(pid, maps);
});

Deno.test("zero: anonymous pages only read map the zero page: not resident", async () => {
  const binary = await buildFixture("layouts");
  await using fixture = await startFixture<Announced>(binary, ["zero", "256"], 1);
  const [{ pid, region, end }] = fixture.processes;
  const maps = await measureMaps(pid);
  expectSizes(rowOf(maps, region, end), {}, "read-only anonymous region");
  const smaps = await readSmapsVma(pid, region);
  assert.equal(smaps.Rss, 0, "the kernel agrees: no Rss");
  await assertRollupAgrees(pid, maps);
});

Deno.test("uffdwp: userfaultfd write-protect markers on pages never written are not swap", async () => {
  const binary = await buildFixture("layouts");
  const pages = 256;
  await using fixture = await startFixture<Announced & { uffd: string; last_entry: string }>(
    binary,
    ["uffdwp", String(pages)],
    1,
  );
  const [{ pid, page, region, end, uffd, last_entry }] = fixture.processes;
  if (uffd !== "ok") return skipOrFail(`userfaultfd write-protect unavailable: ${uffd}`);
  // Bit 62 on a page never populated: the kernel placed a marker (it needs
  // CONFIG_PTE_MARKER_UFFD_WP); without one this test would prove nothing.
  if ((BigInt(`0x${last_entry}`) & (1n << 62n)) === 0n) {
    return skipOrFail(`no uffd-wp marker in pagemap (entry ${last_entry})`);
  }
  const maps = await measureMaps(pid);
  const half = (pages / 2) * page;
  expectSizes(
    rowOf(maps, region, end),
    { uss: half, uss_anon: half, pss: half, rss: half },
    "region",
  );
  const smaps = await readSmapsVma(pid, region);
  assert.equal(smaps.Swap, 0, "the kernel agrees: no swap");
  await assertRollupAgrees(pid, maps);
});

/** A cow region of `pages` pages, the child rewrote half: each side owns half, shares half. */
async function assertCow(pages: number): Promise<void> {
  const binary = await buildFixture("layouts");
  await using fixture = await startFixture<Announced>(binary, ["cow", String(pages)], 2);
  for (const role of ["parent", "child"]) {
    const { pid, page, region, end } = byRole(fixture, role);
    const maps = await measureMaps(pid);
    const half = pages / 2;
    expectSizes(rowOf(maps, region, end), {
      uss: half * page,
      uss_anon: half * page,
      rss: pages * page,
      pss: half * page + (half * page) / 2,
    }, `${role} region`);
    await assertRollupAgrees(pid, maps);
  }
}

Deno.test("cow: after fork, pages the child rewrote are unique on both sides", async () => {
  await assertCow(256);
});

Deno.test("cow, large: a region read in several chunks, two reads in flight, is exact", async () => {
  // 90,000 pages: whatever its alignment, at least two reads of 8,192 pages or
  // more (chunks end at multiples of 65,536 pages), so the walk reads ahead on
  // a second pagemap descriptor into a third buffer.
  await assertCow(90_000);
});

// A large reservation beside few mappings is read through smaps first (only
// what is resident is walked), beside tens of thousands through pagemap (smaps
// would cost more per mapping than pagemap costs for the whole reservation).
for (const vmas of [1000, 12_000]) {
  Deno.test(`reserved: ${vmas} small mappings beside 16 GiB reserved (a JVM's shape) are exact`, async () => {
    const binary = await buildFixture("layouts");
    await using fixture = await startFixture<Announced & { hidden: string; hidden_end: string }>(
      binary,
      ["reserved", String(vmas), "16"],
      1,
    );
    const [{ pid, page, region, end, hidden, hidden_end }] = fixture.processes;
    const maps = await measureMaps(pid);
    const small = rowsIn(maps, region, end);
    assert.equal(small.length, vmas, "one row per small mapping");
    const one = { uss: page, uss_anon: page, pss: page, rss: page };
    for (const row of small) expectSizes(row, one, `mapping ${row.start}`);
    // The guard pages around the PROT_NONE block may be merged with it or with
    // their other neighbours: every row that overlaps the block counts.
    const overlapping = maps.mappings.filter((row) =>
      address(row.end) > address(hidden) && address(row.start) < address(hidden_end)
    );
    const sixteen = 16 * page;
    expectSizes(sumRows(overlapping), {
      uss: sixteen,
      uss_anon: sixteen,
      pss: sixteen,
      rss: sixteen,
    }, "written, then PROT_NONE");
    await assertRollupAgrees(pid, maps);
  });
}

Deno.test("shared: shmem mapped by parent and child is nobody's USS, half each of PSS", async () => {
  const binary = await buildFixture("layouts");
  const pages = 256;
  const solo = 64;
  await using fixture = await startFixture<Announced & { solo: string | null; solo_end: string }>(
    binary,
    ["shared", String(pages), String(solo)],
    2,
  );
  for (const role of ["parent", "child"]) {
    const announced = byRole(fixture, role);
    const { pid, page, region, end } = announced;
    const maps = await measureMaps(pid);
    const row = rowOf(maps, region, end);
    assert.match(row.path, /^\/dev\/zero/, "shared anonymous memory is shmem");
    assert.equal(row.perms, "rw-s");
    expectSizes(row, { rss: pages * page, pss: (pages * page) / 2 }, `${role} shared region`);
    if (role === "parent") {
      assert.ok(announced.solo);
      expectSizes(rowOf(maps, announced.solo, announced.solo_end), {
        uss: solo * page,
        uss_file: solo * page,
        rss: solo * page,
        pss: solo * page,
      }, "shmem mapped by the parent alone: file side (bit 61)");
    } else {
      assert.equal(announced.solo, null);
    }
    await assertRollupAgrees(pid, maps);
  }
});

Deno.test({
  name: "double (root): a file mapped twice by one process is its own, counted once",
  ignore: !IS_ROOT,
  async fn() {
    const binary = await buildFixture("layouts");
    const pages = 64;
    await using fixture = await startFixture<
      Announced & { second: string; second_end: string; path: string }
    >(binary, ["double", String(pages)], 1);
    const [{ pid, page, region, end, second, second_end, path }] = fixture.processes;
    const maps = await measureMaps(pid);
    const first = rowOf(maps, region, end);
    const other = rowOf(maps, second, second_end);
    for (const row of [first, other]) {
      assert.equal(row.path, path);
      assert.equal(row.deleted, true, "the file was unlinked");
      assert.equal(row.perms, "r--s");
      assert.equal(row.pss, (pages * page) / 2, "PAGE/2 per entry");
    }
    const bytes = pages * page;
    expectSizes(sumRows([first, other]), {
      uss: bytes,
      uss_file: bytes,
      rss: 2 * bytes,
      ram: bytes,
      pss: bytes,
    }, "both mappings together: RSS per entry as the kernel counts, each frame once in RAM");
    // Each frame is unique once and in RAM once, in one of the two rows.
    assert.equal(first.ram + other.ram, bytes);
    assert.equal(first.uss + other.uss, bytes);

    // The kernel calls the frames shared (mapcount 2), with Rss per mapping...
    const kernel = [await readSmapsVma(pid, region), await readSmapsVma(pid, second)];
    for (const [index, fields] of kernel.entries()) {
      assert.equal(fields.Private_Clean + fields.Private_Dirty, 0, "smaps: Private 0");
      assert.equal(fields.Rss, bytes, "smaps: Rss per mapping");
      assert.equal([first, other][index].rss, fields.Rss, "uss maps: the kernel's Rss");
    }
    // ...and agrees everywhere else in the process.
    const { sizes, rollup } = await measureWithRollup(pid);
    assert.equal(sizes.uss - bytes, rollup.Private_Clean + rollup.Private_Dirty);
    assert.equal(sizes.rss, rollup.Rss, "RSS is the kernel's Rss");
    assert.equal(sizes.ram + bytes, rollup.Rss, "RAM counts the doubly mapped frames once");
    assert.ok(Math.abs(sizes.pss - rollup.Pss) < 1024, `PSS ${sizes.pss} vs Pss ${rollup.Pss}`);
  },
});

/** Raw pagemap entries of `count` pages from virtual page `firstPage` of `pid`. */
function readPagemap(pid: number, firstPage: number, count: number): BigUint64Array {
  using file = Deno.openSync(`/proc/${pid}/pagemap`);
  file.seekSync(firstPage * 8, Deno.SeekMode.Start);
  const buffer = new Uint8Array(count * 8);
  for (let done = 0; done < buffer.length;) {
    const got = file.readSync(buffer.subarray(done));
    assert.ok(got && got > 0, "pagemap read");
    done += got;
  }
  return new BigUint64Array(buffer.buffer);
}

/** The 64-bit word of each frame in /proc/kpagecount or /proc/kpageflags. */
function readFrameWords(path: string, pfns: bigint[]): bigint[] {
  using file = Deno.openSync(path);
  const buffer = new Uint8Array(8);
  return pfns.map((pfn) => {
    file.seekSync(pfn * 8n, Deno.SeekMode.Start);
    assert.equal(file.readSync(buffer), 8);
    return new BigUint64Array(buffer.buffer)[0];
  });
}

function readKpagecounts(pfns: bigint[]): number[] {
  return readFrameWords("/proc/kpagecount", pfns).map(Number);
}

const PRESENT = 1n << 63n;
const EXCLUSIVE = 1n << 56n;
const PFN_MASK = (1n << 55n) - 1n;

Deno.test({
  name: "thp (root): partially unmapped huge pages after fork are exact per subpage",
  ignore: !IS_ROOT,
  async fn() {
    const binary = await buildFixture("layouts");
    await using fixture = await startFixture<
      Announced & { pages: number; huge_pages: number; subpages: number; anon_huge_kb: number }
    >(binary, ["thp", "3"], 2);
    const parent = byRole(fixture, "parent");
    const child = byRole(fixture, "child");
    const { page, region, end, pages, huge_pages, subpages } = parent;
    if (parent.anon_huge_kb < (huge_pages * subpages * page) / 1024) {
      return skipOrFail(
        `the kernel gave ${parent.anon_huge_kb} kB of AnonHugePages, ` +
          `not ${(huge_pages * subpages * page) / 1024} kB (THP unavailable or fragmented)`,
      );
    }

    // The layout, per subpage, from the kernel itself.
    const half = subpages / 2;
    const expectedCount = (index: number): number => {
      const huge = Math.floor(index / subpages);
      const sub = index % subpages;
      if (huge === 1) return sub < half ? 1 : 2;
      if (huge === 2) return sub < half ? 2 : 1;
      return 2;
    };
    const entries = readPagemap(parent.pid, address(region) / page, pages);
    const pfns = [...entries].map((entry) => {
      assert.ok((entry & PRESENT) !== 0n, "every subpage present in the parent");
      return entry & PFN_MASK;
    });
    const counts = readKpagecounts(pfns);
    const wrong = counts.flatMap((count, index) =>
      count === expectedCount(index) ? [] : [`${index}: ${count}`]
    );
    assert.deepEqual(wrong, [], "kpagecount per subpage as laid out");
    const bit56 = (index: number) => (entries[index] & EXCLUSIVE) !== 0n;
    const quirk = bit56(subpages + half) && !bit56(2 * subpages + half);
    console.log(
      `bit 56 of PMD-mapped subpages ${
        quirk ? "is wrong both ways (the quirk is exercised)" : "is not copied here"
      }`,
    );

    const unique = subpages; // two half huge pages
    const sharedPages = pages - unique;
    const parentMaps = await measureMaps(parent.pid);
    expectSizes(rowOf(parentMaps, region, end), {
      uss: unique * page,
      uss_anon: unique * page,
      rss: pages * page,
      pss: unique * page + (sharedPages * page) / 2,
    }, "parent region");
    await assertRollupAgrees(parent.pid, parentMaps);

    const childMaps = await measureMaps(child.pid);
    const childRows = rowsIn(childMaps, region, end);
    assert.ok(childRows.length >= 2, "the child's region was split by the munmaps");
    expectSizes(sumRows(childRows), {
      rss: sharedPages * page,
      pss: (sharedPages * page) / 2,
    }, "child region");
    await assertRollupAgrees(child.pid, childMaps);
  },
});

const MTHP_64K = "/sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled";
/** kpageflags bit 22: the frame belongs to a transparent huge page (any large anonymous folio). */
const KPF_THP = 1n << 22n;

Deno.test({
  name: "mthp (root): 64 KiB folios left half shared by copy-on-write are exact per page",
  ignore: !IS_ROOT,
  async fn() {
    try {
      Deno.statSync(MTHP_64K);
    } catch {
      return skipOrFail("this kernel has no 64 KiB mTHP setting");
    }
    const binary = await buildFixture("layouts");
    await withSetting(MTHP_64K, "madvise", async () => {
      await using fixture = await startFixture<Announced & { pages: number }>(
        binary,
        ["mthp", "16"],
        2,
      );
      const parent = byRole(fixture, "parent");
      const { page, region, end, pages } = parent;
      // The layout, per page, from the kernel itself: the parent's pages stay in
      // their 64 KiB folios; the even ones are its own (the child copied them).
      const entries = readPagemap(parent.pid, address(region) / page, pages);
      const pfns = [...entries].map((entry) => {
        assert.ok((entry & PRESENT) !== 0n, "every page present in the parent");
        return entry & PFN_MASK;
      });
      const inFolios = readFrameWords("/proc/kpageflags", pfns)
        .filter((flags) => (flags & KPF_THP) !== 0n).length;
      if (inFolios < pages) {
        return skipOrFail(`${inFolios} of ${pages} pages in large folios (mTHP unavailable)`);
      }
      const wrong = readKpagecounts(pfns).flatMap((count, index) =>
        count === (index % 2 === 0 ? 1 : 2) ? [] : [`${index}: ${count}`]
      );
      assert.deepEqual(wrong, [], "kpagecount per page as laid out");

      const half = (pages / 2) * page;
      for (const role of ["parent", "child"]) {
        const { pid } = byRole(fixture, role);
        const maps = await measureMaps(pid);
        expectSizes(rowOf(maps, region, end), {
          uss: half,
          uss_anon: half,
          rss: pages * page,
          pss: half + half / 2,
        }, `${role} region`);
        await assertRollupAgrees(pid, maps);
      }
    });
  },
});

const KSM = "/sys/kernel/mm/ksm";

async function waitFor(
  what: string,
  condition: () => boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test({
  name: "ksm (root): identical pages merged inside one process are its own memory",
  ignore: !IS_ROOT,
  async fn() {
    const binary = await buildFixture("layouts");
    const pages = 256;
    const patterns = 4;
    const saved = {
      run: readSetting(`${KSM}/run`),
      pages_to_scan: readSetting(`${KSM}/pages_to_scan`),
      sleep_millisecs: readSetting(`${KSM}/sleep_millisecs`),
    };
    try {
      await using fixture = await startFixture<Announced>(
        binary,
        ["ksm", String(pages), String(patterns)],
        1,
      );
      const [{ pid, page, region, end }] = fixture.processes;
      Deno.writeTextFileSync(`${KSM}/pages_to_scan`, "10000");
      Deno.writeTextFileSync(`${KSM}/sleep_millisecs`, "10");
      Deno.writeTextFileSync(`${KSM}/run`, "1");
      const merging = () => Number(readSetting(`/proc/${pid}/ksm_merging_pages`));
      await waitFor(`KSM to merge ${pages} pages of ${pid}`, () => merging() === pages);

      const maps = await measureMaps(pid);
      const row = rowOf(maps, region, end);
      expectSizes(row, {
        uss: patterns * page,
        uss_anon: patterns * page,
        rss: pages * page,
        ram: patterns * page,
        pss: patterns * page,
      }, "merged region: one frame per pattern, all mapped by this process only");

      // The kernel sees mapcount pages/patterns: shared, and Rss per entry...
      const smaps = await readSmapsVma(pid, region);
      assert.equal(smaps.Private_Clean + smaps.Private_Dirty, 0, "smaps: Private 0");
      assert.equal(smaps.Rss, pages * page, "smaps: Rss per entry");
      // ...and agrees with uss everywhere else in the process.
      const { sizes, rollup } = await measureWithRollup(pid);
      assert.equal(sizes.uss - row.uss, rollup.Private_Clean + rollup.Private_Dirty);
      assert.equal(sizes.rss - row.rss, rollup.Rss - smaps.Rss);
      assert.equal(sizes.rss, rollup.Rss, "RSS is the kernel's Rss");
      assert.ok(Math.abs(sizes.pss - rollup.Pss) < 1024, `PSS ${sizes.pss} vs ${rollup.Pss}`);
    } finally {
      // The fixture is gone (disposed at the end of the try block); unmerge what
      // KSM merged while we had it on, then restore.
      if (saved.run !== "1") Deno.writeTextFileSync(`${KSM}/run`, "2");
      Deno.writeTextFileSync(`${KSM}/run`, saved.run);
      Deno.writeTextFileSync(`${KSM}/pages_to_scan`, saved.pages_to_scan);
      Deno.writeTextFileSync(`${KSM}/sleep_millisecs`, saved.sleep_millisecs);
    }
  },
});

const NR_HUGEPAGES = "/proc/sys/vm/nr_hugepages";

function freeHugePages(): number {
  const match = /^HugePages_Free:\s+(\d+)/m.exec(Deno.readTextFileSync("/proc/meminfo"));
  return match ? Number(match[1]) : 0;
}

async function withHugePages(count: number, body: () => Promise<void>): Promise<void> {
  const current = Number(readSetting(NR_HUGEPAGES));
  await withSetting(NR_HUGEPAGES, String(current + count), async () => {
    if (freeHugePages() < count) {
      return skipOrFail(`the kernel could not reserve ${count} huge pages`);
    }
    await body();
  });
}

Deno.test({
  name: "hugetlb (root): reported apart, unique to one process, shared after fork",
  ignore: !IS_ROOT,
  async fn() {
    const binary = await buildFixture("layouts");
    const huge = 2;
    await withHugePages(huge, async () => {
      await using single = await startFixture<Announced & { bytes: number }>(
        binary,
        ["hugetlb", String(huge)],
        1,
      );
      const [{ pid, region, end, bytes }] = single.processes;
      const maps = await measureMaps(pid);
      expectSizes(rowOf(maps, region, end), { hugetlb: bytes, hugetlb_uss: bytes }, "hugetlb");
      assert.equal(maps.hugetlb, bytes);
      assert.equal(maps.hugetlb_uss, bytes);
      const sizes = await assertRollupAgrees(pid, maps);
      const { rollup } = await measureWithRollup(pid);
      assert.equal(sizes.hugetlb_uss, rollup.Private_Hugetlb, "hugetlb_uss = Private_Hugetlb");
      assert.equal(rollup.Shared_Hugetlb, 0);
    });
    await withHugePages(huge, async () => {
      await using forked = await startFixture<Announced & { bytes: number }>(
        binary,
        ["hugetlb", String(huge), "fork"],
        2,
      );
      for (const role of ["parent", "child"]) {
        const { pid, region, end, bytes } = byRole(forked, role);
        const maps = await measureMaps(pid);
        expectSizes(rowOf(maps, region, end), { hugetlb: bytes }, `${role}: shared hugetlb`);
        assert.equal(maps.hugetlb_uss, 0);
        await assertRollupAgrees(pid, maps);
        const { rollup } = await measureWithRollup(pid);
        assert.equal(rollup.Shared_Hugetlb, bytes, "the kernel: Shared_Hugetlb");
      }
    });
  },
});
