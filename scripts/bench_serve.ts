/**
 * The exporter's scrape: how long `uss serve` takes to answer `/metrics` when
 * every scrape measures the whole machine (`--min-interval 0`), with ~800
 * processes running: the forkload workload (scripts/forkload.c, a parent and
 * its forked children sharing 64 MiB copy-on-write), fewer children where
 * pid_max leaves too little room. The exporter runs with its defaults
 * otherwise (`--by name`, `--per-process 10`, 127.0.0.1).
 *
 * Scrapes run one after the other (after one untimed warm-up); prints the
 * median, 90th percentile and largest wall time of a scrape as the client
 * sees it, the median of the exporter's own `uss_scrape_duration_seconds`,
 * how many processes it measured, its VmRSS after the runs, the same
 * measurement from the command line (`uss --by name --json`, for comparison),
 * and the target
 * (a scrape under 1 s) with ✓/✗. Everything started is killed at the end,
 * also on Ctrl-C. Exits 0 whatever the figures, 1 when the exporter cannot
 * run or never answers.
 *
 * Usage: `deno task bench:serve [--children N] [--scrapes N]` (as root: the
 * exact method reads every process's frames).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Column, renderTable } from "../src/report/format.ts";
import {
  type Cleanup,
  compile,
  createCleanup,
  DENO,
  lacksRoot,
  machineLines,
  MAIN,
  mark,
  median,
  mib,
  ms,
  percentile,
  readUntil,
  startWorkload,
  stopWorkload,
  timeOnce,
} from "./bench_lib.ts";

/** The same work from the command line: one measurement grouped by name, in a fresh process. */
const CLI = [DENO, "run", "--quiet", "-A", MAIN, "--by", "name", "--json"];
/** Runs of {@link CLI}, for comparison. */
const CLI_RUNS = 3;

/** The issue's target: a scrape of the whole machine answers within this. */
const TARGET_SCRAPE_MS = 1000;
/** PIDs kept free for the rest of the machine when sizing the workload. */
const PID_MARGIN = 2000;

/** A TCP port free on 127.0.0.1 right now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** How many children fit under pid_max next to what runs now (at most `wanted`). */
function childrenFor(wanted: number): { children: number; pidMax: number; running: number } {
  const pidMax = Number(Deno.readTextFileSync("/proc/sys/kernel/pid_max").trim());
  let running = 0;
  for (const entry of Deno.readDirSync("/proc")) if (/^\d+$/.test(entry.name)) running++;
  const room = Math.max(0, pidMax - running - PID_MARGIN);
  return { children: Math.max(1, Math.min(wanted, room)), pidMax, running };
}

/** The value of the unlabelled sample `name`, or of the one with `labels`, in metrics text. */
function sample(text: string, name: string, labels = ""): number {
  const prefix = `${name}${labels ? `{${labels}}` : ""} `;
  const line = text.split("\n").find((line) => line.startsWith(prefix));
  return line === undefined ? NaN : Number(line.slice(prefix.length));
}

/**
 * Starts the exporter with `--min-interval 0` on a free port and waits for its
 * "uss: serving" line.
 */
async function startExporter(cleanup: Cleanup): Promise<{ child: Deno.ChildProcess; url: string }> {
  const port = freePort();
  const child = cleanup.child(
    new Deno.Command(DENO, {
      args: [
        "run",
        "--quiet",
        "-A",
        MAIN,
        "serve",
        "--listen",
        `127.0.0.1:${port}`,
        "--min-interval",
        "0",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn(),
  );
  // What it says later (its complaints) goes on to this stderr.
  const encoder = new TextEncoder();
  await readUntil(
    child.stderr,
    /uss: serving /,
    60_000,
    "uss serve",
    (text) => Deno.stderr.writeSync(encoder.encode(text)),
  );
  return { child, url: `http://127.0.0.1:${port}/metrics` };
}

/** One scrape: wall milliseconds and the text. */
async function scrape(url: string): Promise<{ ms: number; text: string }> {
  const start = performance.now();
  // A scrape that never answers ends the benchmark (exit 1), never hangs it.
  const response = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  const text = await response.text();
  const elapsed = performance.now() - start;
  if (response.status !== 200) throw new Error(`scrape answered ${response.status}: ${text}`);
  return { ms: elapsed, text };
}

function vmRssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  return match ? Number(match[1]) * 1024 : NaN;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      children: { type: "string", default: "800" },
      scrapes: { type: "string", default: "15" },
    },
  });
  const wanted = Number(values.children);
  const scrapes = Number(values.scrapes);
  if (!(Number.isInteger(wanted) && wanted >= 1) || !(Number.isInteger(scrapes) && scrapes >= 1)) {
    console.error("usage: bench_serve.ts [--children N] [--scrapes N]");
    return 2;
  }
  if (lacksRoot("bench_serve", "the exact method reads every process's frames")) return 1;

  const cleanup = createCleanup();
  try {
    const tmp = cleanup.dir(await Deno.makeTempDir({ prefix: "uss-bench-serve-" }));
    const { children, pidMax, running } = childrenFor(wanted);
    console.log("uss benchmark: the exporter's scrape (uss serve --min-interval 0)");
    for (const line of machineLines()) console.log(line);
    console.log(
      `pid_max: ${pidMax}, ${running} processes before the workload` +
        (children < wanted ? ` (${children} children instead of ${wanted})` : ""),
    );

    console.error(`bench_serve: starting the forkload workload (1 + ${children} processes)`);
    const forkload = await compile("forkload", tmp);
    const workload = await startWorkload(cleanup, [forkload, String(children), "64", "512"]);

    const exporter = await startExporter(cleanup);
    const warm = await scrape(exporter.url);
    const measured = sample(warm.text, "uss_processes", 'state="measured"');
    console.log(
      `\n== forkload: 1 parent + ${children} children sharing 64 MiB copy-on-write; ` +
        `the exporter measured ${measured} processes (warm-up scrape ${ms(warm.ms)} ms)`,
    );

    const walls: number[] = [];
    const durations: number[] = [];
    let last = warm.text;
    for (let i = 0; i < scrapes; i++) {
      if (Deno.stderr.isTerminal()) {
        Deno.stderr.writeSync(new TextEncoder().encode(`\rscrape ${i + 1}/${scrapes}`));
      }
      const { ms: wall, text } = await scrape(exporter.url);
      walls.push(wall);
      durations.push(sample(text, "uss_scrape_duration_seconds") * 1000);
      last = text;
    }
    if (Deno.stderr.isTerminal()) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[K"));
    const measurements = sample(last, "uss_measurements_total");
    const rss = vmRssBytes(exporter.child.pid);
    const cli: number[] = [];
    for (let i = 0; i < CLI_RUNS; i++) {
      const run = await timeOnce(cleanup, CLI);
      if (run.code === 0) cli.push(run.ms);
    }
    exporter.child.kill("SIGTERM");
    const stopped = await exporter.child.status;
    if (stopped.code !== 0) console.log(`note: the exporter exited ${stopped.code} on SIGTERM`);
    await stopWorkload(cleanup, workload);

    const wall = median(walls);
    console.log(`\n${scrapes} scrapes one after the other, ms`);
    console.log(renderTable(
      [
        { header: "scrape", align: "left" },
        { header: "median", align: "right" },
        { header: "p90", align: "right" },
        { header: "max", align: "right" },
      ],
      [
        ["wall time (client)", ms(wall), ms(percentile(walls, 90)), ms(Math.max(...walls))],
        [
          "uss_scrape_duration_seconds",
          ms(median(durations)),
          ms(percentile(durations, 90)),
          ms(Math.max(...durations)),
        ],
        [
          `uss --by name --json (CLI, ${cli.length} runs)`,
          ms(median(cli)),
          ms(percentile(cli, 90)),
          ms(Math.max(...cli)),
        ],
      ],
    ));
    const columns: Column[] = [
      { header: "figure", align: "left" },
      { header: "value", align: "right" },
      { header: "target", align: "left" },
      { header: "", align: "left" },
    ];
    console.log("\ntracked");
    console.log(renderTable(columns, [
      [
        "scrape (median wall time)",
        `${ms(wall)} ms`,
        `< ${TARGET_SCRAPE_MS / 1000} s`,
        mark(wall < TARGET_SCRAPE_MS),
      ],
      ["processes measured", String(measured), "-", ""],
      ["measurements taken", `${measurements} (${scrapes + 1} scrapes)`, "-", ""],
      ["exporter VmRSS after", Number.isFinite(rss) ? mib(rss) : "n/a", "-", ""],
    ]));
    if (measurements !== scrapes + 1) {
      console.log(`note: ${scrapes + 1} scrapes took ${measurements} measurements`);
    }
    return 0;
  } catch (error) {
    console.error(`bench_serve: cannot run: ${error instanceof Error ? error.message : error}`);
    return 1;
  } finally {
    await cleanup.dispose();
  }
}

if (import.meta.main) Deno.exit(await main());
