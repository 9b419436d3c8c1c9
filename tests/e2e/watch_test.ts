/**
 * End-to-end: watch mode, `uss --watch SECONDS [--count N]`, on a process that
 * grows between samples (tests/fixtures/grower.c: one private anonymous region
 * of which MIB MiB more are written every MS ms; the rest of the process does
 * not change).
 *
 * Not on a terminal (stdout piped, or `--format json|ndjson`), each sample is
 * one JSON object per line: `{timestamp, sample, ...}` with the view's JSON
 * (arrays under `processes` / `groups`, the object's own keys for `maps` and
 * for a listing), and every row carries `delta: {since_last, since_first}`:
 * null on the first sample, then the change of every size key, which must
 * equal the differences of the rows' own figures in the samples printed (USS
 * exactly, PSS within a byte of rounding) and show the fixture's growth. A
 * process that appears during a watch of a listing has null deltas in its
 * first sample, and `since_first` stays null after.
 *
 * On a terminal (a real one: a detached tmux session with a fixed size) the
 * table is redrawn in place: one header line at the top of the screen, the
 * +LAST and +START columns after USS, the sample number rising; Ctrl-C ends it
 * with exit status 0 and the cursor shown again. When tmux is missing that
 * test is skipped with a message, or fails when USS_TEST_STRICT=1.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  buildFixture,
  type Fixture,
  IS_ROOT,
  REPO_ROOT,
  runCommand,
  runUss,
  skipOrFail,
  startRunningFixture,
} from "../helpers.ts";
import { SIZE_KEYS, type SizeKey } from "../json_schema.ts";
import { literal } from "../env/env_support.ts";

const MIB = 1 << 20;

/** What tests/fixtures/grower.c announces. */
interface GrowerProcess {
  pid: number;
  page: number;
  region: string;
  end: string;
  mib: number;
  ms: number;
  max_mib: number;
}

/** Starts `grower MIB MS`: MIB MiB more of its region every MS ms, running (not stopped). */
async function startGrower(mib = 1, ms = 100): Promise<Fixture<GrowerProcess>> {
  const binary = await buildFixture("grower");
  return await startRunningFixture<GrowerProcess>(binary, [String(mib), String(ms)]);
}

type Figures = Record<SizeKey, number>;

/** A row of a sample: its figures and its delta. */
interface WatchedRow extends Figures {
  delta: { since_last: Figures | null; since_first: Figures | null };
}

/** The NDJSON samples of a watch run: `count` lines, samples 1..count, timestamps rising. */
function samplesOf(stdout: string, count: number): Record<string, unknown>[] {
  const lines = stdout.trimEnd().split("\n");
  assert.equal(lines.length, count, `${count} lines of NDJSON:\n${stdout}`);
  const samples = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  let previous = -Infinity;
  samples.forEach((sample, index) => {
    assert.deepEqual(Object.keys(sample).slice(0, 2), ["timestamp", "sample"]);
    assert.equal(sample.sample, index + 1, "samples are numbered from 1");
    const time = Date.parse(sample.timestamp as string);
    assert.ok(!Number.isNaN(time), `timestamp ${sample.timestamp}`);
    // Samples start SECONDS apart; each timestamp is taken after its measurement.
    assert.ok(time - previous > 200, `timestamps rise by about the interval: ${previous} ${time}`);
    previous = time;
  });
  return samples;
}

/**
 * Checks the deltas of one row followed through the samples (`rows[i]` in
 * sample i + 1): null in the first, then the differences of the row's own
 * figures since the previous and since the first sample.
 */
function assertDeltas(rows: readonly WatchedRow[], what: string): void {
  assert.deepEqual(
    rows[0].delta,
    { since_last: null, since_first: null },
    `${what}: no delta in the first sample`,
  );
  for (let i = 1; i < rows.length; i++) {
    const { since_last: last, since_first: first } = rows[i].delta;
    assert.ok(last && first, `${what}, sample ${i + 1}: deltas ${JSON.stringify(rows[i].delta)}`);
    const pairs = [[last, rows[i - 1], "since_last"], [first, rows[0], "since_first"]] as const;
    for (const [delta, base, name] of pairs) {
      // Every size key (figures may be added to the JSON; all of them have deltas).
      for (const key of SIZE_KEYS) assert.ok(key in delta, `${what}: ${name} has ${key}`);
      for (const [key, change] of Object.entries(delta) as [SizeKey, number | null][]) {
        const now = rows[i][key], then = base[key];
        if (now === null) {
          // Unknown in the row (a group's own figures without root): no change either.
          assert.equal(change, null, `${what}: ${name}.${key} of a figure the row leaves null`);
          continue;
        }
        assert.ok(Number.isInteger(now) && Number.isInteger(then), `${what}: ${key} in the rows`);
        const at = `${what}, sample ${i + 1}: ${name}.${key} ${change} vs ${now} - ${then}`;
        // PSS figures are fractional inside: the rounded figures' difference may be 1 off.
        if (change === null) assert.fail(at);
        if (key.endsWith("pss")) assert.ok(Math.abs(change - (now - then)) <= 1, at);
        else assert.equal(change, now - then, at);
      }
    }
  }
}

/** Asserts the row grew between every two samples, by anonymous memory only (the region). */
function assertGrew(rows: readonly WatchedRow[], what: string, mib: number): void {
  for (let i = 1; i < rows.length; i++) {
    const last = rows[i].delta.since_last!, first = rows[i].delta.since_first!;
    assert.ok(last.uss >= mib * MIB, `${what}, sample ${i + 1}: +${last.uss} since the last`);
    assert.ok(first.uss >= i * mib * MIB, `${what}, sample ${i + 1}: +${first.uss} since start`);
    assert.equal(last.uss_anon, last.uss, `${what}: the growth is anonymous memory`);
    assert.equal(last.uss_file, 0, `${what}: no file memory added`);
    assert.equal(last.rss, last.uss, `${what}: every new page is resident and unique`);
  }
}

Deno.test("--watch 0.5 --count 3 PID, stdout piped: NDJSON samples with deltas", async (t) => {
  await using grower = await startGrower();
  const [{ pid, mib }] = grower.processes;

  await t.step("processes", async () => {
    const run = await runUss(["--watch", "0.5", "--count", "3", String(pid)]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    const samples = samplesOf(run.stdout, 3);
    const rows = samples.map((sample) => {
      assert.deepEqual(Object.keys(sample), ["timestamp", "sample", "processes"]);
      const processes = sample.processes as (WatchedRow & { pid: number; state: string })[];
      assert.equal(processes.length, 1);
      assert.equal(processes[0].pid, pid);
      assert.equal(processes[0].state, "ok");
      return processes[0];
    });
    assertDeltas(rows, `process ${pid}`);
    assertGrew(rows, `process ${pid}`, mib);
    // The requirement spelled out: since_first of sample 3 = uss3 - uss1, since_last = uss3 - uss2.
    assert.equal(rows[2].delta.since_first!.uss, rows[2].uss - rows[0].uss);
    assert.equal(rows[2].delta.since_last!.uss, rows[2].uss - rows[1].uss);
    console.log(`uss of ${pid}: ${rows.map((row) => row.uss).join(" → ")}`);
  });

  await t.step("--format json and --format ndjson watch as NDJSON too", async () => {
    for (const format of [["--json"], ["--format", "ndjson"]]) {
      const run = await runUss([...format, "--watch", "0.3", "--count", "2", String(pid)]);
      assert.equal(run.code, 0, run.stderr);
      const rows = samplesOf(run.stdout, 2).map((sample) => (sample.processes as WatchedRow[])[0]);
      assertDeltas(rows, `${format.join(" ")}: process ${pid}`);
      assertGrew(rows, `${format.join(" ")}: process ${pid}`, mib);
    }
  });

  await t.step("--tree PID: the group under `groups`", async () => {
    const run = await runUss(["--tree", String(pid), "--watch", "0.5", "--count", "2"]);
    assert.equal(run.code, 0, run.stderr);
    const rows = samplesOf(run.stdout, 2).map((sample) => {
      assert.deepEqual(Object.keys(sample), ["timestamp", "sample", "groups"]);
      const groups = sample.groups as (WatchedRow & { group: string; members: number[] })[];
      assert.equal(groups.length, 1);
      assert.deepEqual(groups[0].members, [pid]);
      return groups[0];
    });
    assertDeltas(rows, `tree ${pid}`);
    if (IS_ROOT) assertGrew(rows, `tree ${pid}`, mib);
    else {
      // Without the exact method a group has no USS of its own: RSS grows all the same.
      const grown = rows[1].delta.since_last!.rss;
      assert.ok(grown >= mib * MIB, `tree ${pid}: +${grown} RSS since the last sample`);
    }
  });
});

Deno.test("--watch on a listing: a process that appears later has no delta until it has history", async () => {
  const binary = await buildFixture("grower");
  await using first = await startGrower();
  const [{ pid: old, mib }] = first.processes;
  // Every process started from this fixture binary (its path is unique to this test run).
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "-A",
      `${REPO_ROOT}/main.ts`,
      "--watch",
      "0.5",
      "--count",
      "4",
      "--name",
      literal(binary),
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const nextLine = async () => {
    while (!text.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`uss ended early:\n${text}`);
      text += value;
    }
    const line = text.slice(0, text.indexOf("\n"));
    text = text.slice(line.length + 1);
    return line;
  };
  let second: Fixture<GrowerProcess> | null = null;
  try {
    const output = [await nextLine()];
    // Started after sample 1 was printed: new from sample 2 on.
    second = await startGrower();
    const late = second.processes[0].pid;
    for (let i = 1; i < 4; i++) output.push(await nextLine());
    const status = await child.status;
    assert.equal(
      status.code,
      0,
      new TextDecoder().decode(await new Response(child.stderr).arrayBuffer()),
    );
    const samples = samplesOf(output.join("\n"), 4);
    type Row = WatchedRow & { pid: number };
    const rowsOf = (pid: number) =>
      samples.map((sample) => {
        // A listing: the object's own keys (processes, total, scanned, ...).
        assert.ok("total" in sample && "scanned" in sample, Object.keys(sample).join(" "));
        return (sample.processes as Row[]).find((row) => row.pid === pid);
      });
    const olds = rowsOf(old);
    assert.ok(olds.every((row) => row !== undefined), "the first grower is in every sample");
    assertDeltas(olds as Row[], `process ${old}`);
    // Its anonymous memory grows; its USS_file falls when the second grower
    // starts, as the binary's page cache is then shared.
    for (const row of olds.slice(1)) assert.ok(row!.delta.since_last!.uss_anon >= mib * MIB);

    const lates = rowsOf(late);
    assert.equal(lates[0], undefined, "the late grower is not in sample 1");
    const appears = lates.findIndex((row) => row !== undefined);
    assert.ok(appears === 1 || appears === 2, `the late grower appears in sample ${appears + 1}`);
    const news = lates.slice(appears) as Row[];
    assert.deepEqual(news[0].delta, { since_last: null, since_first: null }, "new: no delta");
    const next = news[1];
    assert.ok(next.delta.since_last, "the sample after: a change since the last sample");
    assert.equal(next.delta.since_last.uss, next.uss - news[0].uss);
    for (const row of news.slice(1)) {
      assert.equal(row.delta.since_first, null, "it was not there at the first sample");
    }
  } finally {
    await second?.kill();
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await lines.cancel().catch(() => {});
    await child.stderr.cancel().catch(() => {});
  }
});

Deno.test("maps --watch 0.5 --count 3 PID: the growing mapping's delta", async () => {
  await using grower = await startGrower();
  const [{ pid, region, end, mib }] = grower.processes;
  const run = await runUss(["maps", "--watch", "0.5", "--count", "3", String(pid)]);
  assert.equal(run.code, 0, run.stderr);
  type MapsSample = WatchedRow & {
    pid: number;
    mappings: (WatchedRow & { start: string; end: string })[];
  };
  const samples = samplesOf(run.stdout, 3) as unknown as MapsSample[];
  const regionRows = samples.map((sample) => {
    assert.equal(sample.pid, pid, "the process's own keys at the top level");
    const row = sample.mappings.find((mapping) => mapping.start === region);
    assert.ok(row, `the region ${region} in sample ${sample.pid}`);
    assert.equal(row.end, end, "the region is one mapping whose bounds do not move");
    return row;
  });
  assert.ok(regionRows[0].uss >= mib * MIB, `the first chunk is written: ${regionRows[0].uss}`);
  assertDeltas(regionRows, `mapping ${region}`);
  assertGrew(regionRows, `mapping ${region}`, mib);

  // Only the region grows: every other mapping's delta is zero, and the
  // process grew by exactly what the region did.
  for (const sample of samples.slice(1)) {
    for (const mapping of sample.mappings) {
      if (mapping.start === region) continue;
      assert.ok(mapping.delta.since_last, `mapping ${mapping.start} was there before`);
      assert.equal(mapping.delta.since_last.uss, 0, `mapping ${mapping.start} does not change`);
    }
  }
  assert.equal(samples[2].uss - samples[0].uss, regionRows[2].uss - regionRows[0].uss);
  console.log(`region ${region}: ${regionRows.map((row) => row.uss).join(" → ")}`);
});

// ---------------------------------------------------------------------------
// On a terminal: tmux

/** Runs tmux on its own server socket; returns its output (never throws on failure). */
function tmux(socket: string, args: string[]) {
  return runCommand(["tmux", "-L", socket, ...args]);
}

/** Runs tmux and returns stdout; fails on a non-zero exit. */
async function tmuxOk(socket: string, args: string[]): Promise<string> {
  const result = await tmux(socket, args);
  assert.equal(result.code, 0, `tmux ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/** True when a tmux binary runs here. */
async function haveTmux(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("tmux", {
      args: ["-V"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return success;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Polls `probe` every 100 ms until it returns a value, or fails after `timeoutMs`. */
async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== null) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

const REDRAW = "\x1b[H\x1b[2J";
const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";

const HEADER =
  /^uss: sample (\d+) at (.+), every 0\.5 s; \+LAST\/\+START: change of USS since the last \/ first sample \(Ctrl-C ends\)$/;

/** The visible screen's lines, the header lines among them, and the sample shown. */
function readScreen(text: string) {
  const lines = text.split("\n");
  const headers = lines.filter((line) => line.startsWith("uss: sample"));
  const match = headers.length > 0 ? HEADER.exec(headers[headers.length - 1]) : null;
  return { lines, headers, sample: match ? Number(match[1]) : 0 };
}

/** Checks a screen drawn by watch mode at sample 2 or later: one header on top, the change columns. */
function assertRedrawn(screen: ReturnType<typeof readScreen>, pid: number, text: string): void {
  assert.equal(screen.headers.length, 1, `exactly one header line (redrawn in place):\n${text}`);
  assert.match(screen.lines[0], HEADER, `the header is the first line of the screen:\n${text}`);
  const columns = screen.lines[1].trim().split(/\s+/);
  const uss = columns.indexOf("USS");
  assert.ok(uss > 0, `a USS column: ${screen.lines[1]}`);
  assert.deepEqual(columns.slice(uss, uss + 3), ["USS", "+LAST", "+START"], screen.lines[1]);
  const row = screen.lines.find((line) => line.trim().split(/\s+/)[0] === String(pid));
  assert.ok(row, `a row for ${pid}:\n${text}`);
  // PID USER NAME USS(2 words) +LAST(2 words) +START(2 words): the grower grows.
  const words = row.trim().split(/\s+/);
  const name = columns.indexOf("NAME");
  const last = words[name + 3], start = words[name + 5];
  assert.match(last, /^\+[0-9.]+$/, `+LAST is a growth: ${row}`);
  assert.match(start, /^\+[0-9.]+$/, `+START is a growth: ${row}`);
}

Deno.test("--watch on a terminal (tmux): redrawn in place, +LAST/+START, Ctrl-C exits 0", async () => {
  if (!(await haveTmux())) {
    return skipOrFail(
      "tmux is not installed (Debian package tmux): the terminal redraw is not checked",
    );
  }
  await using grower = await startGrower();
  const [{ pid }] = grower.processes;
  const socket = `uss-watch-test-${Deno.pid}`;
  const dir = await Deno.makeTempDir({ prefix: "uss-tmux-" });
  const config = `${dir}/tmux.conf`;
  const exitFile = `${dir}/exit`;
  // Dead panes stay (their last screen can be read); no status line.
  await Deno.writeTextFile(config, "set-option -g remain-on-exit on\nset-option -g status off\n");
  let panePid: number | null = null;
  try {
    // The exit status comes from bash, which runs uss in the foreground as a
    // shell in a terminal would (Ctrl-C reaches both; bash waits for uss and
    // goes on when uss handles it). tmux's own #{pane_dead_status} is not used:
    // tmux 3.3a here sometimes leaves a pane's process unreaped for seconds.
    await tmuxOk(socket, [
      "-f",
      config,
      "new-session",
      "-d",
      "-s",
      "watch",
      "-x",
      "160",
      "-y",
      "40",
      "-c",
      REPO_ROOT,
      "bash",
      "-c",
      `"$@"; echo "exit $?" > '${exitFile}'`,
      "uss-watch",
      Deno.execPath(),
      "run",
      "-A",
      "main.ts",
      "--watch",
      "0.5",
      String(pid),
    ]);
    panePid = Number(
      (await tmuxOk(socket, ["display-message", "-p", "-t", "watch", "#{pane_pid}"])).trim(),
    );
    // The pane's raw output too, to see the escape sequences themselves.
    const raw = `${dir}/pane.out`;
    await tmuxOk(socket, ["pipe-pane", "-t", "watch", `cat >> '${raw}'`]);
    const capture = () => tmuxOk(socket, ["capture-pane", "-p", "-t", "watch"]);

    const first = await waitFor("sample 2 on the screen", async () => {
      const text = await capture();
      return readScreen(text).sample >= 2 ? text : null;
    });
    const screen = readScreen(first);
    assertRedrawn(screen, pid, first);
    const cursor = await tmuxOk(socket, ["display-message", "-p", "-t", "watch", "#{cursor_flag}"]);
    assert.equal(cursor.trim(), "0", "the cursor is hidden while watching");

    const second = await waitFor(`a sample after ${screen.sample}`, async () => {
      const text = await capture();
      return readScreen(text).sample > screen.sample ? text : null;
    });
    assertRedrawn(readScreen(second), pid, second);

    await tmuxOk(socket, ["send-keys", "-t", "watch", "C-c"]);
    const status = await waitFor("uss to end after Ctrl-C", async () => {
      const text = await Deno.readTextFile(exitFile).catch(() => "");
      return text.endsWith("\n") ? text.trim() : null;
    }, 10_000);
    assert.equal(status, "exit 0", "uss ends with exit status 0");
    // tmux hides the cursor of a dead pane itself: the raw stream tells what uss wrote last.
    const stream = await waitFor("the cursor shown again after the last redraw", async () => {
      const text = await Deno.readTextFile(raw);
      return text.lastIndexOf(SHOW_CURSOR) > text.lastIndexOf(REDRAW) ? text : null;
    }, 5_000);
    assert.ok(stream.lastIndexOf(SHOW_CURSOR) > stream.lastIndexOf(HIDE_CURSOR), "cursor shown");
    // Every sample clears the screen and starts over with its header.
    const draws = stream.split(REDRAW).slice(1);
    assert.ok(draws.length >= 2, `redraws in the pane's output: ${draws.length}`);
    for (const draw of draws) assert.match(draw, /^uss: sample [0-9]+ at /);
    console.log(
      `tmux: samples ${screen.sample} and ${readScreen(second).sample}, then Ctrl-C: exit 0`,
    );
  } finally {
    // The pane's processes (bash and uss, the process group bash leads) if
    // they still run; once the pane is dead they are gone, and the PID may be
    // someone else's by now.
    const dead = await tmux(socket, ["display-message", "-p", "-t", "watch", "#{pane_dead}"]);
    if (panePid !== null && panePid > 0 && dead.code === 0 && dead.stdout.trim() === "0") {
      try {
        Deno.kill(-panePid, "SIGKILL");
      } catch { /* already gone */ }
    }
    await tmux(socket, ["kill-server"]);
    await Deno.remove(dir, { recursive: true });
  }
});
