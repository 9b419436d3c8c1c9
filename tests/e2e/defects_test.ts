/**
 * End-to-end: the defects a user's trial found, one test each, on real
 * processes (fixtures from tests/fixtures/*.c, stopped while measured) and the
 * real command line:
 *
 *  1. a thread ID stands for its process (measured once, noted, grouped, filtered);
 *  2. a command name holding ESC and a newline is made visible in tables and CSV, exact in JSON;
 *  3. RSS counts page-table entries as the kernel does, RAM counts frames once;
 *  4. `--tree` lists members it cannot read with their state, never drops them;
 *  5. process filters next to PIDs, `--tree` or `--group` are a usage error;
 *  6. the listing footer's used memory is MemTotal - MemAvailable, as free(1) counts it;
 *  7. uss leaves out itself and the launchers that started it (deno task, npx);
 *  8. a failed write to stdout is one line on stderr and exit 5, never a crash;
 *  9. a malformed procfs value fails that process, never the run;
 * 10. `--bytes` applies to the listing footer too;
 * 11. long group labels are shortened in tables, whole in JSON.
 *
 * Expectations come from the fixtures' layouts or from reading /proc here,
 * never from uss output.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  buildFixture,
  IS_ROOT,
  missingPids,
  PAGE_SIZE,
  readRollup,
  REPO_ROOT,
  runCommand,
  runUss,
  runUssJson,
  skipOrFail,
  startFixture,
} from "../helpers.ts";
import { AS_NOBODY, assertOneLine, NOBODY_ID, prepareNobody } from "../env/env_support.ts";
import type { GroupJson, ListingJson, MapsJson, ProcessJson } from "../json_schema.ts";
import { euidOf, startWorkers, statOf, uniqueName } from "./workers_support.ts";

const MAIN = `${REPO_ROOT}/main.ts`;
const MIB = 1 << 20;
const EXIT_OK = 0;
const EXIT_PARTIAL = 1;
const EXIT_USAGE = 2;
const EXIT_OUTPUT = 5;

/** The note uss prints (table mode, not root) when it falls back to smaps. */
const SMAPS_NOTE = /^uss: note: .*smaps/;

function tokens(line: string): string[] {
  return line.trim().split(/\s+/);
}

/** The table line whose first cell is `pid` (exactly one). */
function rowOf(table: string, pid: number): string {
  const rows = table.split("\n").filter((line) => tokens(line)[0] === String(pid));
  assert.equal(rows.length, 1, `one table line for ${pid} in:\n${table}`);
  return rows[0];
}

/** stderr lines other than the smaps fallback note. */
function stderrLines(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line !== "" && !SMAPS_NOTE.test(line));
}

/** `/proc/meminfo` fields in bytes. */
function meminfo(): Record<string, number> {
  const fields: Record<string, number> = {};
  for (const line of Deno.readTextFileSync("/proc/meminfo").split("\n")) {
    const match = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (match) fields[match[1]] = Number(match[2]) * 1024;
  }
  return fields;
}

/** The smaps fields (bytes) of the VMA of `pid` starting at `start` (hex as maps prints it). */
function smapsOf(pid: number, start: string): Record<string, number> {
  const fields: Record<string, number> = {};
  let inside = false;
  for (const line of Deno.readTextFileSync(`/proc/${pid}/smaps`).split("\n")) {
    const header = /^([0-9a-f]+)-[0-9a-f]+ /.exec(line);
    if (header) {
      if (inside) break;
      inside = header[1] === start;
      continue;
    }
    const match = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (inside && match) fields[match[1]] = Number(match[2]) * 1024;
  }
  assert.ok(inside, `no VMA at ${start} in /proc/${pid}/smaps`);
  return fields;
}

/** Whether this process may read `path` (e.g. another process's smaps_rollup). */
function canRead(path: string): boolean {
  try {
    Deno.readTextFileSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.PermissionDenied) return false;
    throw error;
  }
}

// ---------------------------------------------------------------------------
// 1. Thread IDs

/** The threads fixture, linked statically when static pthreads link here. */
async function threadsBinary(): Promise<string> {
  try {
    return await buildFixture("threads", ["-static", "-pthread"]);
  } catch {
    return await buildFixture("threads", ["-pthread"]);
  }
}

Deno.test("a thread ID stands for its process: measured once, noted, grouped, filtered", async (t) => {
  await using fixture = await startFixture<{ tid: number }>(await threadsBinary(), [], 1);
  const [{ pid, tid }] = fixture.processes;
  // The kernel's view: TID is a second task of PID, not a process of its own.
  assert.notEqual(tid, pid);
  const tidStatus = Deno.readTextFileSync(`/proc/${tid}/status`);
  assert.equal(Number(/^Tgid:\s+(\d+)/m.exec(tidStatus)![1]), pid, "Tgid of the thread");
  assert.ok(
    [...Deno.readDirSync(`/proc/${pid}/task`)].some((entry) => entry.name === String(tid)),
    `${tid} is in /proc/${pid}/task`,
  );
  const note = `uss: note: ${tid} is a thread of process ${pid}: measured as ${pid}`;

  const { code, json: alone } = await runUssJson<ProcessJson[]>([String(pid)]);
  assert.equal(code, EXIT_OK);
  assert.equal(alone.length, 1);
  const own = alone[0];
  assert.equal(own.state, "ok");

  await t.step("uss PID TID and uss TID: one report, for PID", async () => {
    for (const args of [[pid, tid], [tid], [tid, pid]]) {
      const what = `uss --json ${args.join(" ")}`;
      const run = await runUssJson<ProcessJson[]>(args.map(String));
      assert.equal(run.code, EXIT_OK, `${what}: ${run.stderr}`);
      assert.equal(run.stderr, "", `${what}: no note in JSON mode`);
      assert.deepEqual(run.json.map((report) => report.pid), [pid], `${what}: one report`);
      assert.equal(run.json[0].state, "ok");
      assert.equal(run.json[0].name, "threads");
      assert.equal(run.json[0].rss, own.rss, `${what}: the process's RSS`);
      assert.equal(run.json[0].uss, own.uss, `${what}: the process's USS`);
    }
  });

  await t.step("table: one row for PID, and the note on stderr", async () => {
    for (const args of [[pid, tid], [tid]]) {
      const run = await runUss(args.map(String));
      assert.equal(run.code, EXIT_OK, run.stderr);
      assert.deepEqual(stderrLines(run.stderr), [note], `stderr of uss ${args.join(" ")}`);
      const lines = run.stdout.trimEnd().split("\n");
      assert.equal(lines.length, 2, `header and one row, no total:\n${run.stdout}`);
      assert.equal(tokens(lines[1])[0], String(pid));
      assert.ok(!lines.some((line) => tokens(line)[0] === String(tid)), "no row for the TID");
    }
  });

  await t.step("--group PID,TID: one member, the figures of the process alone", async () => {
    const run = await runUssJson<GroupJson[]>(["--group", `${pid},${tid}`]);
    assert.equal(run.code, EXIT_OK, run.stderr);
    assert.equal(run.json.length, 1);
    const [group] = run.json;
    assert.equal(group.processes, 1);
    assert.deepEqual(group.members, [pid]);
    assert.equal(group.uss_sum, own.uss, "uss_sum: the process's USS once");
    if (IS_ROOT) {
      assert.equal(group.uss, own.uss);
      assert.equal(group.uss_anon, own.uss_anon);
      assert.equal(group.uss_file, own.uss_file);
      assert.equal(group.ram, own.ram);
      assert.equal(group.swap, own.swap);
    }
    assert.equal(group.rss, own.rss, "RSS counted once");
    // PSS of the vDSO moves a little as other processes come and go.
    assert.ok(Math.abs(group.pss - own.pss!) <= PAGE_SIZE, `PSS ${group.pss} vs ${own.pss}`);

    const table = await runUss(["--group", `${pid},${tid}`]);
    assert.equal(table.code, EXIT_OK);
    assert.ok(stderrLines(table.stderr).includes(note), `the note on stderr:\n${table.stderr}`);
  });

  await t.step("--pid TID selects the process in the listing", async () => {
    const run = await runUssJson<ListingJson>(["--pid", String(tid)]);
    assert.equal(run.code, EXIT_OK, run.stderr);
    assert.deepEqual(run.json.processes.map((report) => report.pid), [pid]);
    assert.deepEqual(run.json.unmeasured, []);
    assert.equal(run.json.scanned, 1);
  });
});

// ---------------------------------------------------------------------------
// 2. Names with control characters

Deno.test("a name holding ESC and a newline: made visible in tables and CSV, exact in JSON", async () => {
  const NAME = "ev\x1b[31m\nil";
  /** The name as a terminal must show it: visible backslash escapes. */
  const SHOWN = String.raw`ev\x1b[31m\nil`;
  const binary = await buildFixture("named");
  await using fixture = await startFixture(binary, [NAME], 1);
  const [{ pid }] = fixture.processes;
  assert.equal(Deno.readTextFileSync(`/proc/${pid}/comm`), `${NAME}\n`, "the kernel's comm");

  for (const args of [[String(pid)], ["--pid", String(pid)]]) {
    const what = `uss ${args.join(" ")}`;
    const run = await runUss(args);
    assert.equal(run.code, EXIT_OK, `${what}: ${run.stderr}`);
    assert.ok(!run.stdout.includes("\x1b"), `${what}: no raw ESC in:\n${run.stdout}`);
    assert.ok(!run.stderr.includes("\x1b"), `${what}: no raw ESC on stderr`);
    const row = rowOf(run.stdout, pid);
    assert.ok(row.includes(SHOWN), `${what}: the name escaped in its row: ${row}`);
    // The row is one line: the line after it is not the rest of the name.
    const lines = run.stdout.split("\n");
    const next = lines[lines.indexOf(row) + 1] ?? "";
    assert.ok(
      !next.trimStart().startsWith("il"),
      `${what}: the name split the row:\n${run.stdout}`,
    );
    if (args.length === 1) assert.equal(lines.filter((line) => line !== "").length, 2);
  }

  const csv = await runUss(["--format", "csv", String(pid)]);
  assert.equal(csv.code, EXIT_OK, csv.stderr);
  assert.ok(!csv.stdout.includes("\x1b"), "CSV: no raw ESC");
  const records = csv.stdout.split("\r\n");
  assert.equal(records.at(-1), "", "CSV ends with CRLF");
  assert.equal(records.length, 3, `header and one record:\n${JSON.stringify(csv.stdout)}`);
  for (const record of records) assert.ok(!/[\r\n]/.test(record), `a bare line break in ${record}`);
  const header = records[0].split(",");
  const fields = records[1].split(",");
  assert.equal(fields.length, header.length, "as many fields as columns");
  assert.equal(fields[header.indexOf("pid")], String(pid));
  assert.equal(
    fields[header.indexOf("name")],
    "ev\u241b[31m\u240ail",
    "CSV: ESC and the newline as control pictures, in one field",
  );

  const json = await runUss(["--json", String(pid)]);
  assert.equal(json.code, EXIT_OK);
  assert.ok(!json.stdout.includes("\x1b"), "JSON: ESC is escaped by JSON itself");
  assert.ok(json.stdout.includes(JSON.stringify(NAME)), "JSON: the name JSON-escaped");
  const [report] = JSON.parse(json.stdout) as ProcessJson[];
  assert.equal(report.name, NAME, "JSON: the exact name parses back");
});

// ---------------------------------------------------------------------------
// 3. RSS as the kernel counts it

Deno.test({
  name: "a file mapped twice (root): RSS is the kernel's Rss, RAM counts its frames once",
  ignore: !IS_ROOT,
  async fn() {
    const binary = await buildFixture("layouts");
    const PAGES = 64;
    await using fixture = await startFixture<
      { page: number; region: string; second: string; path: string }
    >(binary, ["double", String(PAGES)], 1);
    const [{ pid, page, region, second, path }] = fixture.processes;
    const doubled = PAGES * page;

    // The kernel: each mapping has all PAGES pages resident (one entry per page).
    const kernel = [smapsOf(pid, region), smapsOf(pid, second)];
    for (const fields of kernel) assert.equal(fields.Rss, doubled, "smaps Rss of each mapping");
    const rollup = await readRollup(pid);

    const { code, json: [report] } = await runUssJson<ProcessJson[]>([String(pid)]);
    assert.equal(code, EXIT_OK);
    assert.equal(report.method, "kpagecount");
    assert.equal(report.rss, rollup.Rss, "uss --json: RSS is smaps_rollup's Rss");
    assert.equal(report.ram, report.rss! - doubled, "RAM: the doubly mapped frames once");

    const maps = await runUssJson<MapsJson>(["maps", String(pid)]);
    assert.equal(maps.code, EXIT_OK);
    assert.equal(maps.json.rss, rollup.Rss, "uss maps: the process's RSS");
    const rows = [region, second].map((start) => {
      const row = maps.json.mappings.find((mapping) => mapping.start === start);
      assert.ok(row, `a row for the mapping at ${start}`);
      assert.equal(row.path, path);
      return row;
    });
    rows.forEach((row, index) => {
      assert.equal(row.rss, kernel[index].Rss, `mapping ${row.start}: RSS is its smaps Rss`);
    });
    assert.equal(rows[0].ram + rows[1].ram, doubled, "the file's frames once in RAM");
    assert.equal(maps.json.ram, report.ram);
  },
});

// ---------------------------------------------------------------------------
// 4. --tree with members that cannot be read

/** Whether `ancestor` is `pid` or one of its ancestors (by parent PID). */
function descendsFrom(pid: number, ancestor: number): boolean {
  for (let at = pid, depth = 0; at > 0 && depth < 100; depth++) {
    if (at === ancestor) return true;
    at = statOf(at)?.ppid ?? 0;
  }
  return false;
}

/** A root-owned `sh` with two `idle` children: one as root, one as uid 65534. */
async function startMixedTree() {
  const binary = await buildFixture("idle");
  const script = `"$@" & ${AS_NOBODY.join(" ")} "$@" & wait`;
  const fixture = await startFixture<{ mib: number }>(binary, ["1", "0"], 2, {
    wrapper: ["sh", "-c", script, "sh"],
  });
  const byOwner = (uid: number) => {
    const found = fixture.processes.filter((process) => euidOf(process.pid) === uid);
    assert.equal(found.length, 1, `one idle of uid ${uid}`);
    return found[0].pid;
  };
  const rootChild = byOwner(0);
  const nobodyChild = byOwner(NOBODY_ID);
  const parent = statOf(rootChild)!.ppid;
  assert.equal(statOf(nobodyChild)!.ppid, parent, "both children of one shell");
  assert.equal(euidOf(parent), 0, "the shell is root's");
  return Object.assign(fixture, { parent, rootChild, nobodyChild });
}

Deno.test({
  name: "--tree as uid 65534 (root): unreadable members are listed with their state",
  ignore: !IS_ROOT,
  async fn(t) {
    await using nobody = await prepareNobody();
    await using tree = await startMixedTree();
    const { parent, rootChild, nobodyChild } = tree;
    const options = nobody.options;

    await t.step(
      "--tree PARENT: parent and root child denied, nobody's child measured",
      async () => {
        const run = await runUss(["--tree", String(parent)], options);
        assert.equal(run.code, EXIT_PARTIAL, `the tree's root is unreadable: ${run.stderr}`);
        for (const pid of [parent, rootChild]) {
          assert.match(rowOf(run.stdout, pid), /permission denied/, `row of ${pid}`);
        }
        const measured = rowOf(run.stdout, nobodyChild);
        assert.match(measured, /\bnobody\b.*\bidle\b.*\d (KiB|MiB)\b/, "nobody's idle measured");
        assert.doesNotMatch(measured, /denied/);
        assert.match(run.stdout, new RegExp(`^tree:${parent} \\(sh\\)\\s+1\\s`, "m"), "one member");

        const json = await runUssJson<GroupJson[]>(["--tree", String(parent)], options);
        assert.equal(json.code, EXIT_PARTIAL);
        assert.equal(json.json.length, 1);
        assert.deepEqual(json.json[0].members, [nobodyChild], "measured members only");
      },
    );

    await t.step("--tree 1: PID 1 is listed (denied), exit 1", async () => {
      const run = await runUss(["--tree", "1"], options);
      assert.equal(run.code, EXIT_PARTIAL, run.stderr);
      assert.match(rowOf(run.stdout, 1), /permission denied/);
      if (descendsFrom(nobodyChild, 1)) {
        assert.match(rowOf(run.stdout, nobodyChild), /\d (KiB|MiB)\b/, "its own process measured");
      }
    });
  },
});

Deno.test("--tree 1 lists PID 1; --tree 2 (kthreadd) is refused in one line", async () => {
  // Whether this user may read PID 1's memory decides its row and the exit code.
  const readable = canRead("/proc/1/smaps_rollup");
  const tree = await runUss(["--tree", "1"]);
  assert.equal(tree.code, readable ? EXIT_OK : EXIT_PARTIAL, tree.stderr);
  const row = rowOf(tree.stdout, 1);
  if (readable) assert.match(row, /\d (B|KiB|MiB|GiB)\b/, `PID 1 measured: ${row}`);
  else assert.match(row, /permission denied/, `PID 1 listed, denied: ${row}`);
  assert.match(tree.stdout, /^tree:1\b/m, "the group row");

  assert.equal(Deno.readTextFileSync("/proc/2/comm"), "kthreadd\n");
  const kthreadd = await runUss(["--tree", "2"]);
  assert.equal(kthreadd.code, EXIT_PARTIAL);
  assert.equal(kthreadd.stdout, "");
  assertOneLine(
    kthreadd.stderr,
    /^uss: 2 is a kernel thread: kernel threads have no user memory to measure$/,
  );
});

// ---------------------------------------------------------------------------
// 5. Filters with PIDs

Deno.test("--user, --name or --pid next to PIDs or --tree: usage error, one line", async () => {
  const pid = String(Deno.pid);
  const cases = [
    ["--user", "nobody", pid],
    ["maps", "--name", "zzz", pid],
    ["--pid", "1", "--tree", "1"],
    ["--name", "zzz", "--group", `1,${pid}`],
  ];
  for (const args of cases) {
    const run = await runUss(args);
    const what = `uss ${args.join(" ")}`;
    assert.equal(run.code, EXIT_USAGE, `${what}: exit 2 (stdout ${run.stdout})`);
    assert.equal(run.stdout, "", `${what}: nothing on stdout`);
    assertOneLine(run.stderr, /--user|--name|--pid/);
  }
});

// ---------------------------------------------------------------------------
// 6. Used memory in the footer

/** The listing footer's figures: PSS total, percentage, used memory (with --bytes). */
const FOOTER =
  /^method \w+; PSS total (\d+) = (\d+)% of used memory \((\d+), as free\(1\) counts it\)$/m;

Deno.test("listing footer: used memory is MemTotal - MemAvailable, and PSS is below 100% of it", async () => {
  /** Memory in use as free(1) counts it, read here. */
  const used = () => {
    const info = meminfo();
    return info.MemTotal - info.MemAvailable;
  };
  // Other processes allocate while uss runs: the figure must lie within what
  // this process read just before and just after, give or take SLACK; a quiet
  // moment is awaited. (MemTotal - MemFree, or free(1)'s older formula, miss
  // by far more on any machine with a page cache.)
  const SLACK = 8 * MIB;
  const seen: string[] = [];
  for (let attempt = 0; attempt < 10; attempt++) {
    const before = used();
    const run = await runUss(["--bytes"]);
    const after = used();
    assert.equal(run.code, EXIT_OK, run.stderr);
    const match = FOOTER.exec(run.stdout);
    assert.ok(
      match,
      `a footer with used memory in:\n${run.stdout.split("\n").slice(-6).join("\n")}`,
    );
    const [pss, percent, shown] = match.slice(1).map(Number);
    assert.ok(percent < 100, `PSS total ${pss} is ${percent}% of used memory ${shown}`);
    assert.equal(percent, Math.round((pss / shown) * 100), "the percentage of the shown figures");
    seen.push(`before ${before}, uss ${shown}, after ${after}`);
    if (
      shown >= Math.min(before, after) - SLACK && shown <= Math.max(before, after) + SLACK
    ) {
      console.log(`used memory: ${seen.at(-1)} (attempt ${attempt + 1}); PSS ${percent}% of it`);
      return;
    }
  }
  assert.fail(`uss's used memory never matched MemTotal - MemAvailable:\n${seen.join("\n")}`);
});

// ---------------------------------------------------------------------------
// 7. uss leaves out itself and its launchers

/**
 * A directory with a deno.json whose tasks run uss through `sh ./launch.sh`:
 * the script writes its ancestry (PID and command line, nearest first) to
 * `ancestry`, then execs uss in its own process (so the first PID is uss's).
 */
async function launcherDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "uss-launchers-" });
  const script = `(
  pid=$$
  while [ "$pid" -gt 1 ]; do
    printf '%s %s\\n' "$pid" "$(tr '\\0' ' ' < /proc/$pid/cmdline | cut -c1-200)"
    stat=$(cat /proc/$pid/stat)
    set -- \${stat##*) }
    pid=$2
  done
) > ancestry
exec '${Deno.execPath()}' run --quiet -A '${MAIN}' "$@"
`;
  await Deno.writeTextFile(`${dir}/launch.sh`, script);
  await Deno.writeTextFile(
    `${dir}/deno.json`,
    JSON.stringify({ tasks: { json: "sh ./launch.sh --json", table: "sh ./launch.sh" } }),
  );
  return dir;
}

/** The PIDs of the ancestry file up to (without) this test process, nearest first. */
function launchedChain(dir: string): { pids: number[]; lines: string[] } {
  const lines = Deno.readTextFileSync(`${dir}/ancestry`).trimEnd().split("\n");
  const pids = lines.map((line) => Number(line.split(" ")[0]));
  const self = pids.indexOf(Deno.pid);
  assert.ok(self > 0, `this test process ${Deno.pid} is an ancestor of uss:\n${lines.join("\n")}`);
  return { pids: pids.slice(0, self), lines: lines.slice(0, self) };
}

function assertLeftOut(json: ListingJson, chain: number[], what: string): void {
  assert.deepEqual(json.excluded, chain, `${what}: excluded is uss and its launchers`);
  for (const pid of chain) {
    assert.ok(!json.processes.some((row) => row.pid === pid), `${what}: ${pid} not measured`);
    assert.ok(!json.unmeasured.some((row) => row.pid === pid), `${what}: ${pid} not unmeasured`);
  }
  for (const row of json.processes) {
    assert.ok(Number.isInteger(row.ppid) && row.ppid! >= 0, `${what}: ppid of ${row.pid}`);
  }
  // This test process is measured, with its real parent.
  const self = json.processes.find((row) => row.pid === Deno.pid);
  assert.ok(self, `${what}: the test process (not a launcher) is measured`);
  assert.equal(self.ppid, statOf(Deno.pid)!.ppid, `${what}: ppid of the test process`);
}

async function npxAvailable(): Promise<boolean> {
  return (await runCommand(["sh", "-c", "command -v npx"])).code === 0;
}

Deno.test({
  name: "uss leaves out itself and its launchers (deno task, npx deno task)",
  async fn(t) {
    const dir = await launcherDir();
    const env = { NO_COLOR: "1" };
    try {
      await t.step("deno task: uss and the deno task process", async () => {
        const run = await runCommand([Deno.execPath(), "task", "json"], { cwd: dir, env });
        assert.equal(run.code, EXIT_OK, run.stderr);
        const { pids, lines } = launchedChain(dir);
        assert.equal(pids.length, 2, `uss, then deno task:\n${lines.join("\n")}`);
        assert.match(lines[1], /^\d+ \S*deno task json\b/);
        assertLeftOut(JSON.parse(run.stdout), pids, "deno task json");

        const table = await runCommand([Deno.execPath(), "task", "table"], { cwd: dir, env });
        assert.equal(table.code, EXIT_OK, table.stderr);
        const chain = launchedChain(dir).pids;
        assert.match(
          table.stdout,
          new RegExp(`^left out: uss itself and its launchers \\(PID ${chain.join(", ")}\\)$`, "m"),
        );
      });

      await t.step({
        name: "npx deno task: also npm's sh -c shim and npm exec",
        fn: async () => {
          if (!(await npxAvailable())) return skipOrFail("npx (Node.js) is not installed");
          const run = await runCommand(
            ["npx", "-y", `deno@${Deno.version.deno}`, "task", "json"],
            { cwd: dir, env },
          );
          assert.equal(run.code, EXIT_OK, run.stderr);
          const { pids, lines } = launchedChain(dir);
          assert.equal(pids.length, 4, `uss, deno task, sh, npm exec:\n${lines.join("\n")}`);
          assert.match(lines[3], /^\d+ (npm exec|npx)\b/);
          assertLeftOut(JSON.parse(run.stdout), pids, "npx deno task json");

          const table = await runCommand(
            ["npx", "-y", `deno@${Deno.version.deno}`, "task", "table"],
            { cwd: dir, env },
          );
          assert.equal(table.code, EXIT_OK, table.stderr);
          const chain = launchedChain(dir).pids;
          assert.match(
            table.stdout,
            new RegExp(
              `^left out: uss itself and its launchers \\(PID ${chain.join(", ")}\\)$`,
              "m",
            ),
          );
        },
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// ---------------------------------------------------------------------------
// 8. Write errors

/** Runs `script` in bash with $0 = deno and $1 = main.ts (further arguments after). */
function bash(script: string, ...args: string[]) {
  return runCommand(["bash", "-c", script, Deno.execPath(), MAIN, ...args], {
    env: { NO_COLOR: "1" },
  });
}

Deno.test("a failed write to stdout: one line on stderr and exit 5, never a crash", async (t) => {
  await t.step("stdout is /dev/full", async () => {
    const run = await bash('exec "$0" run --quiet -A "$1" > /dev/full');
    assert.equal(run.code, EXIT_OUTPUT, run.stderr);
    assertOneLine(
      stderrLines(run.stderr).join("\n"),
      /^uss: cannot write to standard output: \S/,
    );
  });

  await t.step("the reader closes the pipe after the first line", async () => {
    // 6000 rows of about 40 bytes: several times what a pipe buffers, so uss
    // is still writing when head has its line and goes.
    const dir = await Deno.makeTempDir({ prefix: "uss-pipe-" });
    try {
      const run = await bash(
        '"$0" run --quiet -A "$1" "${@:3}" 2> "$2" | head -1; echo "status ${PIPESTATUS[0]}"',
        `${dir}/stderr`,
        ...missingPids(6000).map(String),
      );
      assert.equal(run.code, 0, run.stderr);
      const [first, status] = run.stdout.trimEnd().split("\n");
      assert.deepEqual(tokens(first).slice(0, 2), ["PID", "USER"], "head got the header");
      assert.equal(status, `status ${EXIT_OUTPUT}`, "uss exit status");
      assertOneLine(
        stderrLines(await Deno.readTextFile(`${dir}/stderr`)).join("\n"),
        /^uss: cannot write to standard output: /,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  await t.step("stderr closed, stdout /dev/full: exit 5 all the same", async () => {
    const run = await bash('exec "$0" run --quiet -A "$1" > /dev/full 2>&-');
    assert.equal(run.code, EXIT_OUTPUT, `exit ${run.code}`);
    assert.equal(run.stdout, "");
    assert.doesNotMatch(run.stderr, /Uncaught/);
    const full = await bash('exec "$0" run --quiet -A "$1" > /dev/full 2> /dev/full');
    assert.equal(full.code, EXIT_OUTPUT, "stderr full too");
  });
});

// ---------------------------------------------------------------------------
// 9. Malformed procfs values

/** Text of a procfs file of `pid` with the PID fields changed to `fake`. */
function withPid(text: string, pid: number, fake: number, file: "stat" | "status"): string {
  if (file === "stat") {
    assert.ok(text.startsWith(`${pid} (`));
    return `${fake}${text.slice(String(pid).length)}`;
  }
  return text.replace(/^(Pid|Tgid):\t\d+$/gm, `$1:\t${fake}`);
}

/**
 * A fake procfs in a temporary directory: `self` (status, auxv) and `meminfo`
 * copied from this process and machine, and one directory per entry of
 * `processes` holding a real process's stat, status and smaps_rollup with the
 * PID changed and `edit` applied.
 */
async function fakeProcfs(
  source: number,
  processes: Record<number, (file: string, text: string) => string>,
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "uss-fakeproc-" });
  await Deno.mkdir(`${dir}/self`);
  await Deno.writeTextFile(`${dir}/self/status`, Deno.readTextFileSync("/proc/self/status"));
  await Deno.writeFile(`${dir}/self/auxv`, Deno.readFileSync("/proc/self/auxv"));
  await Deno.writeTextFile(`${dir}/meminfo`, Deno.readTextFileSync("/proc/meminfo"));
  for (const [fake, edit] of Object.entries(processes)) {
    const pid = Number(fake);
    await Deno.mkdir(`${dir}/${pid}`);
    for (const file of ["stat", "status", "smaps_rollup"] as const) {
      let text = Deno.readTextFileSync(`/proc/${source}/${file}`);
      if (file !== "smaps_rollup") text = withPid(text, source, pid, file);
      await Deno.writeTextFile(`${dir}/${pid}/${file}`, edit(file, text));
    }
  }
  return dir;
}

/** Replaces the `Rss:` line of a rollup. */
function rssLine(value: string) {
  return (file: string, text: string) =>
    file === "smaps_rollup" ? text.replace(/^Rss:.*$/m, `Rss:            ${value} kB`) : text;
}

const BAD_UID = 101, HUGE_RSS = 102, GOOD = 103;

Deno.test("a malformed procfs value fails that process, never the run", async (t) => {
  const binary = await buildFixture("layouts");
  await using fixture = await startFixture(binary, ["private", "16"], 1);
  const [{ pid }] = fixture.processes;
  const dir = await fakeProcfs(pid, {
    [BAD_UID]: (file, text) =>
      file === "status" ? text.replace(/^Uid:.*$/m, "Uid:\tabc\tabc\tabc\tabc") : text,
    [HUGE_RSS]: rssLine("1000000000000000000000"), // 1e21 kB: beyond 2^53 bytes
    [GOOD]: (_file, text) => text,
  });
  try {
    // What the copied files say, read here.
    const rollup: Record<string, number> = {};
    for (const line of Deno.readTextFileSync(`${dir}/${GOOD}/smaps_rollup`).split("\n")) {
      const match = /^(\w+):\s+(\d+) kB$/.exec(line);
      if (match) rollup[match[1]] = Number(match[2]) * 1024;
    }
    const status = Deno.readTextFileSync(`${dir}/${GOOD}/status`);
    const uid = Number(/^Uid:\s+\d+\s+(\d+)/m.exec(status)![1]);
    const base = ["--proc-root", dir, "--method", "smaps"];

    await t.step(
      "PIDs given: the bad ones fail naming the field, the good one is measured",
      async () => {
        const run = await runUssJson<ProcessJson[]>([
          ...base,
          String(BAD_UID),
          String(HUGE_RSS),
          String(GOOD),
        ]);
        assert.equal(run.code, EXIT_PARTIAL, run.stderr);
        assert.equal(run.stderr, "");
        const [badUid, hugeRss, good] = run.json;
        assert.deepEqual(run.json.map((report) => report.pid), [BAD_UID, HUGE_RSS, GOOD]);
        assert.equal(badUid.state, "error");
        assert.match(badUid.error ?? "", /\bUid\b.*abc/, `error of ${BAD_UID}`);
        assert.equal(badUid.rss, null);
        assert.equal(hugeRss.state, "error");
        assert.match(hugeRss.error ?? "", /\bRss\b/, `error of ${HUGE_RSS}`);
        assert.equal(hugeRss.rss, null);
        assert.equal(good.state, "ok", JSON.stringify(good));
        assert.equal(good.method, "smaps");
        assert.equal(good.name, "layouts");
        assert.equal(good.uid, uid);
        assert.equal(good.uss, rollup.Private_Clean + rollup.Private_Dirty);
        assert.equal(good.rss, rollup.Rss);
        assert.equal(good.pss, rollup.Pss);
        assert.equal(good.swap, rollup.Swap);
      },
    );

    await t.step("the listing: measured as a whole, the bad PIDs in unmeasured", async () => {
      const run = await runUssJson<ListingJson>(base);
      assert.equal(run.code, EXIT_OK, run.stderr);
      assert.deepEqual(run.json.processes.map((report) => report.pid), [GOOD]);
      assert.equal(run.json.scanned, 3);
      assert.equal(run.json.failed, 2);
      assert.deepEqual(run.json.excluded, [], "the fake procfs has no uss in it");
      assert.deepEqual(run.json.unmeasured.map((row) => [row.pid, row.state]), [
        [BAD_UID, "error"],
        [HUGE_RSS, "error"],
      ]);
      assert.match(run.json.unmeasured[0].error ?? "", /\bUid\b/);
      assert.match(run.json.unmeasured[1].error ?? "", /\bRss\b/);

      const table = await runUss(base);
      assert.equal(table.code, EXIT_OK, table.stderr);
      assert.match(table.stdout, /^2 processes could not be read: .*Uid.*Rss/m);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a malformed procfs value: an Rss written as 1e21 kB fails the process (not read as 0)", async () => {
  const binary = await buildFixture("layouts");
  await using fixture = await startFixture(binary, ["private", "16"], 1);
  const [{ pid }] = fixture.processes;
  const dir = await fakeProcfs(pid, { [HUGE_RSS]: rssLine("1e21") });
  try {
    assert.match(Deno.readTextFileSync(`${dir}/${HUGE_RSS}/smaps_rollup`), /^Rss: +1e21 kB$/m);
    const run = await runUssJson<ProcessJson[]>([
      "--proc-root",
      dir,
      "--method",
      "smaps",
      String(HUGE_RSS),
    ]);
    const [report] = run.json;
    assert.equal(
      report.state,
      "error",
      `"Rss: 1e21 kB" is not a size in kB, yet uss reported ${JSON.stringify(report)}`,
    );
    assert.match(report.error ?? "", /\bRss\b/);
    assert.equal(run.code, EXIT_PARTIAL);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------
// 10. --bytes in footers

Deno.test("--bytes: the listing footer shows integer bytes; without it, units", async () => {
  const UNIT = /\d(\.\d+)? (B|KiB|MiB|GiB|TiB|PiB)\b/;
  const footerOf = (stdout: string) => {
    const lines = stdout.trimEnd().split("\n");
    const at = lines.findIndex((line) => line.startsWith("method "));
    assert.ok(at > 0, `a footer in:\n${stdout}`);
    return lines.slice(at);
  };

  const exact = await runUss(["--bytes"]);
  assert.equal(exact.code, EXIT_OK, exact.stderr);
  const footer = footerOf(exact.stdout);
  for (const line of footer) assert.doesNotMatch(line, UNIT, `--bytes footer line: ${line}`);
  const match = FOOTER.exec(footer[0]);
  assert.ok(match, `PSS total and used memory in integer bytes: ${footer[0]}`);
  assert.ok(Number(match[3]) > MIB, "used memory in bytes");
  const total = exact.stdout.split("\n").find((line) => /\btotal \(\d+\)/.test(line))!;
  assert.doesNotMatch(total, UNIT, `--bytes total row: ${total}`);

  const human = await runUss([]);
  assert.equal(human.code, EXIT_OK);
  assert.match(footerOf(human.stdout)[0], /PSS total \S+ (KiB|MiB|GiB).*\(\S+ (MiB|GiB|TiB), as/);
});

// ---------------------------------------------------------------------------
// 11. Long group labels

Deno.test("--group of 40 processes: the label is shortened in the table, whole in JSON", async () => {
  const WORKERS = 39;
  await using tree = await startWorkers(
    ["cow", String(WORKERS), String(WORKERS), "1"],
    WORKERS + 1,
    {
      name: uniqueName("glab"),
    },
  );
  const pids = [...tree.pids].reverse(); // given order, not sorted
  const full = `group:${pids.join(",")}`;
  // Far beyond the table's 48 characters even when PIDs have wrapped to 3 digits.
  assert.ok(full.length > 2 * 48, full);

  const json = await runUssJson<GroupJson[]>(["--group", pids.join(",")]);
  assert.equal(json.code, EXIT_OK, json.stderr);
  assert.equal(json.json.length, 1);
  assert.equal(json.json[0].group, full, "JSON: the whole label");
  assert.deepEqual(json.json[0].members.toSorted((a, b) => a - b), tree.pids);

  const table = await runUss(["--group", pids.join(",")]);
  assert.equal(table.code, EXIT_OK, table.stderr);
  const row = table.stdout.split("\n").find((line) => line.startsWith("group:"));
  assert.ok(row, `a group row in:\n${table.stdout}`);
  // Cells are two spaces apart; the label itself holds single spaces at most.
  const label = row.split(/ {2,}/)[0];
  assert.ok(label.length <= 48, `label of ${label.length} characters: ${label}`);
  const cut = label.indexOf("…");
  assert.ok(cut > "group:".length, `the label says it was cut: ${label}`);
  assert.ok(full.startsWith(label.slice(0, cut)), `${label} begins the full label`);
  assert.match(row.slice(label.length), new RegExp(`^\\s+${WORKERS + 1}\\s`), "then PROCS");
  assert.ok(!table.stdout.includes(full), "the full label is not in the table");
});
