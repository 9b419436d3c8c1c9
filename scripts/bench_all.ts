/**
 * The machine-wide scan: `uss --json` with no PID (every process) against
 * `smem` (the established tool, which parses every process's full smaps in
 * Python) and `cat` of every `/proc/PID/smaps_rollup` (the kernel's own
 * page-table walk of every process, the floor for any exact tool). A forked
 * workload of a few hundred processes sharing copy-on-write memory makes the
 * scan realistic: the kpagecount pass then has many shared frames to settle.
 *
 * Contenders run round-robin in one run; prints medians, the tracked ratios
 * with ✓/✗, and uss's peak RSS. Exits 0 whatever the figures, 1 only when
 * something cannot run.
 *
 * Usage: `deno run -A scripts/bench_all.ts [--rounds N] [--children N]` (as root).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Column, renderTable } from "../src/report/format.ts";
import {
  capture,
  compile,
  type Contender,
  createCleanup,
  DENO,
  machineLines,
  MAIN,
  mark,
  median,
  medianOf,
  mib,
  ms,
  peakRssKiB,
  relative,
  reportFailures,
  rollup,
  roundRobin,
  RSS_METHOD,
  runCount,
  startAndReadLine,
} from "./bench_lib.ts";

const TARGET_SMEM_OVER_USS = 5;
const TARGET_USS_OVER_CAT = 2;

async function smemPath(): Promise<string | null> {
  const found = await capture(["sh", "-c", "command -v smem"]);
  return found.code === 0 ? found.stdout.trim() : null;
}

/**
 * Finds smem, installing the Debian package once if it is missing.
 *
 * @returns its path, or why it is unavailable.
 */
async function findSmem(): Promise<{ path: string } | { reason: string }> {
  const present = await smemPath();
  if (present) return { path: present };
  console.error("bench_all: smem is not installed; trying apt-get install -y smem once");
  const install = await capture(["apt-get", "install", "-y", "--no-install-recommends", "smem"]);
  const installed = await smemPath();
  if (installed) return { path: installed };
  const why = (install.stderr.trim() || install.stdout.trim()).split("\n").at(-1);
  return { reason: `apt-get install smem failed (exit ${install.code}): ${why}` };
}

/** smaps_rollup of `pid`, or null when it has exited. */
function rollupIfAlive(pid: number): Record<string, number> | null {
  try {
    return rollup(pid);
  } catch {
    return null;
  }
}

interface ProcessJson {
  pid: number;
  uss: number | null;
  pss: number | null;
  rss: number | null;
  method: string | null;
  state: string;
}

/**
 * Sums what `uss --json` (all processes) and smaps_rollup say about the
 * workload's processes, so a wrong answer is not timed unnoticed.
 */
async function crossCheck(workload: number[]): Promise<number> {
  const result = await capture([DENO, "run", "-A", MAIN, "--json"]);
  let reports: ProcessJson[];
  try {
    const listing = JSON.parse(result.stdout);
    // `{ processes, total, ... }`; a bare array from uss versions before the totals.
    reports = Array.isArray(listing) ? listing : listing.processes;
    if (!Array.isArray(reports)) throw new Error("no processes array");
  } catch (error) {
    throw new Error(
      `uss --json printed no process listing (exit ${result.code}): ${error}\n${result.stderr}`,
    );
  }
  const byPid = new Map(reports.map((report) => [report.pid, report]));
  const sums = { uss: 0, pss: 0, rss: 0, private: 0, kernelPss: 0, kernelRss: 0, count: 0 };
  const methods = new Set<string>();
  let missing = 0;
  for (const pid of workload) {
    const report = byPid.get(pid);
    const kernel = rollupIfAlive(pid);
    if (!report || report.uss === null || !kernel) {
      missing++;
      continue;
    }
    sums.count++;
    sums.uss += report.uss;
    sums.pss += report.pss ?? 0;
    sums.rss += report.rss ?? 0;
    sums.private += kernel.Private_Clean + kernel.Private_Dirty + kernel.Private_Hugetlb;
    sums.kernelPss += kernel.Pss;
    sums.kernelRss += kernel.Rss;
    if (report.method) methods.add(report.method);
  }
  console.log(
    `\nworkload cross-check: ${sums.count} processes in uss --json (method ${
      [...methods].join(", ") || "none"
    })${missing > 0 ? `, ${missing} missing` : ""}; of ${reports.length} processes listed`,
  );
  const columns: Column[] = [
    { header: "figure (sum)", align: "left" },
    { header: "uss --json", align: "right" },
    { header: "smaps_rollup", align: "right" },
    { header: "uss vs kernel", align: "right" },
  ];
  console.log(renderTable(columns, [
    ["USS / Private_*", mib(sums.uss), mib(sums.private), relative(sums.uss, sums.private)],
    ["PSS", mib(sums.pss), mib(sums.kernelPss), relative(sums.pss, sums.kernelPss)],
    ["RSS", mib(sums.rss), mib(sums.kernelRss), relative(sums.rss, sums.kernelRss)],
  ]));
  return reports.length;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string", default: "9" },
      children: { type: "string", default: "300" },
    },
  });
  const rounds = Number(values.rounds);
  const children = Number(values.children);
  if (!(rounds >= 1) || !(children >= 1)) {
    console.error("usage: bench_all.ts [--rounds N] [--children N]");
    return 2;
  }
  if (Deno.uid() !== 0) {
    console.error("bench_all: needs root (uss's exact method and smem both read every process)");
    return 1;
  }

  const cleanup = createCleanup();
  try {
    const tmp = cleanup.dir(await Deno.makeTempDir({ prefix: "uss-bench-all-" }));
    const smem = await findSmem();

    const sharedMib = 64;
    const writtenKib = 512;
    console.error(`bench_all: starting the workload (1 + ${children} processes)`);
    const forkload = await compile("forkload", tmp);
    const started = await startAndReadLine(cleanup, [
      forkload,
      String(children),
      String(sharedMib),
      String(writtenKib),
    ]);
    const workload: number[] = JSON.parse(started.line);
    // Children also die with the parent (PR_SET_PDEATHSIG); this is the backstop.
    for (const pid of workload) cleanup.pid(pid);

    console.log("uss benchmark: every process on the machine");
    for (const line of machineLines()) console.log(line);
    console.log(
      `workload: 1 parent + ${children} forked children sharing ${sharedMib} MiB copy-on-write, ` +
        `${writtenKib} KiB written by each child`,
    );
    const processCount = await crossCheck(workload);
    console.log(`processes on the machine: ${processCount} measured by uss`);

    const contenders: Contender[] = [
      { name: "uss", command: [DENO, "run", "-A", MAIN, "--json"] },
      {
        name: "cat",
        command: ["sh", "-c", "cat /proc/[0-9]*/smaps_rollup > /dev/null 2>&1"],
        // Processes that exit between the glob and the read make cat complain.
        ignoreExitCode: true,
      },
      ...("path" in smem ? [{ name: "smem", command: [smem.path] }] : []),
    ];
    const times = await roundRobin(cleanup, contenders, rounds, "all");

    const rssRuns = 3;
    const rss: number[] = [];
    for (let i = 0; i < rssRuns; i++) {
      rss.push(await peakRssKiB(cleanup, [DENO, "run", "-A", MAIN, "--json"]));
    }

    const uss = medianOf(times, "uss");
    const cat = medianOf(times, "cat");
    const smemMs = medianOf(times, "smem");
    console.log(`\nmedians, ms (${rounds} rounds round-robin)`);
    console.log(renderTable(
      [
        { header: "scan", align: "left" },
        { header: "uss --json", align: "right" },
        { header: "cat smaps_rollup", align: "right" },
        { header: "smem", align: "right" },
        { header: "runs (in this order)", align: "left" },
      ],
      [[
        "all processes",
        ms(uss),
        ms(cat),
        "path" in smem ? ms(smemMs) : "skipped",
        contenders.map((c) => runCount(times, c.name)).join("/"),
      ]],
    ));
    reportFailures("all", times);
    if ("reason" in smem) console.log(`smem skipped: ${smem.reason}`);

    console.log(`\ntracked ratios (peak RSS: median of ${rssRuns} runs, ${RSS_METHOD})`);
    const columns: Column[] = [
      { header: "figure", align: "left" },
      { header: "value", align: "right" },
      { header: "target", align: "left" },
      { header: "", align: "left" },
    ];
    console.log(renderTable(columns, [
      "path" in smem
        ? [
          "smem / uss",
          `${(smemMs / uss).toFixed(1)}×`,
          `≥ ${TARGET_SMEM_OVER_USS}×`,
          mark(smemMs / uss >= TARGET_SMEM_OVER_USS),
        ]
        : ["smem / uss", "n/a", `≥ ${TARGET_SMEM_OVER_USS}×`, "smem skipped"],
      [
        "uss / cat",
        `${(uss / cat).toFixed(2)}×`,
        `≤ ${TARGET_USS_OVER_CAT}×`,
        mark(uss / cat <= TARGET_USS_OVER_CAT),
      ],
      ["uss peak RSS", mib(median(rss) * 1024), "-", ""],
    ]));

    if (runCount(times, "uss") === 0) {
      console.error("bench_all: uss never ran successfully");
      return 1;
    }
    return 0;
  } catch (error) {
    console.error(`bench_all: cannot run: ${error instanceof Error ? error.message : error}`);
    return 1;
  } finally {
    await cleanup.dispose();
  }
}

if (import.meta.main) Deno.exit(await main());
