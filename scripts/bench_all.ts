/**
 * The machine-wide scan: `uss --json` with no PID (every process) against
 * `smem` (the established tool, which parses every process's full smaps in
 * Python), `cat` of every `/proc/PID/smaps_rollup` (the kernel's own
 * page-table walk of every process) and the read floor
 * (scripts/pagemap_floor.c: only the procfs reads uss makes of each process,
 * in C, on one thread and on every core), with one of three workloads running
 * (see shared/docs/page-accounting.md, "Costs"):
 *
 * - forkload: ~150-300 mixed processes, a C parent and its forked children
 *   sharing 64 MiB copy-on-write (scripts/forkload.c): many small processes,
 *   the kpagecount pass has many shared frames to settle;
 * - cow: a Python parent with a 2 GiB array and 32 forked children, each
 *   owning a different 2% of it (scripts/cow_workload.py): ~17 M present
 *   entries, the shape that makes reading pagemaps the cost. Also times
 *   `--jobs 1` and `--by name`, and reports every contender's peak RSS;
 * - scaling: the cow workload with 8, 16 and 32 children, one after the other:
 *   time should grow with the children, uss's peak RSS stay flat.
 *
 * Every workload is killed before the next starts, so each scan sees one.
 * Before timing, uss's answer is checked against smaps_rollup (per process on
 * the cow workload, with `--jobs 1` against the default). Contenders run
 * round-robin in one run; prints medians, the tracked ratios with ✓/✗, and
 * peak RSS. Exits 0 whatever the figures, 1 only when something cannot run.
 *
 * Usage: `deno task bench:all [--shapes forkload,cow,scaling] [--rounds N]
 * [--children N] [--cow-children N] [--cow-mib N] [--cow-rounds N]
 * [--scaling 8,16,32]` (as root). `--rounds` and `--children` are the forkload
 * shape's; the cow and scaling shapes take `--cow-rounds` (fewer: each of
 * their runs takes ~1 s, and setting up a workload ~10-20 s).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Column, renderTable } from "../src/report/format.ts";
import {
  capture,
  type Cleanup,
  compile,
  type Contender,
  createCleanup,
  DENO,
  floorContenders,
  lacksRoot,
  machineLines,
  MAIN,
  mark,
  median,
  medianOf,
  MIB,
  mib,
  ms,
  parseNames,
  peakRssKiB,
  relative,
  REPO_ROOT,
  reportFailures,
  rollup,
  roundRobin,
  RSS_METHOD,
  runCount,
  startWorkload,
  stopWorkload,
  type Timings,
  type Workload,
} from "./bench_lib.ts";

const TARGET_SMEM_OVER_USS = 5;
const TARGET_USS_OVER_CAT = 0.75;
const TARGET_COW_USS_OVER_SMEM = 0.5;
const TARGET_COW_USS_OVER_CAT = 0.75;
const TARGET_COW_PEAK_RSS_MIB = 96;

/** The shapes, in the order they run. */
const SHAPES = ["forkload", "cow", "scaling"] as const;
type ShapeName = typeof SHAPES[number];

const COW_WORKLOAD = `${REPO_ROOT}/scripts/cow_workload.py`;
/** `uss --json`: every process, default `--jobs`. */
const USS_JSON = [DENO, "run", "-A", MAIN, "--json"];
/**
 * cat of every smaps_rollup. cat always fails here (kernel threads answer
 * ESRCH, PID 1 may be EACCES, processes exit between the glob and the read),
 * so its exit code means nothing; `|| true` lets peakRssKiB measure it too.
 */
const CAT_ALL = ["sh", "-c", "cat /proc/[0-9]*/smaps_rollup > /dev/null 2>&1 || true"];
/** Bytes in a page (x86-64; the workload's figures are only labels). */
const PAGE_SIZE = 4096;
/** Two PSS figures of one process agree within this: smaps_rollup truncates to whole kB. */
const PSS_ROUNDING = 1024;
/**
 * The fraction of a process's file-backed PSS (Pss_File) by which its USS and
 * PSS may move unseen: whenever any process on the machine starts or exits,
 * library pages change hands (a workload child's Pss_File moved ±5% over 10 s
 * here with tests running; the parent's Private_* by 60 kB of its ~2.5 MB).
 */
const FILE_DRIFT = 0.1;

/** Parses `8,16,32`: positive integers, ascending, or null. */
function parseCounts(text: string): number[] | null {
  const counts = text.split(",").map(Number);
  if (counts.some((count) => !Number.isInteger(count) || count < 1)) return null;
  return [...new Set(counts)].sort((a, b) => a - b);
}

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
  uss_anon?: number | null;
  pss: number | null;
  rss: number | null;
  method: string | null;
  state: string;
}

/**
 * The processes `uss --json` lists, run with `extra` arguments.
 *
 * @throws {Error} when uss prints no listing.
 */
async function listing(extra: string[] = []): Promise<ProcessJson[]> {
  const result = await capture([...USS_JSON, ...extra]);
  try {
    const parsed = JSON.parse(result.stdout);
    // `{ processes, total, ... }`; a bare array from uss versions before the totals.
    const reports = Array.isArray(parsed) ? parsed : parsed.processes;
    if (!Array.isArray(reports)) throw new Error("no processes array");
    return reports;
  } catch (error) {
    throw new Error(
      `uss --json ${
        extra.join(" ")
      } printed no process listing (exit ${result.code}): ${error}\n${result.stderr}`,
    );
  }
}

/**
 * Sums what `uss --json` (all processes) and smaps_rollup say about the
 * workload's processes, so a wrong answer is not timed unnoticed.
 *
 * @returns how many processes uss listed.
 */
async function crossCheck(workload: number[]): Promise<number> {
  const reports = await listing();
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

/** The "forkload" shape: many mixed processes. Returns false when uss never ran. */
async function runForkload(
  cleanup: Cleanup,
  tmp: string,
  smem: { path: string } | { reason: string },
  floor: string,
  rounds: number,
  children: number,
): Promise<boolean> {
  const sharedMib = 64;
  const writtenKib = 512;
  console.error(`bench_all: starting the forkload workload (1 + ${children} processes)`);
  const forkload = await compile("forkload", tmp);
  const workload = await startWorkload(cleanup, [
    forkload,
    String(children),
    String(sharedMib),
    String(writtenKib),
  ]);

  console.log(
    `\n== forkload: 1 parent + ${children} forked children sharing ${sharedMib} MiB ` +
      `copy-on-write, ${writtenKib} KiB written by each child`,
  );
  const processCount = await crossCheck(workload.pids);
  console.log(`processes on the machine: ${processCount} measured by uss`);

  const contenders: Contender[] = [
    { name: "uss", command: USS_JSON },
    { name: "cat", command: CAT_ALL },
    ...("path" in smem ? [{ name: "smem", command: [smem.path] }] : []),
    ...floorContenders(floor, "all"),
  ];
  const times = await roundRobin(cleanup, contenders, rounds, "forkload");

  const rssRuns = 3;
  const peaks = await peakRss(
    cleanup,
    "forkload",
    contenders.filter((c) => c.name === "uss"),
    rssRuns,
  );
  await stopWorkload(cleanup, workload);

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
      ...floorHeaders(contenders),
      { header: "runs (in this order)", align: "left" },
    ],
    [[
      "all processes",
      ms(uss),
      ms(cat),
      "path" in smem ? ms(smemMs) : "skipped",
      ...floorMedians(contenders, times),
      contenders.map((c) => runCount(times, c.name)).join("/"),
    ]],
  ));
  reportFailures("forkload", times);
  if ("reason" in smem) console.log(`smem skipped: ${smem.reason}`);

  console.log(`\ntracked ratios (peak RSS: median of ${rssRuns} runs, ${RSS_METHOD})`);
  console.log(renderTable(TRACKED_COLUMNS, [
    "path" in smem
      ? tracked(
        "smem / uss",
        `${(smemMs / uss).toFixed(1)}×`,
        `≥ ${TARGET_SMEM_OVER_USS}×`,
        smemMs / uss >= TARGET_SMEM_OVER_USS,
      )
      : ["smem / uss", "n/a", `≥ ${TARGET_SMEM_OVER_USS}×`, "smem skipped"],
    tracked(
      "uss / cat",
      `${(uss / cat).toFixed(2)}×`,
      `≤ ${TARGET_USS_OVER_CAT}×`,
      uss / cat <= TARGET_USS_OVER_CAT,
    ),
    info("uss peak RSS", mibOrNa(peaks.get("uss")!)),
    ...floorRows(contenders, times, cat),
  ]));
  return runCount(times, "uss") > 0;
}

/** The read floor contenders among `contenders`. */
function floors(contenders: Contender[]): Contender[] {
  return contenders.filter((c) => c.name.startsWith("read floor"));
}

/** Headers of the medians table's read floor columns. */
function floorHeaders(contenders: Contender[]): Column[] {
  return floors(contenders).map((c) => ({
    header: c.name === "read floor" ? "read floor, 1 thread" : c.name,
    align: "right",
  }));
}

/** The read floor contenders' medians, in {@link floorHeaders}' order. */
function floorMedians(contenders: Contender[], times: Timings): string[] {
  return floors(contenders).map((c) => ms(medianOf(times, c.name)));
}

/**
 * Informative rows: each read floor against the cat. A target below the
 * floor its reads can use cannot be met on this machine by uss's design.
 */
function floorRows(contenders: Contender[], times: Timings, cat: number): string[][] {
  return floors(contenders).map((c) =>
    info(`${c.name} / cat`, `${(medianOf(times, c.name) / cat).toFixed(2)}×`)
  );
}

const TRACKED_COLUMNS: Column[] = [
  { header: "figure", align: "left" },
  { header: "value", align: "right" },
  { header: "target", align: "left" },
  { header: "", align: "left" },
];

/** A tracked figure against its target; `met` decides the mark. */
function tracked(figure: string, value: string, target: string, met: boolean): string[] {
  return [figure, value, target, mark(met)];
}

/** An informative figure, without target. */
function info(figure: string, value: string): string[] {
  return [figure, value, "-", ""];
}

/** Starts the copy-on-write workload: a `mib` MiB parent and `children` children. */
async function startCow(cleanup: Cleanup, children: number, mib: number): Promise<Workload> {
  console.error(
    `bench_all: starting the copy-on-write workload (${mib} MiB, ${children} children; ~10-20 s)`,
  );
  return await startWorkload(cleanup, ["python3", COW_WORKLOAD, String(children), String(mib)]);
}

/** The smaps_rollup figures the cow cross-check compares, in bytes. */
interface KernelFigures {
  private: number;
  pss: number;
  pssFile: number;
  rss: number;
}

/** smaps_rollup's Private_*, Pss, Pss_File and Rss of each of `pids`. */
function kernelFigures(pids: number[]): Map<number, KernelFigures> {
  return new Map(pids.map((pid) => {
    const kernel = rollup(pid);
    const priv = kernel.Private_Clean + kernel.Private_Dirty + kernel.Private_Hugetlb;
    return [pid, { private: priv, pss: kernel.Pss, pssFile: kernel.Pss_File, rss: kernel.Rss }];
  }));
}

/**
 * How far a process's USS or PSS may move while nobody watches: a fraction
 * ({@link FILE_DRIFT}) of its file-backed PSS, the largest seen.
 */
function fileDrift(...figures: KernelFigures[]): number {
  return FILE_DRIFT * Math.max(...figures.map((k) => k.pssFile));
}

/** How far `value` lies outside the range spanned by `a` and `b` (0 inside it). */
function outside(value: number, a: number, b: number): number {
  return Math.max(0, Math.min(a, b) - value, value - Math.max(a, b));
}

/** How one figure of the workload compared, over its processes. */
interface FigureCheck {
  /** Processes where both listings lie within the kernel's figures around them. */
  exact: number;
  /** Processes off by more than allowed (should be none). */
  failed: number;
  /** Largest distance from the kernel's figures, bytes. */
  largest: number;
  /** Largest distance allowed to a process, bytes. */
  allowed: number;
}

/** What {@link cowCrossCheck} found. */
interface CowCheck {
  processes: number;
  /**
   * Processes whose Private_* or Rss the kernel changed during the check (a
   * file page private to a process is shared while another program maps the
   * same library, and private again when it exits).
   */
  moved: number;
  /** USS against Private_*, allowed {@link fileDrift}. */
  uss: FigureCheck;
  /** RSS against Rss, allowed nothing. */
  rss: FigureCheck;
  /** PSS against Pss, allowed {@link PSS_ROUNDING} and {@link fileDrift}. */
  pss: FigureCheck;
  /**
   * Processes where `--jobs 1` and the default differ: in anonymous USS or
   * RSS at all, in USS or PSS beyond what the kernel's figures allow.
   */
  jobsDiffer: number;
  /** Sums over the workload: uss's figures (default jobs) and the kernel's. */
  sums: {
    uss: number;
    pss: number;
    rss: number;
    private: number;
    kernelPss: number;
    kernelRss: number;
  };
  /** Pages present in the workload's page tables (Σ Rss / page size). */
  presentPages: number;
  /** Processes uss listed (the whole machine). */
  listed: number;
  /** Pages present in every listed process (Σ RSS / page size): the whole scan's work. */
  machinePages: number;
  /** One line per process that failed a check, saying how. */
  details: string[];
}

/** Adds one process's distance from the kernel (`off`, allowed `allowed`) to `check`. */
function tally(check: FigureCheck, off: number, allowed: number): boolean {
  check.exact += Number(off === 0);
  const failed = !(off <= allowed);
  check.failed += Number(failed);
  check.largest = Math.max(check.largest, off);
  check.allowed = Math.max(check.allowed, allowed);
  return failed;
}

/**
 * Checks uss on the copy-on-write workload process by process, for the
 * default `--jobs` and for `--jobs 1`: USS equal to smaps_rollup's Private_*
 * (the workload's processes share nothing but each other's pages, which
 * neither counts as private), RSS equal to Rss, PSS equal to Pss within the
 * kernel's kB truncation; and the two listings equal. smaps_rollup is read
 * before, between and after the two listings, and each listing must lie within
 * what the kernel said just before and just after it. On a busy machine the
 * library pages of the workload change hands unseen, between two reads: USS
 * and PSS may then move by up to {@link fileDrift}; the verdict says how many
 * processes needed it.
 *
 * @throws {Error} when a workload process is missing from a listing.
 */
async function cowCrossCheck(workload: number[]): Promise<CowCheck> {
  const before = kernelFigures(workload);
  const parallel = await listing();
  const between = kernelFigures(workload);
  const serial = await listing(["--jobs", "1"]);
  const after = kernelFigures(workload);
  const byPid = (reports: ProcessJson[]) => new Map(reports.map((report) => [report.pid, report]));
  const [parallelBy, serialBy] = [byPid(parallel), byPid(serial)];
  const sums = { uss: 0, pss: 0, rss: 0, private: 0, kernelPss: 0, kernelRss: 0 };
  const figure = (): FigureCheck => ({ exact: 0, failed: 0, largest: 0, allowed: 0 });
  const check = {
    processes: 0,
    moved: 0,
    uss: figure(),
    rss: figure(),
    pss: figure(),
    jobsDiffer: 0,
    presentPages: 0,
    details: [] as string[],
  };
  for (const pid of workload) {
    const one = parallelBy.get(pid);
    const two = serialBy.get(pid);
    if (one?.uss == null || two?.uss == null) {
      throw new Error(`workload process ${pid} is missing from uss --json (or --jobs 1)`);
    }
    const [k1, k2, k3] = [before, between, after].map((figures) => figures.get(pid)!);
    // Each listing against the kernel's figures just before and just after it.
    const off = (key: "private" | "pss" | "rss", field: "uss" | "pss" | "rss") =>
      Math.max(
        outside(one[field] ?? NaN, k1[key], k2[key]),
        outside(two[field] ?? NaN, k2[key], k3[key]),
      );
    const drift = fileDrift(k1, k2, k3);
    const problems: string[] = [];
    if (tally(check.uss, off("private", "uss"), drift)) {
      problems.push(`USS ${one.uss}/${two.uss}`);
    }
    if (tally(check.rss, off("rss", "rss"), 0)) problems.push(`RSS ${one.rss}/${two.rss}`);
    if (tally(check.pss, Math.max(0, off("pss", "pss") - PSS_ROUNDING), drift)) {
      problems.push(`PSS ${one.pss}/${two.pss}`);
    }
    const still = [k2, k3].every((k) => k.private === k1.private && k.rss === k1.rss);
    check.moved += Number(!still);
    // Anonymous memory and RSS stand still in an idle workload; USS too where
    // the kernel saw no file page change hands.
    const jobsProblem = one.uss_anon !== two.uss_anon || one.rss !== two.rss ||
      !(Math.abs(one.uss - two.uss) <= (still ? 0 : drift)) ||
      !(Math.abs((one.pss ?? NaN) - (two.pss ?? NaN)) <= PSS_ROUNDING + drift);
    if (jobsProblem) {
      problems.push(
        `default vs --jobs 1: USS ${one.uss}/${two.uss}, anon ${one.uss_anon}/${two.uss_anon}, ` +
          `RSS ${one.rss}/${two.rss}, PSS ${one.pss}/${two.pss}`,
      );
    }
    check.jobsDiffer += Number(jobsProblem);
    if (problems.length > 0) {
      check.details.push(
        `PID ${pid}: ${
          problems.join("; ")
        } (kernel before/between/after: Private_* ${k1.private}/` +
          `${k2.private}/${k3.private}, Pss ${k1.pss}/${k2.pss}/${k3.pss}, Rss ${k1.rss}/${k2.rss}/` +
          `${k3.rss})`,
      );
    }
    check.processes++;
    check.presentPages += k2.rss / PAGE_SIZE;
    sums.uss += one.uss;
    sums.pss += one.pss ?? 0;
    sums.rss += one.rss ?? 0;
    sums.private += k2.private;
    sums.kernelPss += k2.pss;
    sums.kernelRss += k2.rss;
  }
  const machinePages = parallel.reduce((sum, report) => sum + (report.rss ?? 0), 0) / PAGE_SIZE;
  return { ...check, sums, listed: parallel.length, machinePages };
}

/**
 * Whether {@link cowCrossCheck} found uss right, on one line; then, if not, a
 * line for each of the first few processes that failed.
 */
function cowVerdict(check: CowCheck): string {
  const ok = check.uss.failed + check.rss.failed + check.pss.failed + check.jobsDiffer === 0;
  const n = check.processes;
  const figure = (name: string, kernel: string, result: FigureCheck, rounding = "") =>
    `${name} = ${kernel}${rounding} in ${result.exact}/${n}` +
    (result.allowed > 0
      ? `, ${n - result.failed}/${n} allowing drift (largest ${
        result.largest.toFixed(0)
      } B, allowed ≤ ${result.allowed.toFixed(0)} B)`
      : "");
  return `${ok ? "agree" : "DISAGREE (the timings below measure a wrong answer)"}: ` +
    [
      figure("USS", "Private_*", check.uss),
      figure("RSS", "Rss", check.rss),
      figure("PSS", "Pss", check.pss, ` ± ${PSS_ROUNDING} B`),
      `--jobs 1 = default in ${n - check.jobsDiffer}/${n} ` +
      `(${check.moved} processes' Private_*/Rss moved during the check)`,
    ].join("; ") +
    check.details.slice(0, 5).map((line) => `\n  ${line}`).join("");
}

/** Prints the cow shape's cross-check: sums over the workload and the per-process verdict. */
function printCowCheck(check: CowCheck): void {
  const { sums } = check;
  console.log(
    `\nworkload cross-check: ${check.processes} processes, ` +
      `${(check.presentPages / 1e6).toFixed(1)} M present pages; ${check.listed} processes ` +
      `listed, ${(check.machinePages / 1e6).toFixed(1)} M present pages in all`,
  );
  console.log(renderTable(
    [
      { header: "figure (sum)", align: "left" },
      { header: "uss --json", align: "right" },
      { header: "smaps_rollup", align: "right" },
      { header: "uss vs kernel", align: "right" },
    ],
    [
      ["USS / Private_*", mib(sums.uss), mib(sums.private), relative(sums.uss, sums.private)],
      ["PSS", mib(sums.pss), mib(sums.kernelPss), relative(sums.pss, sums.kernelPss)],
      ["RSS", mib(sums.rss), mib(sums.kernelRss), relative(sums.rss, sums.kernelRss)],
    ],
  ));
  console.log(cowVerdict(check));
}

/**
 * Median peak RSS (bytes) of `runs` runs of each contender (informative ones:
 * `informativeRuns`), by contender name. A run that fails is left out and
 * said (`label`); a contender that never succeeds gets NaN: the timings
 * already report failures, so this is no reason to stop the benchmark.
 */
async function peakRss(
  cleanup: Cleanup,
  label: string,
  contenders: Contender[],
  runs: number,
  informative: Set<string> = new Set(),
  informativeRuns = 1,
): Promise<Map<string, number>> {
  const peaks = new Map<string, number>();
  for (const contender of contenders) {
    const samples: number[] = [];
    const n = informative.has(contender.name) ? informativeRuns : runs;
    for (let i = 0; i < n; i++) {
      try {
        samples.push(await peakRssKiB(cleanup, contender.command) * 1024);
      } catch (error) {
        const why = error instanceof Error ? error.message.split("\n")[0] : String(error);
        console.log(`${label}: peak RSS of ${contender.name} failed once (${why})`);
      }
    }
    peaks.set(contender.name, median(samples));
  }
  return peaks;
}

/** {@link mib}, or "n/a" for NaN. */
function mibOrNa(bytes: number): string {
  return Number.isFinite(bytes) ? mib(bytes) : "n/a";
}

/** The cow shape: times the scans with the workload running. Returns false when uss never ran. */
async function runCow(
  cleanup: Cleanup,
  smem: { path: string } | { reason: string },
  floor: string,
  rounds: number,
  workload: Workload,
  cowMib: number,
): Promise<boolean> {
  const children = workload.pids.length - 1;
  console.log(
    `\n== cow: 1 Python parent with a ${cowMib} MiB bytearray (every page written) + ` +
      `${children} forked children, each rewriting a different 2% of it`,
  );
  printCowCheck(await cowCrossCheck(workload.pids));

  const contenders: Contender[] = [
    { name: "uss", command: USS_JSON },
    { name: "jobs1", command: [...USS_JSON, "--jobs", "1"] },
    { name: "byname", command: [...USS_JSON, "--by", "name"] },
    ...("path" in smem ? [{ name: "smem", command: [smem.path, "-c", "pid uss pss rss"] }] : []),
    { name: "cat", command: CAT_ALL },
    ...floorContenders(floor, "all"),
  ];
  const labels: Record<string, string> = {
    uss: "uss --json",
    jobs1: "uss --json --jobs 1",
    byname: "uss --by name --json",
    smem: `smem -c "pid uss pss rss"`,
    cat: "cat /proc/[0-9]*/smaps_rollup",
    "read floor": "read floor (uss's procfs reads only), 1 thread",
  };
  const times = await roundRobin(cleanup, contenders, rounds, "cow");
  // Peak RSS barely moves between runs: the others' are informative, one run each.
  const rssRuns = 3;
  const informative = new Set(["smem", "cat", ...floors(contenders).map((c) => c.name)]);
  const peaks = await peakRss(cleanup, "cow", contenders, rssRuns, informative);

  console.log(
    `\nmedians (${rounds} rounds round-robin) and peak RSS (median of ${rssRuns} runs, ` +
      `smem, cat and read floors 1; ${RSS_METHOD})`,
  );
  console.log(renderTable(
    [
      { header: "contender", align: "left" },
      { header: "median ms", align: "right" },
      { header: "peak RSS", align: "right" },
      { header: "runs", align: "right" },
    ],
    contenders.map((c) => [
      labels[c.name] ?? c.name,
      ms(medianOf(times, c.name)),
      mibOrNa(peaks.get(c.name)!),
      String(runCount(times, c.name)),
    ]),
  ));
  reportFailures("cow", times);
  if ("reason" in smem) console.log(`smem skipped: ${smem.reason}`);

  const t = (name: string) => medianOf(times, name);
  const peakMib = (name: string) => peaks.get(name)! / MIB;
  console.log("\ntracked ratios");
  console.log(renderTable(TRACKED_COLUMNS, [
    "path" in smem
      ? tracked(
        "uss / smem",
        `${(t("uss") / t("smem")).toFixed(2)}×`,
        `≤ ${TARGET_COW_USS_OVER_SMEM}×`,
        t("uss") / t("smem") <= TARGET_COW_USS_OVER_SMEM,
      )
      : ["uss / smem", "n/a", `≤ ${TARGET_COW_USS_OVER_SMEM}×`, "smem skipped"],
    tracked(
      "uss / cat",
      `${(t("uss") / t("cat")).toFixed(2)}×`,
      `≤ ${TARGET_COW_USS_OVER_CAT}×`,
      t("uss") / t("cat") <= TARGET_COW_USS_OVER_CAT,
    ),
    tracked(
      "uss --json peak RSS",
      mibOrNa(peaks.get("uss")!),
      `≤ ${TARGET_COW_PEAK_RSS_MIB} MiB`,
      peakMib("uss") <= TARGET_COW_PEAK_RSS_MIB,
    ),
    tracked(
      "uss --by name peak RSS",
      mibOrNa(peaks.get("byname")!),
      `≤ ${TARGET_COW_PEAK_RSS_MIB} MiB`,
      peakMib("byname") <= TARGET_COW_PEAK_RSS_MIB,
    ),
    // What reading processes in parallel gains, and what grouping costs.
    info("uss --jobs 1 / uss", `${(t("jobs1") / t("uss")).toFixed(2)}×`),
    info("uss --by name − uss", `${ms(t("byname") - t("uss"))} ms`),
    ...floorRows(contenders, times, t("cat")),
  ]));
  return runCount(times, "uss") > 0;
}

/** One workload size of the scaling shape. */
interface ScalingPoint {
  children: number;
  presentPages: number;
  /** Present pages of every process on the machine, the workload's included. */
  machinePages: number;
  times: Timings;
  peaks: Map<string, number>;
}

/**
 * The scaling shape: the cow workload at each child count, one at a time,
 * timing `uss --json --jobs 1` and `uss --json`. `reuse`, the cow shape's
 * still-running workload, is measured first if its size is wanted, then killed.
 * Returns false when uss never ran at some size.
 */
async function runScaling(
  cleanup: Cleanup,
  rounds: number,
  counts: number[],
  cowMib: number,
  reuse: Workload | null,
): Promise<boolean> {
  console.log(
    `\n== scaling: the cow workload (${cowMib} MiB parent) with ${counts.join(", ")} children`,
  );
  const contenders: Contender[] = [
    { name: "jobs1", command: [...USS_JSON, "--jobs", "1"] },
    { name: "uss", command: USS_JSON },
  ];
  const reused = reuse && counts.includes(reuse.pids.length - 1) ? reuse.pids.length - 1 : null;
  if (reuse && reused === null) await stopWorkload(cleanup, reuse);
  const order = reused === null ? counts : [reused, ...counts.filter((n) => n !== reused)];
  const rssRuns = 3;
  const points: ScalingPoint[] = [];
  for (const children of order) {
    const workload = children === reused ? reuse! : await startCow(cleanup, children, cowMib);
    const check = await cowCrossCheck(workload.pids);
    console.log(`${children} children: ${cowVerdict(check)}`);
    const times = await roundRobin(cleanup, contenders, rounds, `scaling ${children}`);
    const peaks = await peakRss(cleanup, `scaling ${children}`, contenders, rssRuns);
    points.push({
      children,
      presentPages: check.presentPages,
      machinePages: check.machinePages,
      times,
      peaks,
    });
    await stopWorkload(cleanup, workload);
  }
  points.sort((a, b) => a.children - b.children);

  console.log(
    `\nmedians, ms (${rounds} rounds round-robin) and peak RSS (median of ${rssRuns} runs)`,
  );
  console.log(renderTable(
    [
      { header: "children", align: "right" },
      { header: "present pages", align: "right" },
      // The scan reads every process: others' pages add a constant to the times.
      { header: "in all processes", align: "right" },
      { header: "--jobs 1 ms", align: "right" },
      { header: "--jobs 1 peak RSS", align: "right" },
      { header: "default ms", align: "right" },
      { header: "default peak RSS", align: "right" },
      { header: "runs", align: "left" },
    ],
    points.map((point) => [
      String(point.children),
      `${(point.presentPages / 1e6).toFixed(1)} M`,
      `${(point.machinePages / 1e6).toFixed(1)} M`,
      ms(medianOf(point.times, "jobs1")),
      mibOrNa(point.peaks.get("jobs1")!),
      ms(medianOf(point.times, "uss")),
      mibOrNa(point.peaks.get("uss")!),
      contenders.map((c) => runCount(point.times, c.name)).join("/"),
    ]),
  ));
  for (const point of points) reportFailures(`scaling ${point.children}`, point.times);

  if (points.length >= 2) {
    const [small, large] = [points[0], points.at(-1)!];
    const growth = (name: string) =>
      `×${(medianOf(large.times, name) / medianOf(small.times, name)).toFixed(2)}`;
    const peakGrowth = (name: string) => {
      const diff = large.peaks.get(name)! - small.peaks.get(name)!;
      return `${diff >= 0 ? "+" : ""}${(diff / MIB).toFixed(1)} MiB`;
    };
    console.log(
      `${large.children} vs ${small.children} children (×${
        (large.children / small.children).toFixed(1)
      }, present pages ×${(large.presentPages / small.presentPages).toFixed(2)}, in all ` +
        `processes ×${(large.machinePages / small.machinePages).toFixed(2)}): ` +
        `time ${growth("jobs1")} with --jobs 1, ${growth("uss")} default; ` +
        `peak RSS ${peakGrowth("jobs1")} with --jobs 1, ${peakGrowth("uss")} default`,
    );
  }
  return points.every((point) => contenders.every((c) => runCount(point.times, c.name) > 0));
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      shapes: { type: "string", default: SHAPES.join(",") },
      rounds: { type: "string", default: "9" },
      children: { type: "string", default: "300" },
      "cow-children": { type: "string", default: "32" },
      "cow-mib": { type: "string", default: "2048" },
      "cow-rounds": { type: "string", default: "5" },
      scaling: { type: "string", default: "8,16,32" },
    },
  });
  const shapes = parseNames(values.shapes, SHAPES);
  const rounds = Number(values.rounds);
  const children = Number(values.children);
  const cowChildren = Number(values["cow-children"]);
  const cowMib = Number(values["cow-mib"]);
  const cowRounds = Number(values["cow-rounds"]);
  const counts = parseCounts(values.scaling);
  if (
    !shapes || !counts || !(rounds >= 1) || !(children >= 1) || !(cowChildren >= 1) ||
    !(cowMib >= 1) || !(cowRounds >= 1)
  ) {
    console.error(
      "usage: bench_all.ts [--shapes forkload,cow,scaling] [--rounds N] [--children N]\n" +
        "                    [--cow-children N] [--cow-mib N] [--cow-rounds N] [--scaling 8,16,32]",
    );
    return 2;
  }
  if (lacksRoot("bench_all", "uss's exact method and smem both read every process")) return 1;

  const cleanup = createCleanup();
  try {
    const tmp = cleanup.dir(await Deno.makeTempDir({ prefix: "uss-bench-all-" }));
    const smem = shapes.has("forkload") || shapes.has("cow")
      ? await findSmem()
      : { reason: "not needed" };

    console.log("uss benchmark: every process on the machine");
    for (const line of machineLines()) console.log(line);

    const floor = shapes.has("forkload") || shapes.has("cow")
      ? await compile("pagemap_floor", tmp)
      : "";
    let ok = true;
    if (shapes.has("forkload")) {
      ok &&= await runForkload(cleanup, tmp, smem, floor, rounds, children);
    }
    let running: Workload | null = null;
    if (shapes.has("cow")) {
      running = await startCow(cleanup, cowChildren, cowMib);
      ok &&= await runCow(cleanup, smem, floor, cowRounds, running, cowMib);
    }
    if (shapes.has("scaling")) {
      ok &&= await runScaling(cleanup, cowRounds, counts, cowMib, running);
    } else if (running) {
      await stopWorkload(cleanup, running);
    }

    if (!ok) {
      console.error("bench_all: uss never ran successfully in some shape");
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
