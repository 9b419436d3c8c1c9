/**
 * `deno task bench`: the cost of measuring one process, for the two shapes the
 * project tracks (see shared/docs/page-accounting.md, "Costs"):
 *
 * - dense: a C process with 4 GiB of private anonymous memory, every page written;
 * - sparse: a sleeping Deno process (~17 GiB virtual, ~40 MiB resident).
 *
 * Contenders run round-robin in one run, each as a whole process (start-up
 * included): `uss PID`, `cat /proc/PID/smaps_rollup` (what the kernel itself
 * charges for a page-table walk), a Deno process that does nothing (the floor
 * for any Deno tool), `uss --version` (uss's own start-up: every module loaded,
 * nothing measured), `uss bundled` (uss bundled by `deno bundle` into one
 * module, as `deno compile` would ship it: what loading ~35 modules costs at
 * start-up) and, on the dense shape, the assignment's literal algorithm
 * (scripts/seed_literal.ts). Before timing, uss's answer is checked against
 * smaps_rollup (and the literal algorithm and the bundle), so a fast wrong
 * answer shows.
 * Prints medians and the tracked ratios with ✓/✗, with the bundle's figures as
 * informative lines beside them; exits 0 whatever the figures, 1 only when
 * something cannot run (a bundle that cannot be made is skipped, not fatal).
 *
 * Usage: `deno task bench [--rounds N] [--dense-mib N]` (as root).
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
  MIB,
  mib,
  ms,
  peakRssKiB,
  relative,
  REPO_ROOT,
  reportFailures,
  rollup,
  roundRobin,
  RSS_METHOD,
  runCount,
  startAndReadLine,
  type Timings,
  waitStopped,
} from "./bench_lib.ts";

const SEED = `${REPO_ROOT}/scripts/seed_literal.ts`;

const TARGET_DENSE_USS_OVER_CAT = 1.5;
const TARGET_SEED_OVER_USS = 5;
const TARGET_PEAK_RSS_MIB = 64;
const TARGET_SPARSE_OVER_EMPTY_MS = 10;
/** Two USS figures within this fraction of each other agree. */
const AGREEMENT = 0.01;

/** `deno run -A script arg`. */
function denoRun(script: string, arg: number | string): string[] {
  return [DENO, "run", "-A", script, String(arg)];
}

/** uss bundled into one module by `deno bundle`. */
interface Bundle {
  /** The bundle's path (outside the repository). */
  path: string;
  bytes: number;
}

/**
 * Bundles uss into `dir`/uss.js.
 *
 * @returns the bundle, or why there is none (one line).
 */
async function bundleUss(dir: string): Promise<Bundle | { reason: string }> {
  const path = `${dir}/uss.js`;
  const run = await capture([DENO, "bundle", "--quiet", "main.ts", "-o", path], {
    NO_COLOR: "1",
  });
  if (run.code !== 0) {
    const why = (run.stderr.trim() || run.stdout.trim()).split("\n")[0];
    return { reason: `deno bundle failed (exit ${run.code}): ${why}` };
  }
  try {
    return { path, bytes: Deno.statSync(path).size };
  } catch (error) {
    return { reason: `deno bundle exited 0 but wrote no ${path}: ${error}` };
  }
}

/** How many modules (main.ts and deno.json included) `deno run main.ts` loads; NaN if unknown. */
async function moduleCount(): Promise<number> {
  const run = await capture([DENO, "info", "--json", "main.ts"], { NO_COLOR: "1" });
  try {
    return JSON.parse(run.stdout).modules.length;
  } catch {
    return NaN;
  }
}

/** The `--json` report of `script` (main.ts or the bundle) on `pid`. */
async function ussJson(
  script: string,
  pid: number,
): Promise<Record<string, number | string | null>> {
  const run = await capture([DENO, "run", "-A", script, "--json", String(pid)]);
  try {
    const [report] = JSON.parse(run.stdout);
    if (report.state !== "ok") throw new Error(`state ${report.state}: ${report.error}`);
    return report;
  } catch (error) {
    throw new Error(
      `${script} --json ${pid} failed (exit ${run.code}): ${error}\n${run.stdout}${run.stderr}`,
    );
  }
}

async function seedLiteral(pid: number): Promise<number> {
  const run = await capture(denoRun(SEED, pid));
  const value = Number(run.stdout.trim());
  if (run.code !== 0 || !Number.isFinite(value)) {
    throw new Error(`seed_literal.ts ${pid} failed (exit ${run.code}): ${run.stdout}${run.stderr}`);
  }
  return value;
}

/**
 * Prints uss, smaps_rollup (and the literal algorithm, and the bundle's answer)
 * side by side for one process.
 */
async function crossCheck(
  label: string,
  pid: number,
  withSeed: boolean,
  bundle: Bundle | null,
): Promise<void> {
  const report = await ussJson(MAIN, pid);
  const kernel = rollup(pid);
  const kernelPrivate = kernel.Private_Clean + kernel.Private_Dirty + kernel.Private_Hugetlb;
  const uss = report.uss as number;
  const rows = [
    ["uss --json: uss", String(uss), mib(uss), ""],
    [
      "smaps_rollup: Private_*",
      String(kernelPrivate),
      mib(kernelPrivate),
      relative(uss, kernelPrivate),
    ],
    ["uss --json: pss", String(report.pss), mib(report.pss as number), ""],
    [
      "smaps_rollup: Pss",
      String(kernel.Pss),
      mib(kernel.Pss),
      relative(report.pss as number, kernel.Pss),
    ],
    ["uss --json: rss", String(report.rss), mib(report.rss as number), ""],
    [
      "smaps_rollup: Rss",
      String(kernel.Rss),
      mib(kernel.Rss),
      relative(report.rss as number, kernel.Rss),
    ],
  ];
  let agree = Math.abs(uss - kernelPrivate) <= AGREEMENT * kernelPrivate;
  if (withSeed) {
    const seed = await seedLiteral(pid);
    rows.splice(1, 0, [
      "seed_literal: kpagecount==1",
      String(seed),
      mib(seed),
      relative(uss, seed),
    ]);
    agree &&= Math.abs(uss - seed) <= AGREEMENT * seed;
  }
  if (bundle) {
    const bundled = (await ussJson(bundle.path, pid)).uss as number;
    rows.splice(1, 0, [
      "uss bundled --json: uss",
      String(bundled),
      mib(bundled),
      relative(uss, bundled),
    ]);
    agree &&= Math.abs(uss - bundled) <= AGREEMENT * bundled;
  }
  console.log(`\n${label} (PID ${pid}, method ${report.method}): USS cross-check`);
  const columns: Column[] = [
    { header: "source", align: "left" },
    { header: "bytes", align: "right" },
    { header: "", align: "right" },
    { header: "uss vs it", align: "right" },
  ];
  console.log(renderTable(columns, rows));
  console.log(
    agree
      ? `agree within ${AGREEMENT * 100}%`
      : `DISAGREE by more than ${AGREEMENT * 100}%: the timings below measure a wrong answer`,
  );
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string", default: "15" },
      "dense-mib": { type: "string", default: "4096" },
    },
  });
  const rounds = Number(values.rounds);
  const denseMib = Number(values["dense-mib"]);
  if (!(rounds >= 1) || !(denseMib >= 1)) {
    console.error("usage: bench.ts [--rounds N] [--dense-mib N]");
    return 2;
  }
  if (Deno.uid() !== 0) {
    console.error("bench: needs root (/proc/kpagecount and PFNs in pagemap are root-only)");
    return 1;
  }

  const cleanup = createCleanup();
  try {
    const tmp = cleanup.dir(await Deno.makeTempDir({ prefix: "uss-bench-" }));
    const empty = `${tmp}/empty.ts`;
    const sparseScript = `${tmp}/sparse.ts`;
    await Deno.writeTextFile(empty, "");
    // The longest timer Deno accepts (~24.8 days): the process idles, as a server does.
    await Deno.writeTextFile(
      sparseScript,
      "setTimeout(() => {}, 2 ** 31 - 1);\nconsole.log(Deno.pid);\n",
    );

    const bundled = await bundleUss(tmp);
    const bundle = "path" in bundled ? bundled : null;
    const modules = await moduleCount();

    console.error(`bench: starting the dense process (${denseMib} MiB, every page written)`);
    const dense = await compile("dense", tmp);
    const densePid = Number((await startAndReadLine(cleanup, [dense, String(denseMib)])).line);
    await waitStopped(densePid);

    const sparse = await startAndReadLine(cleanup, [DENO, "run", "-A", sparseScript]);
    const sparsePid = Number(sparse.line);
    // Let the runtime finish starting (lazy compilation, first GC) before measuring.
    await new Promise((resolve) => setTimeout(resolve, 1000));

    console.log("uss benchmark: one process, whole CLI run (Deno start included)");
    for (const line of machineLines()) console.log(line);
    const denseRollup = rollup(densePid);
    const sparseStatus = Deno.readTextFileSync(`/proc/${sparsePid}/status`);
    const vmSize = Number(/^VmSize:\s+(\d+)/m.exec(sparseStatus)?.[1]) * 1024;
    console.log(`dense:   PID ${densePid}, Rss ${mib(denseRollup.Rss)}`);
    console.log(
      `sparse:  PID ${sparsePid} (idle deno), VmSize ${mib(vmSize)}, Rss ${
        mib(rollup(sparsePid).Rss)
      }`,
    );
    const loads = Number.isFinite(modules) ? ` (main.ts loads ${modules})` : "";
    console.log(
      "path" in bundled
        ? `bundle:  deno bundle main.ts: ${(bundled.bytes / 1024).toFixed(1)} KiB, 1 module${loads}`
        : `bundle:  uss bundled skipped: ${bundled.reason}`,
    );

    await crossCheck("dense", densePid, true, bundle);
    await crossCheck("sparse", sparsePid, false, bundle);

    // The empty script lives outside the repo; --config makes it parse the same
    // deno.json that main.ts finds, so the difference is uss's own work.
    const emptyDeno = [DENO, "run", "-A", "--config", `${REPO_ROOT}/deno.json`, empty];
    const seedEvery = Math.max(1, Math.ceil(rounds / 5));
    const shape = (pid: number, seed: boolean): Contender[] => [
      { name: "uss", command: denoRun(MAIN, pid) },
      // The same code as one module (outside the repo, so no deno.json either,
      // as a compiled uss): uss − bundled is what loading ~35 modules costs.
      ...(bundle ? [{ name: "bundled", command: denoRun(bundle.path, pid) }] : []),
      { name: "cat", command: ["cat", `/proc/${pid}/smaps_rollup`] },
      { name: "empty", command: emptyDeno },
      // Loads every module of uss and measures nothing: splits uss − empty into
      // start-up cost and measuring cost.
      { name: "version", command: denoRun(MAIN, "--version") },
      ...(seed ? [{ name: "seed", command: denoRun(SEED, pid), every: seedEvery }] : []),
    ];
    const denseContenders = shape(densePid, true);
    const sparseContenders = shape(sparsePid, false);
    const denseTimes = await roundRobin(cleanup, denseContenders, rounds, "dense");
    const sparseTimes = await roundRobin(cleanup, sparseContenders, rounds, "sparse");

    // Peak RSS in KiB, median of rssRuns runs, by shape and contender.
    const rssRuns = 5;
    const rss = new Map<string, number[]>();
    const measureRss = async (key: string, command: string[]) => {
      const kib = await peakRssKiB(cleanup, command);
      rss.set(key, [...rss.get(key) ?? [], kib]);
    };
    for (let i = 0; i < rssRuns; i++) {
      await measureRss("dense uss", denoRun(MAIN, densePid));
      await measureRss("sparse uss", denoRun(MAIN, sparsePid));
      if (bundle) {
        await measureRss("dense bundled", denoRun(bundle.path, densePid));
        await measureRss("sparse bundled", denoRun(bundle.path, sparsePid));
      }
      await measureRss("empty", emptyDeno);
    }
    const peakBytes = (key: string) => median(rss.get(key) ?? []) * 1024;

    console.log(
      `\nmedians, ms (${rounds} rounds round-robin; seed literal in 1 round of ${seedEvery})`,
    );
    const medianRow = (label: string, timings: Timings, contenders: Contender[]) => {
      const cell = (name: string) =>
        contenders.some((c) => c.name === name) ? ms(medianOf(timings, name)) : "-";
      return [
        label,
        ...["uss", "bundled", "cat", "empty", "version", "seed"].map(cell),
        contenders.map((c) => runCount(timings, c.name)).join("/"),
      ];
    };
    console.log(renderTable(
      [
        { header: "shape", align: "left" },
        { header: "uss", align: "right" },
        { header: "uss bundled", align: "right" },
        { header: "cat smaps_rollup", align: "right" },
        { header: "empty deno", align: "right" },
        { header: "uss --version", align: "right" },
        { header: "seed literal", align: "right" },
        { header: "runs (in this order)", align: "left" },
      ],
      [
        medianRow("dense", denseTimes, denseContenders),
        medianRow("sparse", sparseTimes, sparseContenders),
      ],
    ));
    reportFailures("dense", denseTimes);
    reportFailures("sparse", sparseTimes);

    const d = (name: string) => medianOf(denseTimes, name);
    const s = (name: string) => medianOf(sparseTimes, name);
    const densePeakMib = peakBytes("dense uss") / MIB;

    // Informative rows about the bundle, beside the tracked figure they mirror.
    const ifBundle = (...rows: string[][]) => bundle ? rows : [];
    console.log(`\ntracked ratios (peak RSS: median of ${rssRuns} runs, ${RSS_METHOD})`);
    console.log(renderTable(
      [
        { header: "shape", align: "left" },
        { header: "figure", align: "left" },
        { header: "value", align: "right" },
        { header: "target", align: "left" },
        { header: "", align: "left" },
      ],
      [
        [
          "dense",
          "uss / cat",
          `${(d("uss") / d("cat")).toFixed(2)}×`,
          `≤ ${TARGET_DENSE_USS_OVER_CAT}×`,
          mark(d("uss") / d("cat") <= TARGET_DENSE_USS_OVER_CAT),
        ],
        ...ifBundle(
          ["dense", "uss bundled / cat", `${(d("bundled") / d("cat")).toFixed(2)}×`, "-", ""],
        ),
        [
          "dense",
          "seed_literal / uss",
          `${(d("seed") / d("uss")).toFixed(1)}×`,
          `≥ ${TARGET_SEED_OVER_USS}×`,
          mark(d("seed") / d("uss") >= TARGET_SEED_OVER_USS),
        ],
        [
          "dense",
          "uss peak RSS",
          mib(peakBytes("dense uss")),
          `≤ ${TARGET_PEAK_RSS_MIB} MiB`,
          mark(densePeakMib <= TARGET_PEAK_RSS_MIB),
        ],
        ...ifBundle(
          ["dense", "uss bundled peak RSS", mib(peakBytes("dense bundled")), "-", ""],
        ),
        ["dense", "uss − empty deno", `${ms(d("uss") - d("empty"))} ms`, "-", ""],
        ["dense", "uss − uss --version", `${ms(d("uss") - d("version"))} ms`, "-", ""],
        ...ifBundle(["dense", "uss − uss bundled", `${ms(d("uss") - d("bundled"))} ms`, "-", ""]),
        [
          "sparse",
          "uss − empty deno",
          `${ms(s("uss") - s("empty"))} ms`,
          `≤ ${TARGET_SPARSE_OVER_EMPTY_MS} ms`,
          mark(s("uss") - s("empty") <= TARGET_SPARSE_OVER_EMPTY_MS),
        ],
        ...ifBundle(
          ["sparse", "uss bundled − empty deno", `${ms(s("bundled") - s("empty"))} ms`, "-", ""],
          ["sparse", "uss − uss bundled", `${ms(s("uss") - s("bundled"))} ms`, "-", ""],
        ),
        ["sparse", "uss − uss --version", `${ms(s("uss") - s("version"))} ms`, "-", ""],
        ["sparse", "uss / cat", `${(s("uss") / s("cat")).toFixed(1)}×`, "-", ""],
        ["sparse", "uss peak RSS", mib(peakBytes("sparse uss")), "-", ""],
        ...ifBundle(
          [
            "sparse",
            "uss bundled peak RSS",
            mib(peakBytes("sparse bundled")),
            "-",
            "",
          ],
        ),
        ["-", "empty deno peak RSS", mib(peakBytes("empty")), "-", ""],
      ],
    ));

    if (runCount(denseTimes, "uss") === 0 || runCount(sparseTimes, "uss") === 0) {
      console.error("bench: uss never ran successfully");
      return 1;
    }
    return 0;
  } catch (error) {
    console.error(`bench: cannot run: ${error instanceof Error ? error.message : error}`);
    return 1;
  } finally {
    await cleanup.dispose();
  }
}

if (import.meta.main) Deno.exit(await main());
