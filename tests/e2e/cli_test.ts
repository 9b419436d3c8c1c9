/**
 * End-to-end: the `uss` command line as a user meets it — several PIDs, missing
 * PIDs, kernel threads, bad arguments, output formats, processes that vanish
 * while they are measured.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  buildFixture,
  IS_ROOT,
  missingPids,
  PAGE_SIZE,
  runUss,
  runUssJson,
  startFixture,
} from "../helpers.ts";
import { MAPPING_KEYS, PROCESS_KEYS, SIZE_KEYS } from "../json_schema.ts";

type ProcessJson = Record<string, unknown> & {
  pid: number;
  state: string;
  error: string | null;
  name: string | null;
};

/** Figure columns of the process table, in the order they must appear. */
const FIGURES = ["USS", "ANON", "FILE", "PSS", "RSS", "SWAP"];

function tokens(line: string): string[] {
  return line.trim().split(/\s+/);
}

/** Checks the header (PID, NAME, then the figure columns in order); returns its words. */
function headerOf(stdout: string): string[] {
  const header = tokens(stdout.split("\n")[0]);
  assert.equal(header[0], "PID", `header ${header.join(" ")}`);
  assert.ok(header.includes("NAME"));
  const figures = header.filter((word) => FIGURES.includes(word));
  assert.deepEqual(figures, FIGURES, "figure columns in order");
  assert.ok(header.indexOf("NAME") < header.indexOf("USS"));
  return header;
}

/** The data line of the table whose first cell is `pid`. */
function lineOf(stdout: string, pid: number): string {
  const line = stdout.split("\n").find((text) => tokens(text)[0] === String(pid));
  assert.ok(line, `a table line for ${pid} in:\n${stdout}`);
  return line;
}

/**
 * The figures (USS ANON FILE PSS RSS SWAP) of a `--bytes` table line: the
 * integers after the PID of a process row, or the integers of a total row.
 */
function figuresOf(line: string, processRow: boolean): number[] {
  const numbers = tokens(line).filter((word) => /^\d+$/.test(word)).map(Number);
  const figures = (processRow ? numbers.slice(1) : numbers).slice(0, FIGURES.length);
  assert.equal(figures.length, FIGURES.length, `six figures in ${line}`);
  return figures;
}

/**
 * Table mode prints nothing on stderr as root; without root, at most the one
 * note that figures come from smaps.
 */
function assertQuietTable(stderr: string): void {
  if (IS_ROOT) assert.equal(stderr, "", "nothing on stderr as root");
  else assert.match(stderr, /^(uss: note: [^\n]*smaps[^\n]*\n)?$/, "at most the smaps note");
}

/** One line on stderr, starting with "uss:", and no trace of a stack. */
function assertOneLineError(stderr: string, what: string): void {
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `${what}: exactly one line on stderr, got:\n${stderr}`);
  assert.match(lines[0], /^uss: /, `${what}: message starts with "uss: "`);
  assert.doesNotMatch(stderr, /^\s+at |Uncaught|Error:|\.ts:\d+/m, `${what}: no stack trace`);
}

function assertSizesIntegers(report: ProcessJson): void {
  for (const key of SIZE_KEYS) {
    assert.ok(Number.isInteger(report[key]), `${key} of ${report.pid} is an integer`);
    assert.ok((report[key] as number) >= 0, `${key} of ${report.pid} is not negative`);
  }
}

Deno.test("several PIDs: one row each and a total row that adds them up", async () => {
  const binary = await buildFixture("layouts");
  await using cow = await startFixture(binary, ["cow", "128"], 2);
  await using single = await startFixture(binary, ["private", "64"], 1);
  const pids = [...cow.processes, ...single.processes].map((process) => process.pid);

  const run = await runUss(["--bytes", ...pids.map(String)]);
  assert.equal(run.code, 0, run.stderr);
  assertQuietTable(run.stderr);
  const header = headerOf(run.stdout);
  const lines = run.stdout.trimEnd().split("\n");
  const rows = pids.map((pid) => {
    const line = lineOf(run.stdout, pid);
    assert.match(line, /\blayouts\b/);
    if (IS_ROOT && header.includes("METHOD")) assert.match(line, /\bkpagecount$/);
    return figuresOf(line, true);
  });
  const totalLine = lines.find((line) => /total \(3\)/.test(line));
  assert.ok(totalLine, `a total row in:\n${run.stdout}`);
  assert.equal(lines.at(-1), totalLine, "the total row comes last");
  const total = figuresOf(totalLine, false);
  // USS ANON FILE PSS RSS SWAP: the total is the sum of the rows, to the byte.
  FIGURES.forEach((name, column) => {
    const sum = rows.reduce((acc, row) => acc + row[column], 0);
    assert.equal(total[column], sum, `total of ${name}`);
  });

  // The same processes in JSON, in the order given.
  const { code, json } = await runUssJson<ProcessJson[]>(pids.map(String));
  assert.equal(code, 0);
  assert.deepEqual(json.map((report) => report.pid), pids);
  for (const [index, report] of json.entries()) {
    assert.equal(report.uss, rows[index][0], `USS of ${report.pid} in table and JSON`);
    assert.equal(report.rss, rows[index][4], `RSS of ${report.pid} in table and JSON`);
  }

  // A PID given twice is measured once; one process: no total row.
  const once = await runUss([String(pids[0]), String(pids[0])]);
  assert.equal(once.code, 0);
  assert.equal(once.stdout.trimEnd().split("\n").length, 2, once.stdout);
});

Deno.test("a missing PID next to a real one: the real one is still measured, exit 1", async () => {
  const binary = await buildFixture("layouts");
  await using fixture = await startFixture(binary, ["private", "16"], 1);
  const [{ pid }] = fixture.processes;
  const [missing] = missingPids();

  const { code, json, stderr } = await runUssJson<ProcessJson[]>([String(pid), String(missing)]);
  assert.equal(code, 1);
  assert.equal(stderr, "");
  assert.equal(json.length, 2);
  assert.equal(json[0].pid, pid);
  assert.equal(json[0].state, "ok");
  assertSizesIntegers(json[0]);
  assert.equal(json[1].pid, missing);
  assert.equal(json[1].state, "no-such-process");
  assert.equal(json[1].error, "no such process");
  for (const key of SIZE_KEYS) assert.equal(json[1][key], null, `${key} of a missing PID`);

  const table = await runUss(["--bytes", String(missing), String(pid)]);
  assert.equal(table.code, 1);
  assertQuietTable(table.stderr);
  assert.match(lineOf(table.stdout, missing), /no such process/);
  headerOf(table.stdout);
  assert.equal(figuresOf(lineOf(table.stdout, pid), true)[0], json[0].uss, "the real row");

  const maps = await runUss(["maps", String(missing)]);
  assert.equal(maps.code, 1);
  // Without root the smaps note may come first.
  const mapsError = IS_ROOT ? maps.stderr : maps.stderr.replace(/^uss: note: .*\n/, "");
  assertOneLineError(mapsError, "uss maps MISSING");
  assert.match(maps.stderr, /no such process/);
});

Deno.test("PID 2 (kthreadd) is reported as a kernel thread", async () => {
  assert.equal(Deno.readTextFileSync("/proc/2/comm").trim(), "kthreadd");
  const { code, json, stderr } = await runUssJson<ProcessJson[]>(["2"]);
  assert.equal(code, 1, "a kernel thread cannot be measured");
  assert.equal(stderr, "");
  assert.equal(json[0].pid, 2);
  assert.equal(json[0].name, "kthreadd");
  assert.equal(json[0].state, "kernel-thread");
  assert.match(json[0].error ?? "", /kernel thread/);
  for (const key of SIZE_KEYS) assert.equal(json[0][key], null, `${key}: not 0, no figure`);

  const table = await runUss(["2"]);
  assert.equal(table.code, 1);
  assert.match(lineOf(table.stdout, 2), /\bkthreadd\b.*\bkernel thread\b/);
});

Deno.test("bad command lines exit 2 with exactly one line on stderr", async () => {
  const cases: string[][] = [
    ["abc"],
    ["0"],
    ["-5"],
    ["-0"],
    ["4194305"],
    ["99999999999999999999999"],
    ["12abc"],
    ["1.5"],
    ["0x10"],
    [""],
    ["--frobnicate"],
    ["--json", "--nope", "1"],
    ["-x", "1"],
    ["--method", "bogus", "1"],
    ["--method"],
    ["maps"],
    ["maps", "1", "2"],
    ["maps", "abc"],
  ];
  for (const args of cases) {
    const run = await runUss(args);
    const what = `uss ${JSON.stringify(args)}`;
    assert.equal(run.code, 2, `${what}: exit 2 (stdout ${run.stdout}, stderr ${run.stderr})`);
    assertOneLineError(run.stderr, what);
    assert.equal(run.stdout, "", `${what}: nothing on stdout`);
  }
  // Out of range and malformed PIDs name the offending argument.
  assert.match((await runUss(["4194305"])).stderr, /4194305/);
  assert.match((await runUss(["-5"])).stderr, /-5/);
  assert.match((await runUss(["--frobnicate"])).stderr, /frobnicate/);
  // The largest PID Linux can hand out (pid_max is at most 2^22) is accepted.
  const largest = await runUssJson<ProcessJson[]>(["4194303"]);
  assert.equal(largest.code, 1);
  assert.equal(largest.json[0].state, "no-such-process");
});

Deno.test("--bytes prints exact integers; the default prints units", async () => {
  const binary = await buildFixture("layouts");
  await using fixture = await startFixture<{ page: number }>(binary, ["private", "300"], 1);
  const [{ pid }] = fixture.processes;
  const { json } = await runUssJson<ProcessJson[]>([String(pid)]);

  const exact = await runUss(["--bytes", String(pid)]);
  assert.equal(exact.code, 0);
  headerOf(exact.stdout);
  const row = figuresOf(lineOf(exact.stdout, pid), true);
  assert.equal(row[0], json[0].uss);
  assert.equal(row[1], json[0].uss_anon);
  assert.equal(row[4], json[0].rss);
  assert.ok(row[0] > 300 * PAGE_SIZE, "USS covers the 300 written pages");

  const human = await runUss([String(pid)]);
  assert.equal(human.code, 0);
  const humanLine = lineOf(human.stdout, pid);
  assert.match(humanLine, /\b\d+(\.\d+)? (KiB|MiB)\b/, `figures in units: ${humanLine}`);
  assert.doesNotMatch(humanLine, new RegExp(`\\b${json[0].uss}\\b`), "USS not in bytes");

  const maps = await runUss(["maps", "--bytes", String(pid)]);
  assert.equal(maps.code, 0);
  const mapsLines = maps.stdout.trimEnd().split("\n");
  for (const line of mapsLines.slice(1)) {
    // ADDRESS PERMS USS ANON FILE PSS RSS SWAP MAPPING (the total row has no address).
    const numbers = line.trim().split(/\s+/).filter((cell) => /^\d+$/.test(cell));
    assert.ok(numbers.length >= 6, `six integer figures in ${line}`);
  }
  assert.match(mapsLines.at(-1)!, new RegExp(`total: layouts \\(${pid}\\)`));
});

Deno.test("JSON: every key present, sizes integer bytes, also for failures", async () => {
  const binary = await buildFixture("layouts");
  await using fixture = await startFixture(binary, ["cow", "64"], 2);
  const pids = fixture.processes.map((process) => process.pid);

  const { code, json } = await runUssJson<ProcessJson[]>([...pids.map(String), "2"]);
  assert.equal(code, 1, "PID 2 cannot be measured");
  assert.equal(json.length, 3);
  for (const report of json) {
    for (const key of PROCESS_KEYS) assert.ok(key in report, `${report.pid} has key ${key}`);
    assert.ok(Array.isArray(report.notes));
  }
  for (const report of json.slice(0, 2)) {
    assert.equal(report.state, "ok");
    assert.equal(report.error, null);
    assert.equal(report.name, "layouts");
    assert.equal(report.uid, Deno.uid());
    if (IS_ROOT) assert.equal(report.method, "kpagecount");
    assertSizesIntegers(report);
    assert.equal(
      report.uss,
      (report.uss_anon as number) + (report.uss_file as number),
      "USS = anon + file",
    );
    assert.ok((report.uss as number) <= (report.pss as number), "USS <= PSS");
    assert.ok((report.pss as number) <= (report.rss as number), "PSS <= RSS");
  }
  assert.equal(json[2].method, null);

  const maps = await runUssJson<ProcessJson & { mappings: Record<string, unknown>[] }>([
    "maps",
    String(pids[0]),
  ]);
  assert.equal(maps.code, 0);
  const { mappings, ...process } = maps.json;
  for (const key of PROCESS_KEYS) assert.ok(key in process, `uss maps has key ${key}`);
  assert.ok(mappings.length > 5, "a C program has a handful of mappings");
  for (const mapping of mappings) {
    for (const key of MAPPING_KEYS) assert.ok(key in mapping, `mapping has key ${key}`);
    for (const key of SIZE_KEYS) assert.ok(Number.isInteger(mapping[key]), `mapping ${key}`);
    assert.match(mapping.start as string, /^[0-9a-f]{8,}$/);
    assert.match(mapping.end as string, /^[0-9a-f]{8,}$/);
    assert.match(mapping.perms as string, /^[r-][w-][x-][ps]$/);
    assert.equal(typeof mapping.deleted, "boolean");
    assert.ok(Number.isInteger(mapping.inode));
  }
});

Deno.test("processes that exit while measured are reported, never a crash", async () => {
  const states = new Map<string, number>();
  for (let round = 0; round < 4; round++) {
    // Short-lived processes dying at staggered times across the measurement
    // (uss starts in ~25 ms and measures for a few ms more, longer on a busy
    // machine); reaped at once, so their PIDs vanish mid-scan. The last few
    // outlive any start-up, so that some are surely measured alive.
    const children = Array.from({ length: 40 }, (_, index) =>
      new Deno.Command("sleep", {
        args: [index >= 36 ? "3" : (0.002 * index + 0.005 * round).toFixed(3)],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn());
    const reaped = Promise.all(children.map((child) => child.status));
    try {
      const pids = children.map((child) => child.pid);
      const { code, json, stderr } = await runUssJson<ProcessJson[]>(pids.map(String));
      assert.ok(code === 0 || code === 1, `exit 0 or 1, got ${code}: ${stderr}`);
      assert.equal(stderr, "");
      assert.deepEqual(json.map((report) => report.pid), pids, "one report per PID, in order");
      for (const report of json) {
        assert.ok(
          ["ok", "exited", "no-such-process", "zombie"].includes(report.state),
          `state of ${report.pid}: ${report.state} (${report.error})`,
        );
        if (report.state === "ok") assertSizesIntegers(report);
        else for (const key of SIZE_KEYS) assert.equal(report[key], null);
        states.set(report.state, (states.get(report.state) ?? 0) + 1);
      }
      assert.equal(code, json.every((report) => report.state === "ok") ? 0 : 1);
    } finally {
      for (const child of children) {
        try {
          child.kill("SIGKILL");
        } catch { /* already exited */ }
      }
      await reaped;
    }
  }
  console.log(`states seen: ${JSON.stringify(Object.fromEntries(states))}`);
  assert.ok((states.get("ok") ?? 0) > 0, "some processes were measured alive");
  assert.ok(states.size > 1, "some processes were gone by the time they were measured");
});

Deno.test({
  name: "table mode as root prints nothing on stderr (given PIDs and all processes)",
  ignore: !IS_ROOT,
  async fn() {
    const binary = await buildFixture("layouts");
    await using fixture = await startFixture(binary, ["private", "16"], 1);
    const [{ pid }] = fixture.processes;
    const given = await runUss([String(pid)]);
    assert.equal(given.code, 0);
    assert.equal(given.stderr, "");
    headerOf(given.stdout);
    lineOf(given.stdout, pid);

    const all = await runUss([]);
    assert.equal(all.code, 0);
    assert.equal(all.stderr, "", "no fallback note, no warnings");
    headerOf(all.stdout);
    lineOf(all.stdout, pid);
    assert.match(all.stdout, /^\s*total\b/m, "a total");
  },
});
