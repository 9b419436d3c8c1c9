/**
 * Shared machinery of the benchmarks (`bench.ts`, `bench_all.ts`, `bench_serve.ts`): timing
 * contenders round-robin, peak RSS, the machine description, what the kernel
 * says (smaps_rollup) to check uss against, formatting the figures, and
 * killing everything a benchmark started, whatever happens. Tables are drawn
 * by uss's own `renderTable` (src/report/format.ts).
 *
 * Benchmarks report medians and ratios; they never fail on a figure. A
 * benchmark exits 1 when a contender cannot run at all or it is not run as
 * root, 2 on a usage error.
 *
 * @module
 */

import { SMAPS_VMA_PAGES, SPARSE_MIN_PAGES } from "../src/measure/scan_process.ts";

/** The repository root (scripts/..). */
export const REPO_ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
/** The Deno running the benchmark, which runs every Deno contender too. */
export const DENO = Deno.execPath();
/** uss's entry point. */
export const MAIN = `${REPO_ROOT}/main.ts`;
/** Bytes in a MiB. */
export const MIB = 1024 * 1024;

/** A command to time, run with stdout sent to /dev/null. */
export interface Contender {
  /** Short label for the table. */
  name: string;
  /** argv: program first. */
  command: string[];
  /**
   * Runs in one round out of `every` (default 1): for slow contenders whose
   * spread is small relative to the ratios being tracked.
   */
  every?: number;
  /** Treat a non-zero exit as normal (a racing `cat` over exiting processes). */
  ignoreExitCode?: boolean;
}

/** The outcome of {@link roundRobin}. */
export interface Timings {
  /** Wall-clock milliseconds of each successful run, by contender name. */
  samples: Map<string, number[]>;
  /** The first failure of each contender that failed at least once. */
  failures: Map<string, string>;
}

/**
 * Everything a benchmark started, made by {@link createCleanup}: killed by
 * {@link Cleanup.run} in a `finally`, and on SIGINT/SIGTERM/SIGHUP (which do
 * not run `finally` blocks).
 */
export interface Cleanup {
  /** Kills `pid` at cleanup (for grandchildren the benchmark learned about). */
  pid(pid: number): void;
  /**
   * Forgets `pid` (one the benchmark killed and saw reaped itself), so cleanup
   * cannot kill an unrelated process that reused the PID meanwhile.
   */
  release(pid: number): void;
  /** Kills `child` at cleanup unless it has ended; returns it. */
  child(child: Deno.ChildProcess): Deno.ChildProcess;
  /** Removes `dir` (recursively) at cleanup; returns it. */
  dir(dir: string): string;
  /**
   * Runs `undo` at cleanup, after the processes are killed: puts back a machine
   * setting the benchmark changed. Synchronous, as cleanup also runs inside a
   * signal handler that exits right after.
   */
  restore(undo: () => void): void;
  /** {@link Cleanup.run}, then waits (briefly) until the killed children are reaped. */
  dispose(): Promise<void>;
  /**
   * Kills and removes everything registered and restores the settings, without
   * waiting; safe to call twice.
   */
  run(): void;
}

/** Starts a {@link Cleanup}: installs the signal handlers that run it and exit. */
export function createCleanup(): Cleanup {
  const pids = new Set<number>();
  const children = new Set<Deno.ChildProcess>();
  const dirs = new Set<string>();
  const undos: (() => void)[] = [];
  let handlers: [Deno.Signal, () => void][] = [];

  const run = (): void => {
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* already gone */ }
    }
    pids.clear();
    for (const child of children) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    children.clear();
    for (const dir of dirs) {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* already gone */ }
    }
    dirs.clear();
    // Last registered, first undone, as nested changes must be.
    for (const undo of undos.splice(0).reverse()) {
      try {
        undo();
      } catch (error) {
        console.error(`cleanup: could not restore a setting: ${error}`);
      }
    }
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    handlers = [];
  };

  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as Deno.Signal[]) {
    const handler = () => {
      console.error(`\n${signal}: killing the benchmark's processes`);
      run();
      Deno.exit(130);
    };
    Deno.addSignalListener(signal, handler);
    handlers.push([signal, handler]);
  }

  return {
    pid(pid) {
      pids.add(pid);
    },
    release(pid) {
      pids.delete(pid);
    },
    child(child) {
      children.add(child);
      child.status.finally(() => children.delete(child));
      return child;
    },
    dir(dir) {
      dirs.add(dir);
      return dir;
    },
    restore(undo) {
      undos.push(undo);
    },
    async dispose() {
      const running = [...children];
      run();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise((resolve) => timer = setTimeout(resolve, 10_000));
      await Promise.race([Promise.allSettled(running.map((child) => child.status)), timeout]);
      clearTimeout(timer);
    },
    run,
  };
}

const decoder = new TextDecoder();

/**
 * Runs `command` to completion with its stdout discarded.
 *
 * @returns wall-clock milliseconds from spawn to exit, the exit code and stderr.
 */
export async function timeOnce(
  cleanup: Cleanup,
  command: string[],
): Promise<{ ms: number; code: number; stderr: string }> {
  const start = performance.now();
  const child = cleanup.child(
    new Deno.Command(command[0], {
      args: command.slice(1),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      cwd: REPO_ROOT,
    }).spawn(),
  );
  const output = await child.output();
  const ms = performance.now() - start;
  return { ms, code: output.code, stderr: decoder.decode(output.stderr) };
}

/**
 * Runs every contender once untimed (to warm caches), then `rounds` rounds,
 * each running the contenders one after the other. The starting contender
 * rotates each round so none always runs right after the same neighbour.
 */
export async function roundRobin(
  cleanup: Cleanup,
  contenders: Contender[],
  rounds: number,
  label: string,
): Promise<Timings> {
  const samples = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  const failures = new Map<string, string>();
  const record = (
    contender: Contender,
    run: { ms: number; code: number; stderr: string },
    keep: boolean,
  ) => {
    if (run.code === 0 || contender.ignoreExitCode) {
      if (keep) samples.get(contender.name)!.push(run.ms);
    } else if (!failures.has(contender.name)) {
      failures.set(contender.name, `exit ${run.code}: ${run.stderr.trim().split("\n")[0] ?? ""}`);
    }
  };
  for (const contender of contenders) {
    record(contender, await timeOnce(cleanup, contender.command), false);
  }
  const progress = (text: string) => {
    if (Deno.stderr.isTerminal()) Deno.stderr.writeSync(new TextEncoder().encode(text));
  };
  if (!Deno.stderr.isTerminal()) console.error(`${label}: timing ${rounds} rounds`);
  for (let round = 0; round < rounds; round++) {
    progress(`\r${label}: round ${round + 1}/${rounds}`);
    for (let i = 0; i < contenders.length; i++) {
      const contender = contenders[(i + round) % contenders.length];
      if (round % (contender.every ?? 1) !== 0) continue;
      record(contender, await timeOnce(cleanup, contender.command), true);
    }
  }
  progress("\r\x1b[K");
  return { samples, failures };
}

/** The p-th percentile (nearest rank) of `values` (NaN for none). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Parses a comma-separated list of names (`--shapes`).
 *
 * @returns the names in the order of `all`, or null for an unknown or empty list.
 */
export function parseNames<Name extends string>(
  text: string,
  all: readonly Name[],
): Set<Name> | null {
  const names = text.split(",").map((name) => name.trim()).filter((name) => name !== "");
  if (names.length === 0) return null;
  if (names.some((name) => !(all as readonly string[]).includes(name))) return null;
  return new Set(all.filter((name) => names.includes(name)));
}

/** The median of `values` (NaN for none). */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The median of contender `name`'s successful runs (NaN for none). */
export function medianOf(timings: Timings, name: string): number {
  return median(timings.samples.get(name) ?? []);
}

/** How many runs of contender `name` succeeded. */
export function runCount(timings: Timings, name: string): number {
  return timings.samples.get(name)?.length ?? 0;
}

/** Prints one line for each contender that failed at least once. */
export function reportFailures(label: string, timings: Timings): void {
  for (const [name, reason] of timings.failures) {
    console.log(`${label}: ${name} failed at least once (${reason}); failed runs are left out`);
  }
}

/**
 * Runs `command` (in the repository root, with `env` added to the environment)
 * to completion, capturing its output. A command that cannot start exits 127
 * with the reason as its stderr.
 */
export async function capture(
  command: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const output = await new Deno.Command(command[0], {
      args: command.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      cwd: REPO_ROOT,
      env,
    }).output();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } catch (error) {
    return { code: 127, stdout: "", stderr: String(error) };
  }
}

/**
 * The fields of `/proc/PID/smaps_rollup`, in bytes: what the kernel's own
 * page-table walk says, to check uss against.
 *
 * @throws {Deno.errors.NotFound} when the process is gone.
 */
export function rollup(pid: number): Record<string, number> {
  const fields: Record<string, number> = {};
  for (const line of Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`).split("\n")) {
    const match = /^(\w+):\s+(\d+) kB/.exec(line);
    if (match) fields[match[1]] = Number(match[2]) * 1024;
  }
  return fields;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** How peak RSS is measured on this machine. */
export const RSS_METHOD = exists("/usr/bin/time")
  ? "/usr/bin/time -f %M"
  : "python3 getrusage(RUSAGE_CHILDREN)";

/**
 * The peak RSS of one run of `command`, in KiB (stdout discarded).
 *
 * @throws {Error} when the command fails.
 */
export async function peakRssKiB(cleanup: Cleanup, command: string[]): Promise<number> {
  const tmp = await Deno.makeTempFile({ prefix: "uss-bench-rss-" });
  try {
    const wrapped = exists("/usr/bin/time")
      ? ["/usr/bin/time", "-f", "%M", "-o", tmp, ...command]
      : [
        "python3",
        "-c",
        "import resource, subprocess, sys\n" +
        "code = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL).returncode\n" +
        "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n" +
        "sys.exit(code)",
        tmp,
        ...command,
      ];
    const run = await timeOnce(cleanup, wrapped);
    if (run.code !== 0) throw new Error(`${command.join(" ")}: exit ${run.code}: ${run.stderr}`);
    const text = (await Deno.readTextFile(tmp)).trim().split("\n").at(-1) ?? "";
    const kib = Number(text);
    if (!Number.isFinite(kib)) throw new Error(`cannot parse peak RSS ${JSON.stringify(text)}`);
    return kib;
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
}

/** Lines describing the machine and the date, to quote beside the figures. */
export function machineLines(): string[] {
  const cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown CPU";
  const cores = cpuinfo.match(/^processor\s*:/gm)?.length ?? navigator.hardwareConcurrency;
  const memKiB = Number(/^MemTotal:\s+(\d+)/m.exec(Deno.readTextFileSync("/proc/meminfo"))?.[1]);
  let thp = "?";
  try {
    thp = /\[(\w+)\]/.exec(
      Deno.readTextFileSync("/sys/kernel/mm/transparent_hugepage/enabled"),
    )?.[1] ?? "?";
  } catch { /* no THP on this kernel */ }
  return [
    `date:    ${new Date().toISOString()}`,
    `kernel:  Linux ${Deno.osRelease()} (THP ${thp})`,
    `cpu:     ${model}, ${cores} cores`,
    `memory:  ${(memKiB / 1024 / 1024).toFixed(1)} GiB`,
    `deno:    ${Deno.version.deno} (${Deno.execPath()})`,
  ];
}

/** True when not root, after saying on stderr that `script` needs root and `why`. */
export function lacksRoot(script: string, why: string): boolean {
  if (Deno.uid() === 0) return false;
  console.error(`${script}: needs root (${why})`);
  return true;
}

/** "✓" when a tracked figure meets its target, "✗" otherwise (and for NaN). */
export function mark(met: boolean): string {
  return met ? "✓" : "✗";
}

/** Formats milliseconds for the tables. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

/** Formats bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}

/** How far `a` is from `b`, as a signed percentage of `b`. */
export function relative(a: number, b: number): string {
  const diff = (a - b) / b;
  return `${diff >= 0 ? "+" : ""}${(diff * 100).toFixed(2)}%`;
}

/**
 * Compiles `scripts/<name>.c` into `dir`.
 *
 * @returns the binary's path.
 * @throws {Error} with gcc's message when compiling fails.
 */
export async function compile(name: string, dir: string): Promise<string> {
  const binary = `${dir}/${name}`;
  const source = `${REPO_ROOT}/scripts/${name}.c`;
  const result = await capture(["gcc", "-O2", "-Wall", "-o", binary, source]);
  if (result.code !== 0) throw new Error(`gcc ${name}.c failed:\n${result.stderr}`);
  return binary;
}

/**
 * The read floor (scripts/pagemap_floor.c, compiled as `binary`) as contenders:
 * the reads uss makes of `pids` (every process when "all"), with uss's own
 * choice of smaps first for sparse processes, on one thread ("read floor") and,
 * for every process, also on one thread per core ("read floor, N threads"). A
 * program that reads what uss reads cannot be faster than these on the machine
 * they ran on.
 */
export function floorContenders(binary: string, pids: number[] | "all"): Contender[] {
  const listed = pids === "all" ? [] : pids.map(String);
  const floor = (threads: number) => [
    binary,
    String(SPARSE_MIN_PAGES),
    String(SMAPS_VMA_PAGES),
    String(threads),
    ...listed,
  ];
  const cores = navigator.hardwareConcurrency || 1;
  return [
    { name: "read floor", command: floor(1) },
    ...(pids === "all" && cores > 1
      ? [{ name: `read floor, ${cores} threads`, command: floor(cores) }]
      : []),
  ];
}

/**
 * Reads `stream` as text until it matches `pattern`, and returns what was read.
 * What comes after goes to `rest` (or is dropped), read to the end so that the
 * writer never blocks on a full pipe.
 *
 * @throws {Error} naming `what` when the stream ends or `timeoutMs` passes first.
 */
export async function readUntil(
  stream: ReadableStream<Uint8Array>,
  pattern: RegExp,
  timeoutMs: number,
  what: string,
  rest: (text: string) => void = () => {},
): Promise<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const timer = setTimeout(() => reader.cancel("timeout").catch(() => {}), timeoutMs);
  try {
    while (!pattern.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`${what} ended or timed out first:\n${text}`);
      text += value;
    }
  } finally {
    clearTimeout(timer);
  }
  (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        rest(value);
      }
    } catch { /* killed */ }
  })();
  return text;
}

/**
 * Starts `command` and resolves with its first line of stdout (the protocol of
 * the benchmark workloads: they announce their PIDs when ready). The rest of
 * its stdout is drained so it never blocks on a full pipe.
 *
 * @throws {Error} when it exits or stays silent for `timeoutMs`.
 */
export async function startAndReadLine(
  cleanup: Cleanup,
  command: string[],
  timeoutMs = 120_000,
): Promise<{ child: Deno.ChildProcess; line: string }> {
  const child = cleanup.child(
    new Deno.Command(command[0], {
      args: command.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn(),
  );
  const text = await readUntil(child.stdout, /\n/, timeoutMs, command.join(" "));
  return { child, line: text.slice(0, text.indexOf("\n")) };
}

/** Polls `/proc/PID/stat` until the process is stopped (state T). */
export async function waitStopped(pid: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("T")) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`process ${pid} did not stop within ${timeoutMs} ms`);
}

/** A workload the benchmark started: its first process and every PID, parent first. */
export interface Workload {
  parent: Deno.ChildProcess;
  pids: number[];
}

/**
 * Starts a workload that prints its PIDs as a JSON array when ready, and hands
 * every PID to cleanup.
 */
export async function startWorkload(cleanup: Cleanup, command: string[]): Promise<Workload> {
  const started = await startAndReadLine(cleanup, command);
  const pids: number[] = JSON.parse(started.line);
  // Children also die with the parent (PR_SET_PDEATHSIG); this is the backstop.
  for (const pid of pids) cleanup.pid(pid);
  return { parent: started.child, pids };
}

/**
 * Kills a workload (children first: until the parent dies they stay zombies,
 * so no PID signalled can have been reaped and reused) and waits until its
 * processes are gone, so that the next scan does not see them and their
 * memory is free again.
 */
export async function stopWorkload(cleanup: Cleanup, workload: Workload): Promise<void> {
  const { parent, pids } = workload;
  for (const pid of [...pids.slice(1), pids[0]]) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* already gone */ }
  }
  await parent.status;
  const deadline = Date.now() + 15_000;
  for (const pid of pids) {
    while (Date.now() < deadline) {
      try {
        Deno.statSync(`/proc/${pid}`);
      } catch {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    cleanup.release(pid);
  }
}
