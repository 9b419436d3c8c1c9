/**
 * `deno task bench`: the cost of measuring one process, for the four shapes
 * the project tracks (see shared/docs/page-accounting.md, "Costs"):
 *
 * - dense: a C process with 4 GiB of private anonymous memory, every page written;
 * - sparse: a sleeping Deno process (~17 GiB virtual, ~40 MiB resident);
 * - many VMAs: a C process whose 65,000 × 2 written pages are split into 65,000
 *   VMAs by alternating protections (scripts/manyvmas.c): per-mapping costs;
 * - reserved: the same beside 16 GiB of address space reserved and never
 *   touched, as a JVM reserves its heap (sparse, yet read through pagemap).
 *
 * Contenders run round-robin in one run, each as a whole process (start-up
 * included): `uss PID`, `cat /proc/PID/smaps_rollup` (what the kernel itself
 * charges for a page-table walk), the read floor (scripts/pagemap_floor.c: only
 * the procfs reads uss makes of the process, in C), a Deno process that
 * does nothing (the floor for any Deno tool), `uss --version` (uss's own start-up: every module loaded,
 * nothing measured), `uss bundled` (uss bundled by `deno bundle` into a few
 * chunks, the exporter, report and watch loaded on demand: what loading uss's
 * ~50 modules costs at start-up) and, on the dense shape, the assignment's literal algorithm
 * (scripts/seed_literal.ts). The many-VMAs shapes time `uss PID`, `uss maps PID`,
 * cat, the read floor and the empty Deno only; they need vm.max_map_count above their VMA count,
 * which the script raises for the run when it is lower (cleanup restores it). Before
 * timing, uss's answer is checked against smaps_rollup (and the literal
 * algorithm, the bundle and `uss maps`), so a fast wrong answer shows.
 * Prints medians and the tracked ratios with ✓/✗, with the bundle's figures as
 * informative lines beside them; exits 0 whatever the figures, 1 only when
 * something cannot run (a bundle that cannot be made is skipped, not fatal).
 *
 * Usage: `deno task bench [--rounds N] [--shapes dense,sparse,manyvmas,reserved]
 * [--dense-mib N] [--vmas N]` (as root).
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
  startAndReadLine,
  type Timings,
  waitStopped,
} from "./bench_lib.ts";

const SEED = `${REPO_ROOT}/scripts/seed_literal.ts`;

const TARGET_DENSE_USS_OVER_CAT = 1.3;
const TARGET_SEED_OVER_USS = 5;
/** For `uss PID` on the dense and many-VMAs shapes, and `uss maps PID` on many VMAs. */
const TARGET_PEAK_RSS_MIB = 64;
const TARGET_SPARSE_OVER_EMPTY_MS = 10;
const TARGET_MANYVMAS_USS_OVER_CAT = 2;
const TARGET_MANYVMAS_MAPS_OVER_CAT = 3;
/**
 * Mappings a small C process has besides the split region (binary, ld.so, libc,
 * heap, stack, vdso, vvar: ~25 here), with room to spare.
 */
const OTHER_VMAS = 64;
/** Two USS figures within this fraction of each other agree. */
const AGREEMENT = 0.01;

/** The shapes, in the order they run and are reported. */
const SHAPES = ["dense", "sparse", "manyvmas", "reserved"] as const;
/** Address space the "reserved" shape reserves beside its VMAs (GiB). */
const RESERVED_GIB = 16;
type ShapeName = typeof SHAPES[number];

/** `deno run -A script args...`. */
function denoRun(script: string, ...args: (number | string)[]): string[] {
  return [DENO, "run", "-A", script, ...args.map(String)];
}

/** uss bundled by `deno bundle` as the `bundle` task does (split: exporter, report and watch apart). */
interface Bundle {
  /** The bundle's entry point (outside the repository). */
  path: string;
  /** Bytes of all its files (the chunks loaded on demand included). */
  bytes: number;
  /** Its files. */
  files: number;
}

/**
 * Bundles uss into `dir`/bundle/main.js.
 *
 * @returns the bundle, or why there is none (one line).
 */
async function bundleUss(dir: string): Promise<Bundle | { reason: string }> {
  const out = `${dir}/bundle`;
  const path = `${out}/main.js`;
  const run = await capture(
    [DENO, "bundle", "--quiet", "--code-splitting", "--outdir", out, "main.ts"],
    { NO_COLOR: "1" },
  );
  if (run.code !== 0) {
    const why = (run.stderr.trim() || run.stdout.trim()).split("\n")[0];
    return { reason: `deno bundle failed (exit ${run.code}): ${why}` };
  }
  try {
    Deno.statSync(path);
    let bytes = 0;
    let files = 0;
    for (const entry of Deno.readDirSync(out)) {
      bytes += Deno.statSync(`${out}/${entry.name}`).size;
      files++;
    }
    return { path, bytes, files };
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
 * The `uss maps --json` report of `pid`: its USS and the sum of its mappings'.
 *
 * @throws {Error} when uss fails or prints something else.
 */
async function ussMapsJson(
  pid: number,
): Promise<{ uss: number; mappingsUss: number; mappings: number }> {
  const run = await capture([DENO, "run", "-A", MAIN, "maps", "--json", String(pid)]);
  try {
    const report = JSON.parse(run.stdout);
    if (report.state !== "ok") throw new Error(`state ${report.state}: ${report.error}`);
    const mappings: { uss: number }[] = report.mappings;
    return {
      uss: report.uss,
      mappingsUss: mappings.reduce((sum, mapping) => sum + mapping.uss, 0),
      mappings: mappings.length,
    };
  } catch (error) {
    throw new Error(
      `uss maps --json ${pid} failed (exit ${run.code}): ${error}\n${run.stderr}`,
    );
  }
}

/** What {@link crossCheck} compares uss with besides smaps_rollup. */
interface CheckAlso {
  /** The literal algorithm (slow: dense only). */
  seed?: boolean;
  /** The bundled uss. */
  bundle?: Bundle | null;
  /** `uss maps --json`: its total and the sum of its mappings. */
  maps?: boolean;
}

/**
 * Prints uss, smaps_rollup (and the literal algorithm, the bundle's answer,
 * `uss maps`) side by side for one process.
 */
async function crossCheck(label: string, pid: number, also: CheckAlso = {}): Promise<void> {
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
  if (also.seed) {
    const seed = await seedLiteral(pid);
    rows.splice(1, 0, [
      "seed_literal: kpagecount==1",
      String(seed),
      mib(seed),
      relative(uss, seed),
    ]);
    agree &&= Math.abs(uss - seed) <= AGREEMENT * seed;
  }
  if (also.bundle) {
    const bundled = (await ussJson(also.bundle.path, pid)).uss as number;
    rows.splice(1, 0, [
      "uss bundled --json: uss",
      String(bundled),
      mib(bundled),
      relative(uss, bundled),
    ]);
    agree &&= Math.abs(uss - bundled) <= AGREEMENT * bundled;
  }
  if (also.maps) {
    // The text view times the same walk; its JSON shows the walk's figures. A
    // separate run: compared with uss --json like the others, while its
    // mappings must add up to its own total exactly.
    const maps = await ussMapsJson(pid);
    rows.splice(
      1,
      0,
      ["uss maps --json: uss", String(maps.uss), mib(maps.uss), relative(maps.uss, uss)],
      [
        `uss maps --json: Σ ${maps.mappings} mappings`,
        String(maps.mappingsUss),
        mib(maps.mappingsUss),
        relative(maps.mappingsUss, uss),
      ],
    );
    agree &&= Math.abs(maps.uss - uss) <= AGREEMENT * uss && maps.mappingsUss === maps.uss;
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
      ? `agree within ${AGREEMENT * 100}%${
        also.maps ? " (uss maps: its mappings add up to its total exactly)" : ""
      }`
      : `DISAGREE by more than ${AGREEMENT * 100}%: the timings below measure a wrong answer`,
  );
}

/**
 * Makes vm.max_map_count admit `needed` mappings in one process: raises it for
 * the run when it is lower (cleanup puts the old value back).
 *
 * @returns a line saying what was done.
 */
function ensureMaxMapCount(cleanup: Cleanup, needed: number): string {
  const path = "/proc/sys/vm/max_map_count";
  const current = Number(Deno.readTextFileSync(path).trim());
  if (current >= needed) return `vm.max_map_count ${current} ≥ ${needed} needed: unchanged`;
  cleanup.restore(() => Deno.writeTextFileSync(path, `${current}\n`));
  Deno.writeTextFileSync(path, `${needed}\n`);
  return `vm.max_map_count raised from ${current} to ${needed} for this run (restored at exit)`;
}

/** How many VMAs `pid` has (lines of /proc/PID/maps). */
function vmaCount(pid: number): number {
  return Deno.readTextFileSync(`/proc/${pid}/maps`).split("\n").filter((line) => line).length;
}

/** A shape's process, what runs against it, and its timings once taken. */
interface Shape {
  name: ShapeName;
  pid: number;
  contenders: Contender[];
  timings?: Timings;
}

/** The medians table's columns: contender name and header, in order. */
const MEDIAN_COLUMNS: [string, string][] = [
  ["uss", "uss"],
  ["maps", "uss maps"],
  ["bundled", "uss bundled"],
  ["cat", "cat smaps_rollup"],
  ["read floor", "read floor"],
  ["empty", "empty deno"],
  ["version", "uss --version"],
  ["seed", "seed literal"],
];

/** Prints the medians of every shape, one row each, with a column per contender that ran. */
function printMedians(shapes: Shape[], rounds: number, seedEvery: number): void {
  const seedNote = shapes.some((shape) => shape.name === "dense")
    ? `; seed literal in 1 round of ${seedEvery}`
    : "";
  console.log(`\nmedians, ms (${rounds} rounds round-robin${seedNote})`);
  const present = MEDIAN_COLUMNS.filter(([name]) =>
    shapes.some((shape) => shape.contenders.some((c) => c.name === name))
  );
  console.log(renderTable(
    [
      { header: "shape", align: "left" },
      ...present.map(([, header]): Column => ({ header, align: "right" })),
      { header: "runs (in this order)", align: "left" },
    ],
    shapes.map((shape) => [
      shape.name,
      ...present.map(([name]) =>
        shape.contenders.some((c) => c.name === name) ? ms(medianOf(shape.timings!, name)) : "-"
      ),
      shape.contenders.map((c) => runCount(shape.timings!, c.name)).join("/"),
    ]),
  ));
  for (const shape of shapes) reportFailures(shape.name, shape.timings!);
}

/** A tracked figure against its target; `met` decides the mark. */
function tracked(
  shape: string,
  figure: string,
  value: string,
  target: string,
  met: boolean,
): string[] {
  return [shape, figure, value, target, mark(met)];
}

/** An informative figure, without target. */
function info(shape: string, figure: string, value: string): string[] {
  return [shape, figure, value, "-", ""];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string", default: "15" },
      shapes: { type: "string", default: SHAPES.join(",") },
      "dense-mib": { type: "string", default: "4096" },
      vmas: { type: "string", default: "65000" },
    },
  });
  const rounds = Number(values.rounds);
  const denseMib = Number(values["dense-mib"]);
  const vmas = Number(values.vmas);
  const selected = parseNames(values.shapes, SHAPES);
  if (!(rounds >= 1) || !(denseMib >= 1) || !(vmas >= 1) || !selected) {
    console.error(
      "usage: bench.ts [--rounds N] [--shapes dense,sparse,manyvmas,reserved] [--dense-mib N] " +
        "[--vmas N]",
    );
    return 2;
  }
  if (lacksRoot("bench", "/proc/kpagecount and PFNs in pagemap are root-only")) return 1;

  const cleanup = createCleanup();
  try {
    const tmp = cleanup.dir(await Deno.makeTempDir({ prefix: "uss-bench-" }));
    const floor = await compile("pagemap_floor", tmp);
    const empty = `${tmp}/empty.ts`;
    await Deno.writeTextFile(empty, "");

    // Only the dense and sparse shapes time the bundle (making it takes seconds).
    const bundled = selected.has("dense") || selected.has("sparse") ? await bundleUss(tmp) : null;
    const bundle = bundled && "path" in bundled ? bundled : null;
    const modules = bundled ? await moduleCount() : NaN;

    let densePid = 0;
    if (selected.has("dense")) {
      console.error(`bench: starting the dense process (${denseMib} MiB, every page written)`);
      const dense = await compile("dense", tmp);
      densePid = Number((await startAndReadLine(cleanup, [dense, String(denseMib)])).line);
      await waitStopped(densePid);
    }

    let manyPid = 0;
    let reservedPid = 0;
    let mapCountLine = "";
    if (selected.has("manyvmas") || selected.has("reserved")) {
      mapCountLine = ensureMaxMapCount(cleanup, vmas + OTHER_VMAS);
      console.error(`bench: ${mapCountLine}`);
      const manyvmas = await compile("manyvmas", tmp);
      const start = async (reservedGib: number) => {
        console.error(
          `bench: starting a many-VMAs process (${vmas} VMAs of 2 written pages, ` +
            `${reservedGib} GiB reserved)`,
        );
        const command = [manyvmas, String(vmas), String(reservedGib)];
        return Number((await startAndReadLine(cleanup, command)).line);
      };
      if (selected.has("manyvmas")) manyPid = await start(0);
      if (selected.has("reserved")) reservedPid = await start(RESERVED_GIB);
    }

    let sparsePid = 0;
    if (selected.has("sparse")) {
      const sparseScript = `${tmp}/sparse.ts`;
      // The longest timer Deno accepts (~24.8 days): the process idles, as a server does.
      await Deno.writeTextFile(
        sparseScript,
        "setTimeout(() => {}, 2 ** 31 - 1);\nconsole.log(Deno.pid);\n",
      );
      sparsePid = Number((await startAndReadLine(cleanup, [DENO, "run", "-A", sparseScript])).line);
      // Let the runtime finish starting (lazy compilation, first GC) before measuring.
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }

    console.log("uss benchmark: one process, whole CLI run (Deno start included)");
    for (const line of machineLines()) console.log(line);
    if (densePid) console.log(`dense:   PID ${densePid}, Rss ${mib(rollup(densePid).Rss)}`);
    if (sparsePid) {
      const sparseStatus = Deno.readTextFileSync(`/proc/${sparsePid}/status`);
      const vmSize = Number(/^VmSize:\s+(\d+)/m.exec(sparseStatus)?.[1]) * 1024;
      console.log(
        `sparse:  PID ${sparsePid} (idle deno), VmSize ${mib(vmSize)}, Rss ${
          mib(rollup(sparsePid).Rss)
        }`,
      );
    }
    for (const [name, pid] of [["manyvmas", manyPid], ["reserved", reservedPid]] as const) {
      if (!pid) continue;
      const count = vmaCount(pid);
      const reserved = name === "reserved" ? `, ${RESERVED_GIB} GiB reserved` : "";
      console.log(
        `${name}: PID ${pid}, ${count} VMAs (${vmas} in the split region${reserved}), Rss ${
          mib(rollup(pid).Rss)
        }; ${mapCountLine}`,
      );
      if (count < vmas) console.log(`${name}: fewer VMAs than asked for: the kernel merged some`);
    }
    if (bundled) {
      const loads = Number.isFinite(modules) ? ` (main.ts loads ${modules})` : "";
      console.log(
        "path" in bundled
          ? `bundle:  deno bundle main.ts: ${
            (bundled.bytes / 1024).toFixed(1)
          } KiB in ${bundled.files} files${loads}`
          : `bundle:  uss bundled skipped: ${bundled.reason}`,
      );
    }

    if (densePid) await crossCheck("dense", densePid, { seed: true, bundle });
    if (sparsePid) await crossCheck("sparse", sparsePid, { bundle });
    if (manyPid) await crossCheck("manyvmas", manyPid, { maps: true });
    if (reservedPid) await crossCheck("reserved", reservedPid, { maps: true });

    // The empty script lives outside the repo; --config makes it parse the same
    // deno.json that main.ts finds, so the difference is uss's own work.
    const emptyDeno = [DENO, "run", "-A", "--config", `${REPO_ROOT}/deno.json`, empty];
    const seedEvery = Math.max(1, Math.ceil(rounds / 5));
    const oneProcess = (pid: number, dense: boolean): Contender[] => [
      { name: "uss", command: denoRun(MAIN, pid) },
      // The same code in a few chunks (outside the repo, so no deno.json either,
      // as a compiled uss): uss − bundled is what loading uss's modules costs.
      ...(bundle ? [{ name: "bundled", command: denoRun(bundle.path, pid) }] : []),
      { name: "cat", command: ["cat", `/proc/${pid}/smaps_rollup`] },
      ...floorContenders(floor, [pid]),
      { name: "empty", command: emptyDeno },
      // Loads every module of uss and measures nothing: splits uss − empty into
      // start-up cost and measuring cost.
      { name: "version", command: denoRun(MAIN, "--version") },
      ...(dense ? [{ name: "seed", command: denoRun(SEED, pid), every: seedEvery }] : []),
    ];
    const shapes: Shape[] = [];
    if (densePid) {
      shapes.push({ name: "dense", pid: densePid, contenders: oneProcess(densePid, true) });
    }
    if (sparsePid) {
      shapes.push({ name: "sparse", pid: sparsePid, contenders: oneProcess(sparsePid, false) });
    }
    for (const [name, pid] of [["manyvmas", manyPid], ["reserved", reservedPid]] as const) {
      if (!pid) continue;
      shapes.push({
        name,
        pid,
        contenders: [
          { name: "uss", command: denoRun(MAIN, pid) },
          // One row per mapping: what 65,000 VMAs cost when each is reported.
          { name: "maps", command: denoRun(MAIN, "maps", pid) },
          { name: "cat", command: ["cat", `/proc/${pid}/smaps_rollup`] },
          ...floorContenders(floor, [pid]),
          { name: "empty", command: emptyDeno },
        ],
      });
    }
    for (const shape of shapes) {
      shape.timings = await roundRobin(cleanup, shape.contenders, rounds, shape.name);
    }

    // Peak RSS in KiB, median of rssRuns runs, by shape and contender.
    const rssRuns = 5;
    const rss = new Map<string, number[]>();
    const measureRss = async (key: string, command: string[]) => {
      const kib = await peakRssKiB(cleanup, command);
      rss.set(key, [...rss.get(key) ?? [], kib]);
    };
    for (let i = 0; i < rssRuns; i++) {
      for (const shape of shapes) {
        await measureRss(`${shape.name} uss`, denoRun(MAIN, shape.pid));
        if (shape.name === "manyvmas" || shape.name === "reserved") {
          await measureRss(`${shape.name} maps`, denoRun(MAIN, "maps", shape.pid));
        } else if (bundle) {
          await measureRss(`${shape.name} bundled`, denoRun(bundle.path, shape.pid));
        }
      }
      await measureRss("empty", emptyDeno);
    }
    const peakBytes = (key: string) => median(rss.get(key) ?? []) * 1024;

    printMedians(shapes, rounds, seedEvery);

    console.log(`\ntracked ratios (peak RSS: median of ${rssRuns} runs, ${RSS_METHOD})`);
    const rows: string[][] = [];
    for (const shape of shapes) {
      const m = (name: string) => medianOf(shape.timings!, name);
      rows.push(
        ...(shape.name === "dense"
          ? denseRows(m, peakBytes, bundle !== null)
          : shape.name === "sparse"
          ? sparseRows(m, peakBytes, bundle !== null)
          : manyVmasRows(shape.name, m, peakBytes)),
      );
    }
    rows.push(info("-", "empty deno peak RSS", mib(peakBytes("empty"))));
    console.log(renderTable(
      [
        { header: "shape", align: "left" },
        { header: "figure", align: "left" },
        { header: "value", align: "right" },
        { header: "target", align: "left" },
        { header: "", align: "left" },
      ],
      rows,
    ));

    const neverRan = shapes.flatMap((shape) =>
      shape.contenders
        .filter((c) => ["uss", "maps"].includes(c.name) && runCount(shape.timings!, c.name) === 0)
        .map((c) => `${shape.name} ${c.name}`)
    );
    if (neverRan.length > 0) {
      console.error(`bench: never ran successfully: ${neverRan.join(", ")}`);
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

/** A shape's median time (ms) of contender `name`. */
type MedianOf = (name: string) => number;
/** The median peak RSS (bytes) recorded under `key` ("shape contender"). */
type PeakOf = (key: string) => number;

/**
 * The floor against the cat: a ratio target below it cannot be met on this
 * machine by any program that reads what uss reads, Deno's start-up aside.
 */
function floorRow(shape: string, m: MedianOf): string[] {
  return info(shape, "read floor / cat", `${(m("read floor") / m("cat")).toFixed(2)}×`);
}

/** The dense shape's rows of the tracked table (bundle rows are informative). */
function denseRows(d: MedianOf, peakBytes: PeakOf, bundle: boolean): string[][] {
  const ifBundle = (...rows: string[][]) => bundle ? rows : [];
  return [
    tracked(
      "dense",
      "uss / cat",
      `${(d("uss") / d("cat")).toFixed(2)}×`,
      `≤ ${TARGET_DENSE_USS_OVER_CAT}×`,
      d("uss") / d("cat") <= TARGET_DENSE_USS_OVER_CAT,
    ),
    ...ifBundle(info("dense", "uss bundled / cat", `${(d("bundled") / d("cat")).toFixed(2)}×`)),
    tracked(
      "dense",
      "seed_literal / uss",
      `${(d("seed") / d("uss")).toFixed(1)}×`,
      `≥ ${TARGET_SEED_OVER_USS}×`,
      d("seed") / d("uss") >= TARGET_SEED_OVER_USS,
    ),
    tracked(
      "dense",
      "uss peak RSS",
      mib(peakBytes("dense uss")),
      `≤ ${TARGET_PEAK_RSS_MIB} MiB`,
      peakBytes("dense uss") / MIB <= TARGET_PEAK_RSS_MIB,
    ),
    ...ifBundle(info("dense", "uss bundled peak RSS", mib(peakBytes("dense bundled")))),
    floorRow("dense", d),
    info("dense", "uss − empty deno", `${ms(d("uss") - d("empty"))} ms`),
    info("dense", "uss − uss --version", `${ms(d("uss") - d("version"))} ms`),
    ...ifBundle(info("dense", "uss − uss bundled", `${ms(d("uss") - d("bundled"))} ms`)),
  ];
}

/** The sparse shape's rows of the tracked table. */
function sparseRows(s: MedianOf, peakBytes: PeakOf, bundle: boolean): string[][] {
  const ifBundle = (...rows: string[][]) => bundle ? rows : [];
  return [
    tracked(
      "sparse",
      "uss − empty deno",
      `${ms(s("uss") - s("empty"))} ms`,
      `≤ ${TARGET_SPARSE_OVER_EMPTY_MS} ms`,
      s("uss") - s("empty") <= TARGET_SPARSE_OVER_EMPTY_MS,
    ),
    ...ifBundle(
      info("sparse", "uss bundled − empty deno", `${ms(s("bundled") - s("empty"))} ms`),
      info("sparse", "uss − uss bundled", `${ms(s("uss") - s("bundled"))} ms`),
    ),
    info("sparse", "uss − uss --version", `${ms(s("uss") - s("version"))} ms`),
    info("sparse", "uss / cat", `${(s("uss") / s("cat")).toFixed(1)}×`),
    floorRow("sparse", s),
    info("sparse", "uss peak RSS", mib(peakBytes("sparse uss"))),
    ...ifBundle(info("sparse", "uss bundled peak RSS", mib(peakBytes("sparse bundled")))),
  ];
}

/** The rows of a many-VMAs shape (`manyvmas` or `reserved`) in the tracked table. */
function manyVmasRows(shape: string, m: MedianOf, peakBytes: PeakOf): string[][] {
  return [
    tracked(
      shape,
      "uss / cat",
      `${(m("uss") / m("cat")).toFixed(2)}×`,
      `≤ ${TARGET_MANYVMAS_USS_OVER_CAT}×`,
      m("uss") / m("cat") <= TARGET_MANYVMAS_USS_OVER_CAT,
    ),
    tracked(
      shape,
      "uss maps / cat",
      `${(m("maps") / m("cat")).toFixed(2)}×`,
      `≤ ${TARGET_MANYVMAS_MAPS_OVER_CAT}×`,
      m("maps") / m("cat") <= TARGET_MANYVMAS_MAPS_OVER_CAT,
    ),
    tracked(
      shape,
      "uss peak RSS",
      mib(peakBytes(`${shape} uss`)),
      `≤ ${TARGET_PEAK_RSS_MIB} MiB`,
      peakBytes(`${shape} uss`) / MIB <= TARGET_PEAK_RSS_MIB,
    ),
    tracked(
      shape,
      "uss maps peak RSS",
      mib(peakBytes(`${shape} maps`)),
      `≤ ${TARGET_PEAK_RSS_MIB} MiB`,
      peakBytes(`${shape} maps`) / MIB <= TARGET_PEAK_RSS_MIB,
    ),
    floorRow(shape, m),
    info(shape, "uss − empty deno", `${ms(m("uss") - m("empty"))} ms`),
    info(shape, "uss maps − uss", `${ms(m("maps") - m("uss"))} ms`),
  ];
}

if (import.meta.main) Deno.exit(await main());
