/**
 * Support for the environment tests (tests/env): a stopped fixture, figure
 * comparisons that tolerate a busy machine, the kernel's rollup as the
 * reference, one-line error checks, and an unprivileged (uid 65534) runner.
 *
 * Why "quiet" comparisons: PSS divides every shared frame (libc, ld.so) among
 * all processes mapping it, so it moves whenever any process on the machine
 * starts or exits (other test files run at the same time). A comparison is only
 * meaningful while the reference reads the same before and after the candidate,
 * so each helper retries until that holds and then demands exact agreement; on
 * a machine that never gets quiet, every figure but PSS must still agree
 * exactly and PSS must stay within the references' range. The measurer itself maps libc too (the observer effect, several KiB of PSS on
 * a machine with few processes), so references are always taken by a Deno
 * process like the CLI's own, never by reading /proc from the test runner.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ProcessJson } from "../json_schema.ts";
import {
  buildFixture,
  type Fixture,
  PAGE_SIZE,
  REPO_ROOT,
  runCommand,
  type RunOptions,
  startFixture,
} from "../helpers.ts";

/** The unprivileged user and group of these tests. */
export const NOBODY_ID = 65534;

/** `setpriv` prefix that runs a command as uid/gid 65534 with no supplementary groups. */
export const AS_NOBODY = [
  "setpriv",
  `--reuid=${NOBODY_ID}`,
  `--regid=${NOBODY_ID}`,
  "--clear-groups",
];

/** What `tests/fixtures/idle.c` announces. */
export interface IdleProcess {
  pid: number;
  mib: number;
  shared: number;
}

/** Options of {@link startIdle}. */
export interface IdleOptions {
  /** MiB of private anonymous memory, written (default 4). */
  mib?: number;
  /** One-page mappings shared with two helper processes, PSS 4096/3 each (default 0). */
  shared?: number;
  /** Prefix command (setpriv, unshare, …). */
  wrapper?: string[];
}

/**
 * Starts the `idle` fixture and waits until it is stopped.
 *
 * @example
 * ```ts
 * await using idle = await startIdle({ mib: 4 });
 * const [{ pid }] = idle.processes;
 * ```
 */
export async function startIdle(options: IdleOptions = {}): Promise<Fixture<IdleProcess>> {
  const binary = await buildFixture("idle");
  removeOnUnload(binary.slice(0, binary.lastIndexOf("/")));
  const args = [String(options.mib ?? 4), String(options.shared ?? 0)];
  return startFixture<IdleProcess>(binary, args, 1, { wrapper: options.wrapper });
}

const toRemove = new Set<string>();

/** Removes `dir` (e.g. the fixture build, cached for the module's lifetime) when the test module ends. */
function removeOnUnload(dir: string): void {
  if (toRemove.size === 0) {
    globalThis.addEventListener("unload", () => {
      for (const path of toRemove) {
        try {
          Deno.removeSync(path, { recursive: true });
        } catch { /* already gone */ }
      }
    });
  }
  toRemove.add(dir);
}

/** The figures of one JSON report that two measurements of one process must share. */
export type Figures = Pick<
  ProcessJson,
  "state" | "method" | "uss" | "uss_anon" | "uss_file" | "pss" | "rss" | "swap"
>;

/** Picks {@link Figures} from a JSON report. */
export function figuresOf(report: ProcessJson): Figures {
  const { state, method, uss, uss_anon, uss_file, pss, rss, swap } = report;
  return { state, method, uss, uss_anon, uss_file, pss, rss, swap };
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** How close PSS must stay to the references' range on a busy machine (one page). */
export const BUSY_PSS_SLACK = PAGE_SIZE;

/** The result of a comparison: the candidate's figures and whether the machine was quiet. */
export interface Compared {
  figures: Figures;
  /** True when reference, candidate and reference agreed exactly. */
  quiet: boolean;
}

/**
 * Measures with `reference`, `candidate`, `reference` again, up to `attempts`
 * times, and asserts the candidate gives the same figures as the reference.
 *
 * Passes at once on an attempt where all three agree exactly. On a busy
 * machine (no such attempt), it demands that on some attempt every figure but
 * PSS agrees exactly in all three and the candidate's PSS lies within the two
 * references' PSS, give or take {@link BUSY_PSS_SLACK}; else it fails with every
 * observation.
 */
export async function assertSameWhenQuiet(
  reference: () => Promise<Figures>,
  candidate: () => Promise<Figures>,
  what: string,
  attempts = 10,
): Promise<Compared> {
  const seen: { before: Figures; candidate: Figures; after: Figures }[] = [];
  for (let attempt = 0; attempt < attempts; attempt++) {
    const before = await reference();
    const got = await candidate();
    const after = await reference();
    seen.push({ before, candidate: got, after });
    if (sameJson(before, after) && sameJson(before, got)) return { figures: got, quiet: true };
  }
  const withoutPss = ({ pss: _, ...rest }: Figures) => rest;
  const close = seen.find(({ before, candidate, after }) =>
    sameJson(withoutPss(before), withoutPss(candidate)) &&
    sameJson(withoutPss(after), withoutPss(candidate)) &&
    candidate.pss! >= Math.min(before.pss!, after.pss!) - BUSY_PSS_SLACK &&
    candidate.pss! <= Math.max(before.pss!, after.pss!) + BUSY_PSS_SLACK
  );
  if (close) return { figures: close.candidate, quiet: false };
  const last = seen.at(-1)!;
  assert.deepEqual(
    last.candidate,
    last.before,
    `${what}: no attempt agreed (every attempt: ${JSON.stringify(seen)})`,
  );
  return { figures: last.candidate, quiet: false };
}

/** The rollup fields a smaps-method report is compared with. */
const ROLLUP_KEYS = ["Rss", "Pss", "Private_Clean", "Private_Dirty", "Swap"] as const;

/** What an observer read: the rollup, and the sum of the per-mapping `Pss:` lines of smaps. */
export interface Observation {
  rollup: Record<string, number>;
  smapsPssSum: number;
  /** Mappings in smaps. */
  mappings: number;
}

const OBSERVER = `
const pid = Deno.args[0];
const rollup = {};
for (const line of Deno.readTextFileSync("/proc/" + pid + "/smaps_rollup").split("\\n").slice(1)) {
  const match = /^(\\w+):\\s+(\\d+) kB/.exec(line);
  if (match) rollup[match[1]] = Number(match[2]) * 1024;
}
let smapsPssSum = 0;
let mappings = 0;
for (const line of Deno.readTextFileSync("/proc/" + pid + "/smaps").split("\\n")) {
  if (line.startsWith("Pss:")) {
    smapsPssSum += parseInt(line.slice(4), 10) * 1024;
    mappings++;
  }
}
console.log(JSON.stringify({ rollup, smapsPssSum, mappings }));
`;

/**
 * Reads the kernel's `smaps_rollup` of `pid` from a separate Deno process.
 *
 * Why a Deno process and not the test itself: whoever measures maps libc and
 * ld.so too, which lowers the target's PSS (its shared pages gain one more
 * mapper) by several KiB on a machine with few processes. A reference read
 * while a Deno process like the CLI's own is alive sees the same sharing the
 * CLI saw.
 */
export async function observeRollup(pid: number): Promise<Observation> {
  const result = await runCommand([Deno.execPath(), "eval", OBSERVER, String(pid)], {
    env: { NO_COLOR: "1" },
  });
  if (result.code !== 0) throw new Error(`observer failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** A measurement between two observations of the kernel's rollup. */
export interface RollupComparison {
  report: ProcessJson;
  before: Observation;
  after: Observation;
  /** Whether both observations agreed on every compared field. */
  quiet: boolean;
}

/**
 * Runs `measure` between two observations of the kernel's rollup of `pid`,
 * retrying until both observations agree (the machine was quiet) or
 * `attempts` are spent; returns the quiet attempt, else the last one.
 */
export async function measureAgainstRollup(
  pid: number,
  measure: () => Promise<ProcessJson>,
  attempts = 10,
): Promise<RollupComparison> {
  let last: RollupComparison | null = null;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const before = await observeRollup(pid);
    const report = await measure();
    const after = await observeRollup(pid);
    const quiet = ROLLUP_KEYS.every((key) => before.rollup[key] === after.rollup[key]);
    last = { report, before, after, quiet };
    if (quiet) return last;
  }
  return last!;
}

/**
 * Asserts a smaps-method report equals the kernel's rollup: USS is
 * Private_Clean + Private_Dirty, RSS is Rss, swap is Swap (all exact, as read
 * by one of the two observations), and PSS is within `pssTolerance` bytes of
 * the observed Pss (of the range the two observations span, when the machine
 * was busy).
 */
export function assertMatchesRollup(comparison: RollupComparison, pssTolerance: number): void {
  const { report, before, after } = comparison;
  const rollups = comparison.quiet
    ? JSON.stringify(before.rollup)
    : `${JSON.stringify(before.rollup)} then ${JSON.stringify(after.rollup)}`;
  const context = `report ${JSON.stringify(figuresOf(report))}, rollup ${rollups}, ` +
    `sum of the per-mapping Pss lines of smaps ${before.smapsPssSum}`;
  const matches = (
    field: string,
    value: number | null,
    expected: (r: Record<string, number>) => number,
  ) =>
    assert.ok(
      value === expected(before.rollup) || value === expected(after.rollup),
      `${field} ${value} is not the kernel's ${expected(before.rollup)}: ${context}`,
    );
  matches("USS", report.uss, (r) => r.Private_Clean + r.Private_Dirty);
  matches("RSS", report.rss, (r) => r.Rss);
  matches("swap", report.swap, (r) => r.Swap);
  const low = Math.min(before.rollup.Pss, after.rollup.Pss);
  const high = Math.max(before.rollup.Pss, after.rollup.Pss);
  const gap = report.pss! < low ? report.pss! - low : report.pss! > high ? report.pss! - high : 0;
  const why = report.pss === before.smapsPssSum && gap !== 0
    ? ": it is the sum of the per-mapping Pss lines of smaps, each floored to a KiB by the kernel"
    : "";
  assert.ok(
    Math.abs(gap) <= pssTolerance,
    `PSS ${report.pss} differs from the rollup's ${low === high ? low : `${low}..${high}`} by ` +
      `${gap} bytes (allowed ${pssTolerance})${why}; ${context}`,
  );
}

/**
 * Asserts stderr is exactly one line (no stack trace, no Deno "Uncaught")
 * matching every pattern, and returns it.
 */
export function assertOneLine(stderr: string, ...patterns: RegExp[]): string {
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `expected exactly one line on stderr, got:\n${stderr}`);
  const [line] = lines;
  assert.doesNotMatch(stderr, /Uncaught|^\s+at |Stack backtrace|internal error/m);
  assert.match(line, /^uss: /, `stderr line: ${line}`);
  for (const pattern of patterns) assert.match(line, pattern, `stderr line: ${line}`);
  return line;
}

/** `text` as a RegExp source that matches it literally. */
export function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** Runs a command and throws with its output unless it exits 0. */
export async function mustRun(command: string[]): Promise<string> {
  const result = await runCommand(command);
  if (result.code !== 0) {
    throw new Error(
      `${command.join(" ")} exited ${result.code}:\n${result.stdout}${result.stderr}`,
    );
  }
  return result.stdout;
}

/** Mounts a fresh procfs in a temporary directory for the duration of `body` (root only). */
export async function withProcMount(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "uss-proc-" });
  let mounted = false;
  try {
    await mustRun(["mount", "-t", "proc", "proc", dir]);
    mounted = true;
    await body(dir);
  } finally {
    if (mounted) {
      const unmount = await runCommand(["umount", dir]);
      if (unmount.code !== 0) await runCommand(["umount", "-l", dir]);
    }
    await Deno.remove(dir);
  }
}

/** Files `deno run main.ts` reads: main.ts, deno.json and everything under src/. */
function sourceFiles(): string[] {
  const files = [`${REPO_ROOT}/main.ts`, `${REPO_ROOT}/deno.json`];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else files.push(path);
    }
  };
  walk(`${REPO_ROOT}/src`);
  return files;
}

/**
 * Replaces the argument equal to $1 by $2 in the command after $3 (a working
 * directory to enter), then execs it: lets {@link runUss}, which always names
 * the repository's main.ts, run a world-readable copy instead.
 */
const SHIM = [
  'from=$1 to=$2; cd "$3" || exit 125; shift 3',
  'for arg do shift; if [ "$arg" = "$from" ]; then set -- "$@" "$to"; else set -- "$@" "$arg"; fi; done',
  'exec "$@"',
].join("\n");

/** A way to run the CLI as uid 65534, and its clean-up. */
export interface NobodyRunner extends AsyncDisposable {
  /** Options for runUss/runUssJson: wrapper, copied deno, private DENO_DIR and HOME. */
  options: RunOptions;
  /** Whether the sources had to be copied (the repository is not readable by 65534). */
  copiedSources: boolean;
}

/**
 * Prepares CLI runs as uid 65534: root's npm cache (where deno lives) is not
 * readable by others, so deno is copied to a world-readable directory; the
 * user gets its own HOME and DENO_DIR; and the sources are copied too when
 * 65534 cannot read the repository.
 */
export async function prepareNobody(): Promise<NobodyRunner> {
  const dir = await Deno.makeTempDir({ prefix: "uss-env-nobody-" });
  try {
    await Deno.chmod(dir, 0o755);
    const deno = `${dir}/deno`;
    await Deno.copyFile(Deno.execPath(), deno);
    await Deno.chmod(deno, 0o755);
    const home = `${dir}/home`;
    await Deno.mkdir(home);
    await Deno.chown(home, NOBODY_ID, NOBODY_ID);

    const main = `${REPO_ROOT}/main.ts`;
    const readable = await runCommand([
      ...AS_NOBODY,
      "sh",
      "-c",
      'for f do [ -r "$f" ] || { echo "$f"; exit 1; }; done',
      "sh",
      ...sourceFiles(),
    ]);
    let target = main;
    if (readable.code !== 0) {
      const copy = `${dir}/repo`;
      await Deno.mkdir(copy);
      await mustRun(["cp", "-R", main, `${REPO_ROOT}/deno.json`, `${REPO_ROOT}/src`, copy]);
      await mustRun(["chmod", "-R", "a+rX", copy]);
      target = `${copy}/main.ts`;
    }
    return {
      options: {
        deno,
        wrapper: [...AS_NOBODY, "sh", "-c", SHIM, "uss-shim", main, target, home],
        env: { HOME: home, DENO_DIR: `${home}/deno-dir` },
      },
      copiedSources: target !== main,
      [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
    };
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}
