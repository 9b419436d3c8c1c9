/**
 * End-to-end: the views and selectors of `uss` on real processes — `maps`
 * (per mapping, `--by file`), the every-process listing, `--sort`, `--reverse`,
 * `--limit`, `--pid`, `--name`, `--user`, `--by file` — and the usage errors of
 * bad values and conflicting views. Fixtures: tests/fixtures/workers.c (whose
 * processes share no frame outside their regions).
 *
 * Exact figures need root (the kpagecount method); without it the structure,
 * the order and the sums are still checked.
 *
 * @module
 */

import assert from "node:assert/strict";
import { IS_ROOT, PAGE_SIZE, REPO_ROOT, runUss, runUssJson } from "../helpers.ts";
import { assertOneLine, literal } from "../env/env_support.ts";
import {
  assertSizes,
  type FileJson,
  type ListingJson,
  type MapsJson,
  type MergedJson,
  type ProcessJson,
  rowAt,
  SIZE_KEYS,
  type SizeKey,
  startWorkers,
  statOf,
  uniqueName,
  userOfUid,
  type Workers,
  workersBinary,
} from "./workers_support.ts";
import { LISTING_KEYS, MAPPING_KEYS, PROCESS_KEYS } from "../json_schema.ts";

const PAGE = PAGE_SIZE;
const METHOD = IS_ROOT ? "kpagecount" : "smaps";

/** Runs a listing view (`uss --json` without PIDs) and checks its shape. */
async function listing(args: string[]): Promise<ListingJson> {
  const { code, json, stderr } = await runUssJson<ListingJson>(args);
  assert.equal(code, 0, `uss --json ${args.join(" ")}: ${stderr}`);
  assert.deepEqual(Object.keys(json), LISTING_KEYS);
  for (const process of json.processes) {
    assert.equal(process.state, "ok", JSON.stringify(process));
    assertSizes(process as unknown as Record<string, unknown>, `process ${process.pid}`);
  }
  return json;
}

const pidsOf = (processes: readonly { pid: number }[]) => processes.map((p) => p.pid);

/** How a row compares under a sort key: sizes largest first, pid and name ascending. */
function compareBy(key: string) {
  return (a: ProcessJson, b: ProcessJson): number => {
    if (key === "pid") return a.pid - b.pid;
    if (key === "name") return a.name!.localeCompare(b.name!) || a.pid - b.pid;
    return (b[key as SizeKey] as number) - (a[key as SizeKey] as number) || a.pid - b.pid;
  };
}

/** Asserts `rows` are in the order of `key` (ties by PID), reversed if asked. */
function assertOrdered(rows: readonly ProcessJson[], key: string, reverse = false): void {
  const compare = compareBy(key);
  for (let i = 1; i < rows.length; i++) {
    const [a, b] = reverse ? [rows[i], rows[i - 1]] : [rows[i - 1], rows[i]];
    assert.ok(
      compare(a, b) <= 0,
      `rows ${i - 1} and ${i} out of --sort ${key}${reverse ? " --reverse" : ""} order: ` +
        `${JSON.stringify(rows[i - 1])} then ${JSON.stringify(rows[i])}`,
    );
  }
}

/**
 * Four solo processes with 16, 64, 32 and 48 region pages, named so that name
 * order differs from size order. Their other memory is alike (same binary,
 * same code path), so size order is region order.
 */
async function startSolos(): Promise<
  { solos: Workers[]; tag: string; [Symbol.asyncDispose](): Promise<void> }
> {
  const tag = uniqueName("vs");
  const plan: [number, string][] = [[16, "d"], [64, "a"], [32, "c"], [48, "b"]];
  const solos: Workers[] = [];
  const dispose = async () => {
    for (const solo of solos) await solo.kill();
  };
  try {
    for (const [pages, suffix] of plan) {
      solos.push(await startWorkers(["solo", String(pages)], 1, { name: `${tag}${suffix}` }));
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  return { solos, tag, [Symbol.asyncDispose]: dispose };
}

/** The solos' PIDs ordered by region size, largest first. */
function bySize(solos: readonly Workers[]): number[] {
  return [...solos].sort((a, b) => b.parent.pages - a.parent.pages).map((s) => s.parent.pid);
}

/** A file of `pages` pages in a fresh temporary directory; removed on dispose. */
async function tempFile(pages: number) {
  const dir = await Deno.makeTempDir({ prefix: "uss-views-" });
  await Deno.chmod(dir, 0o755);
  const path = `${dir}/mapped.dat`;
  const data = new Uint8Array(pages * PAGE);
  for (let i = 0; i < data.length; i++) data[i] = (i >> 12) + 1;
  await Deno.writeFile(path, data, { mode: 0o644 });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

/** Asserts rows add up to the process's figures: exact integers, PSS ±1 byte per row. */
function assertRowsAddUp(maps: MapsJson<Record<SizeKey, number>>, what: string): void {
  for (const key of SIZE_KEYS) {
    const sum = maps.mappings.reduce((total, row) => total + row[key], 0);
    if (key === "pss") {
      assert.ok(
        Math.abs(sum - maps.pss!) <= maps.mappings.length,
        `${what}: PSS rows ${sum} vs process ${maps.pss} (±${maps.mappings.length})`,
      );
    } else assert.equal(sum, maps[key], `${what}: ${key} rows add up`);
  }
}

Deno.test("maps --json PID: one row per mapping, rows add up to the process", async () => {
  const PAGES = 64;
  await using solo = await startWorkers(["solo", String(PAGES)], 1);
  const { pid, region, end } = solo.parent;
  const { code, json, stderr } = await runUssJson<MapsJson>(["maps", String(pid)]);
  assert.equal(code, 0, stderr);
  for (const key of PROCESS_KEYS) assert.ok(key in json, `process key ${key}`);
  assert.equal(json.pid, pid);
  assert.equal(json.state, "ok");
  assert.equal(json.method, METHOD);
  for (const row of json.mappings) {
    assert.deepEqual(Object.keys(row), MAPPING_KEYS);
    assertSizes(row as unknown as Record<string, unknown>, `row ${row.start}`);
  }
  // Same number of rows as /proc/PID/maps has lines ([vsyscall] included or not).
  const lines = Deno.readTextFileSync(`/proc/${pid}/maps`).trimEnd().split("\n");
  const vsyscall = lines.filter((line) => line.endsWith("[vsyscall]")).length;
  assert.ok(
    json.mappings.length === lines.length || json.mappings.length === lines.length - vsyscall,
    `${json.mappings.length} rows for ${lines.length} maps lines`,
  );
  assertRowsAddUp(json, `maps ${pid}`);
  // Rows come largest USS first.
  for (let i = 1; i < json.mappings.length; i++) {
    assert.ok(json.mappings[i - 1].uss >= json.mappings[i].uss, "rows by USS descending");
  }

  const row = rowAt(json, region);
  assert.equal(row.end, end);
  assert.equal(row.perms, "rw-p");
  assert.equal(row.path, "");
  for (const key of ["uss", "uss_anon", "rss", "pss"] as const) {
    assert.equal(row[key], PAGES * PAGE, `region ${key}`);
  }
  assert.equal(row.uss_file, 0);
  // The fixture shares no frame with anyone: every figure is the same.
  assert.equal(json.uss, json.rss, `USS = RSS for an isolated process: ${JSON.stringify(json)}`);
  if (IS_ROOT) assert.equal(json.pss, json.uss, "PSS = USS for an isolated process");

  // And the process figures equal those of `uss --json PID`.
  const plain = await runUssJson<ProcessJson[]>([String(pid)]);
  assert.equal(plain.code, 0);
  // (`user` is optional: the listing views name the owner, maps does not.)
  const { mappings: _, user: _u, ...figures } = json;
  const { user: _v, ...plainFigures } = plain.json[0];
  assert.deepEqual(plainFigures, figures);
  console.log(
    `maps ${pid}: ${json.mappings.length} rows, uss ${json.uss} rss ${json.rss} pss ${json.pss}`,
  );
});

Deno.test("maps --by file --json PID: the two mappings of one file merge into one row", async () => {
  const PAGES = 32;
  await using file = await tempFile(PAGES);
  await using fixture = await startWorkers(["files", file.path, String(PAGES), "0"], 1);
  const { pid, region, second } = fixture.parent;

  const merged = await runUssJson<MapsJson<MergedJson>>(["maps", "--by", "file", String(pid)]);
  assert.equal(merged.code, 0, merged.stderr);
  const plain = await runUssJson<MapsJson>(["maps", String(pid)]);
  assert.equal(plain.code, 0, plain.stderr);
  const rows = merged.json.mappings;
  for (const row of rows) {
    assert.deepEqual(Object.keys(row), ["file", "mappings", ...SIZE_KEYS]);
    assertSizes(row as unknown as Record<string, unknown>, `file ${row.file}`);
  }
  const files = rows.map((row) => row.file);
  assert.equal(new Set(files).size, files.length, "one row per file");
  assert.equal(
    rows.reduce((total, row) => total + row.mappings, 0),
    plain.json.mappings.length,
    "every mapping merged into exactly one row",
  );
  assertRowsAddUp(merged.json, `maps --by file ${pid}`);
  for (const key of SIZE_KEYS) {
    if (key !== "pss") assert.equal(merged.json[key], plain.json[key], `same process ${key}`);
  }

  const row = rows.find((candidate) => candidate.file === file.path);
  assert.ok(row, `a row for ${file.path} in ${files.join(", ")}`);
  assert.equal(row.mappings, 2, "both mappings of the file");
  const first = rowAt(plain.json, region), other = rowAt(plain.json, second!);
  assert.equal(first.path, file.path);
  assert.equal(other.path, file.path);
  for (const key of SIZE_KEYS) {
    const sum = first[key] + other[key];
    if (key === "pss") assert.ok(Math.abs(row.pss - sum) <= 2, `pss ${row.pss} vs ${sum}`);
    else assert.equal(row[key], sum, `merged ${key} = sum of the two rows`);
  }
  if (IS_ROOT) {
    // Each frame is mapped twice, both times by this process: unique, once in
    // RAM, twice in RSS (per entry, as the kernel counts).
    assert.equal(row.uss, PAGES * PAGE, `USS ${JSON.stringify(row)}`);
    assert.equal(row.uss_file, PAGES * PAGE);
    assert.equal(row.uss_anon, 0);
    assert.equal(row.ram, PAGES * PAGE);
    assert.equal(row.rss, 2 * PAGES * PAGE);
    assert.ok(Math.abs(row.pss - PAGES * PAGE) <= 1, `pss ${row.pss}`);
  }
  console.log(`maps --by file ${pid}: ${rows.length} files; ${JSON.stringify(row)}`);
});

Deno.test("listing: keys, totals, no kernel thread, not itself, largest USS first", async () => {
  await using solo = await startWorkers(["solo", "16"], 1);
  const kernelBefore = new Set(
    (await Array.fromAsync(Deno.readDir("/proc")))
      .filter((entry) => /^\d+$/.test(entry.name) && statOf(Number(entry.name))?.kernelThread)
      .map((entry) => Number(entry.name)),
  );
  assert.ok(kernelBefore.size > 0, "this machine has kernel threads");
  // Spawned by hand (not runUss) to know the tool's own PID.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", `${REPO_ROOT}/main.ts`, "--json"],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const output = await child.output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  const json: ListingJson = JSON.parse(new TextDecoder().decode(output.stdout));

  assert.deepEqual(Object.keys(json), LISTING_KEYS);
  assert.equal(json.method, METHOD);
  assert.deepEqual(Object.keys(json.total), ["processes", ...SIZE_KEYS, "used_memory"]);
  assert.equal(json.total.processes, json.processes.length);
  const counts = ["unreadable", "exited", "zombies", "kernel_threads", "failed"] as const;
  for (const key of counts) {
    assert.ok(Number.isInteger(json[key]) && json[key] >= 0, `${key} ${json[key]}`);
  }
  assert.equal(
    json.processes.length + counts.reduce((sum, key) => sum + json[key], 0),
    json.scanned,
  );
  for (const process of json.processes) {
    assert.deepEqual(Object.keys(process), [
      ...PROCESS_KEYS.slice(0, 3),
      "user",
      ...PROCESS_KEYS.slice(3),
    ]);
    assert.equal(process.state, "ok");
    assert.equal(process.error, null);
    assert.equal(process.method, METHOD);
  }
  const pids = pidsOf(json.processes);
  assert.equal(new Set(pids).size, pids.length, "each PID once");
  for (const key of SIZE_KEYS) {
    const sum = json.processes.reduce((total, process) => total + (process[key] as number), 0);
    if (key === "pss") {
      assert.ok(Math.abs(sum - json.total.pss) <= pids.length, `total pss ${json.total.pss}`);
    } else assert.equal(json.total[key], sum, `total ${key}`);
  }
  assert.ok(json.total.used_memory === null || json.total.used_memory > 0);

  assert.ok(pids.includes(solo.parent.pid), "the fixture is listed");
  assert.ok(!pids.includes(child.pid), `the tool itself (${child.pid}) is left out`);
  for (const pid of pids) {
    assert.ok(!kernelBefore.has(pid), `kernel thread ${pid} is left out`);
    const stat = statOf(pid);
    assert.ok(!stat?.kernelThread, `kernel thread ${pid} is left out`);
  }
  assertOrdered(json.processes, "uss");
  console.log(
    `listing: ${pids.length} processes, ${kernelBefore.size} kernel threads left out, ` +
      `unreadable ${json.unreadable}, exited ${json.exited}, failed ${json.failed}`,
  );
});

Deno.test("--sort KEY: sizes largest first, pid and name ascending, ties by PID", async (t) => {
  await using set = await startSolos();
  const { solos } = set;
  const pidList = solos.map((solo) => solo.parent.pid).join(",");
  const ascendingPids = solos.map((solo) => solo.parent.pid).sort((a, b) => a - b);
  const expected: Record<string, number[]> = {
    uss: bySize(solos),
    pss: bySize(solos),
    rss: bySize(solos),
    swap: ascendingPids, // all 0: ties broken by PID
    pid: ascendingPids,
    name: [...solos].sort((a, b) => a.parent.name.localeCompare(b.parent.name))
      .map((solo) => solo.parent.pid),
  };
  for (const key of ["uss", "pss", "rss", "swap", "pid", "name"]) {
    await t.step(`--sort ${key}`, async () => {
      const fixed = await listing(["--sort", key, "--pid", pidList]);
      assert.deepEqual(pidsOf(fixed.processes), expected[key], `--sort ${key} of the fixtures`);
      const all = await listing(["--sort", key]);
      assert.ok(all.processes.length > 4);
      assertOrdered(all.processes, key);
    });
  }
});

Deno.test("--reverse: the order of the sort key, reversed", async () => {
  await using set = await startSolos();
  const { solos } = set;
  const pidList = solos.map((solo) => solo.parent.pid).join(",");
  const fixed = await listing(["--reverse", "--pid", pidList]);
  assert.deepEqual(pidsOf(fixed.processes), bySize(solos).reverse(), "smallest USS first");
  const byName = await listing(["--sort", "name", "--reverse", "--pid", pidList]);
  assert.deepEqual(
    byName.processes.map((process) => process.name),
    solos.map((solo) => solo.parent.name).sort().reverse(),
  );
  const all = await listing(["--reverse", "--sort", "rss"]);
  assertOrdered(all.processes, "rss", true);
});

Deno.test("--limit 3: exactly the first three rows", async () => {
  await using set = await startSolos();
  const { solos } = set;
  const pidList = solos.map((solo) => solo.parent.pid).join(",");
  const fixed = await listing(["--limit", "3", "--pid", pidList]);
  assert.deepEqual(pidsOf(fixed.processes), bySize(solos).slice(0, 3));
  assert.equal(fixed.total.processes, 4, "the total still covers every selected process");
  const reversed = await listing(["--limit", "3", "--reverse", "--pid", pidList]);
  assert.deepEqual(pidsOf(reversed.processes), bySize(solos).reverse().slice(0, 3));
  const all = await listing(["--limit", "3"]);
  assert.equal(all.processes.length, 3);
  assert.ok(all.total.processes >= 3);
  assertOrdered(all.processes, "uss");
});

Deno.test("--pid a,b: exactly those processes", async () => {
  await using set = await startSolos();
  const [a, b] = set.solos.map((solo) => solo.parent.pid);
  const json = await listing(["--pid", `${a},${b}`]);
  assert.deepEqual(pidsOf(json.processes).sort((x, y) => x - y), [a, b].sort((x, y) => x - y));
  assert.equal(json.total.processes, 2);
  const one = await listing(["--pid", String(b)]);
  assert.deepEqual(pidsOf(one.processes), [b]);
});

Deno.test("--name REGEX: matches the command name or the full command line", async (t) => {
  await using set = await startSolos();
  const { solos, tag } = set;
  const named = (suffix: string) => solos.find((solo) => solo.parent.name === tag + suffix)!;

  await t.step("command name", async () => {
    const json = await listing(["--name", `^${tag}[ab]$`]);
    assert.deepEqual(
      pidsOf(json.processes).sort((x, y) => x - y),
      [named("a").parent.pid, named("b").parent.pid].sort((x, y) => x - y),
    );
    for (const process of json.processes) assert.match(process.name!, new RegExp(`^${tag}[ab]$`));
  });

  await t.step("command line: the binary's path and arguments", async () => {
    // The command name is only the tag; "solo 48" appears in the command line alone.
    const json = await listing(["--name", `${tag}. solo 48$`]);
    assert.deepEqual(pidsOf(json.processes), [named("b").parent.pid]);
    const binary = await workersBinary();
    const all = await listing(["--name", literal(binary)]);
    assert.deepEqual(
      pidsOf(all.processes).sort((x, y) => x - y),
      solos.map((solo) => solo.parent.pid).sort((x, y) => x - y),
    );
  });

  await t.step("no match: an empty list", async () => {
    const json = await listing(["--name", `^${tag}-no-such$`]);
    assert.deepEqual(json.processes, []);
    assert.equal(json.total.processes, 0);
  });
});

Deno.test("--user NAME|UID: only processes of that effective user", async () => {
  await using solo = await startWorkers(["solo", "8"], 1);
  const uid = Deno.uid()!;
  const name = userOfUid(uid);
  for (const selector of [String(uid), ...(name ? [name] : [])]) {
    const json = await listing(["--user", selector]);
    assert.ok(pidsOf(json.processes).includes(solo.parent.pid), `--user ${selector}: fixture`);
    for (const process of json.processes) {
      assert.equal(process.uid, uid, `--user ${selector}: ${JSON.stringify(process)}`);
      if (name) assert.equal(process.user, name);
    }
  }
  const unknown = await runUss(["--json", "--user", "no-such-user-uss"]);
  assert.equal(unknown.code, 2);
  assertOneLine(unknown.stderr, /unknown user/);
});

Deno.test("--by file: a file mapped by a fixture tree, with its process count", async () => {
  const PAGES = 16, K = 2;
  await using file = await tempFile(PAGES);
  await using tree = await startWorkers(["files", file.path, String(PAGES), String(K)], K + 1);
  const { code, json, stderr } = await runUssJson<FileJson[]>(["--by", "file"]);
  assert.equal(code, 0, stderr);
  const files = json.map((row) => row.file);
  assert.equal(new Set(files).size, files.length, "one row per file");
  for (const row of json) {
    assert.deepEqual(Object.keys(row), ["file", "processes", "pids", "mappings", ...SIZE_KEYS]);
    assert.equal(row.processes, row.pids.length);
  }
  for (let i = 1; i < json.length; i++) assert.ok(json[i - 1].uss >= json[i].uss, "by USS");

  const row = json.find((candidate) => candidate.file === file.path);
  assert.ok(row, `a row for ${file.path}`);
  assert.equal(row.processes, K + 1);
  assert.deepEqual(row.pids, tree.pids);
  assert.equal(row.mappings, 2 * (K + 1));
  if (IS_ROOT) {
    // Every frame is mapped 2*(K+1) times, by these processes only: nobody owns
    // it alone; each process's RAM has each frame once, its RSS twice; PSS adds
    // up to one page each.
    assert.equal(row.uss, 0);
    assert.equal(row.ram, (K + 1) * PAGES * PAGE);
    assert.equal(row.rss, 2 * (K + 1) * PAGES * PAGE);
    assert.ok(Math.abs(row.pss - PAGES * PAGE) <= K + 1, `pss ${row.pss}`);
  }
  const binaryPath = Deno.realPathSync(await workersBinary());
  const own = json.find((candidate) => candidate.file === binaryPath);
  assert.ok(own, "the fixture's binary has a row");
  assert.deepEqual(own.pids, tree.pids);
  console.log(`--by file: ${json.length} files; ${JSON.stringify(row)}`);
});

Deno.test("maps, --by name and --by file honour --sort, --reverse and --limit", async (t) => {
  await using set = await startSolos();
  const { solos, tag } = set;
  const pid = solos[1].parent.pid;
  const address = (hex: string) => BigInt(`0x${hex}`);

  await t.step("maps rows", async () => {
    const all = await runUssJson<MapsJson>(["maps", String(pid)]);
    const count = all.json.mappings.length;
    assert.ok(count > 5);
    const byRss = await runUssJson<MapsJson>([
      "maps",
      "--sort",
      "rss",
      "--limit",
      "4",
      String(pid),
    ]);
    assert.equal(byRss.json.mappings.length, 4);
    for (let i = 1; i < 4; i++) {
      assert.ok(byRss.json.mappings[i - 1].rss >= byRss.json.mappings[i].rss, "rss descending");
    }
    const byAddress = await runUssJson<MapsJson>(["maps", "--sort", "pid", String(pid)]);
    const starts = byAddress.json.mappings.map((row) => address(row.start));
    assert.deepEqual(starts, [...starts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    const reversed = await runUssJson<MapsJson>([
      "maps",
      "--sort",
      "pid",
      "--reverse",
      String(pid),
    ]);
    assert.deepEqual(
      reversed.json.mappings.map((row) => row.start),
      byAddress.json.mappings.map((row) => row.start).reverse(),
    );
    // The process figures stay whole whatever rows are shown.
    assert.equal(byRss.json.uss, all.json.uss);
    const files = await runUssJson<MapsJson<MergedJson>>([
      "maps",
      "--by",
      "file",
      "--sort",
      "name",
      "--limit",
      "3",
      String(pid),
    ]);
    assert.equal(files.json.mappings.length, 3);
    const names = files.json.mappings.map((row) => row.file);
    assert.deepEqual(names, [...names].sort((a, b) => a.localeCompare(b)));
  });

  await t.step("--by name groups", async () => {
    const names = solos.map((solo) => solo.parent.name).sort((a, b) => a.localeCompare(b));
    const byName = await runUssJson<{ group: string }[]>([
      "--by",
      "name",
      "--name",
      `^${tag}`,
      "--sort",
      "name",
    ]);
    assert.deepEqual(byName.json.map((group) => group.group), names);
    const limited = await runUssJson<{ group: string }[]>([
      "--by",
      "name",
      "--name",
      `^${tag}`,
      "--limit",
      "2",
    ]);
    // Default order: largest USS first (64 and 48 region pages).
    assert.deepEqual(
      limited.json.map((group) => group.group),
      [...solos].sort((a, b) => b.parent.pages - a.parent.pages).slice(0, 2)
        .map((solo) => solo.parent.name),
    );
    const reversed = await runUssJson<{ group: string }[]>([
      "--by",
      "name",
      "--name",
      `^${tag}`,
      "--sort",
      "name",
      "--reverse",
    ]);
    assert.deepEqual(reversed.json.map((group) => group.group), [...names].reverse());
  });

  await t.step("--by file rows", async () => {
    const { code, json } = await runUssJson<FileJson[]>([
      "--by",
      "file",
      "--sort",
      "pid",
      "--limit",
      "5",
    ]);
    assert.equal(code, 0);
    assert.equal(json.length, 5);
    for (let i = 1; i < 5; i++) {
      assert.ok(json[i - 1].pids[0] <= json[i].pids[0], "first PID ascending");
    }
  });
});

Deno.test("usage errors: bad values and conflicting views exit 2 with one line", async () => {
  const cases: [string[], RegExp][] = [
    [["--sort", "size"], /invalid --sort "size"/],
    [["--sort", ""], /invalid --sort/],
    [["--limit", "0"], /invalid --limit "0"/],
    [["--limit", "-3"], /--limit/],
    [["--limit", "three"], /invalid --limit "three"/],
    [["--by", "group"], /invalid --by "group"/],
    [["--tree", "1", "--group", "1,2"], /choose one of/],
    [["--by", "user", "1"], /choose one of/],
    [["--by", "name", "--tree", "1"], /choose one of/],
    [["--group", "1", "2"], /choose one of/],
    [["maps", "--by", "user", "1"], /uss maps only supports --by file/],
    [["maps", "--tree", "1", "1"], /uss maps takes one PID/],
    [["maps", "1", "2"], /exactly one PID/],
    [["--name", "("], /invalid --name/],
    [["--group", ","], /--group needs at least one PID/],
  ];
  for (const [args, pattern] of cases) {
    for (const json of [false, true]) {
      const argv = json ? ["--json", ...args] : args;
      const run = await runUss(argv);
      assert.equal(run.code, 2, `uss ${argv.join(" ")}: exit ${run.code}\n${run.stderr}`);
      assert.equal(run.stdout, "", `uss ${argv.join(" ")}: nothing on stdout`);
      assertOneLine(run.stderr, pattern);
    }
  }
});
