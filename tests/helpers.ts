/**
 * Shared test helpers: run the CLI as a user would, build and start fixture
 * processes with known memory layouts, read the kernel's own figures.
 *
 * Fixture protocol: a fixture prints one JSON object per line on stdout for each
 * process it wants measured (with at least `"pid"`), then stops itself with
 * SIGSTOP. Tests wait for every announced process to be stopped before
 * measuring, and kill every process they started, even when they fail.
 *
 * @module
 */

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const MAIN = `${ROOT}/main.ts`;

/** True when the tests run as root (exact method, KSM, hugetlb, mounts). */
export const IS_ROOT = Deno.uid() === 0;

/**
 * The machine's page size in bytes, as `getconf` says (not the tool's own
 * probe): the fixtures size their regions in pages of it (4 KiB here; 16 or 64
 * KiB on some arm64 servers).
 */
export const PAGE_SIZE = Number(
  new TextDecoder().decode(new Deno.Command("getconf", { args: ["PAGESIZE"] }).outputSync().stdout),
);

/** The result of one CLI run. */
export interface UssRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link runUss}. */
export interface RunOptions {
  /** Deno permission flags (default `-A`). */
  permissions?: string[];
  /** Prefix command (e.g. `["setpriv", "--reuid=65534", …]`). */
  wrapper?: string[];
  /** Deno executable (default: the one running the tests). */
  deno?: string;
  env?: Record<string, string>;
}

/** Runs a command and returns its exit code and output (never throws on failure). */
export async function runCommand(
  command: string[],
  options: { env?: Record<string, string>; cwd?: string; signal?: AbortSignal } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(command[0], {
    args: command.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: options.env,
    cwd: options.cwd,
    signal: options.signal,
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/**
 * Runs `deno run <permissions> main.ts <args>` and collects its output.
 *
 * @example
 * ```ts
 * const { code, stdout } = await runUss(["--json", String(pid)]);
 * ```
 */
export async function runUss(args: string[], options: RunOptions = {}): Promise<UssRun> {
  const deno = options.deno ?? Deno.execPath();
  const command = [
    ...(options.wrapper ?? []),
    deno,
    "run",
    "--quiet",
    ...(options.permissions ?? ["-A"]),
    MAIN,
    ...args,
  ];
  return await runCommand(command, { env: { NO_COLOR: "1", ...(options.env ?? {}) } });
}

/**
 * Runs the CLI with `--json` and parses stdout; fails loudly on non-JSON output.
 */
export async function runUssJson<T = unknown>(
  args: string[],
  options: RunOptions = {},
): Promise<{ code: number; json: T; stderr: string }> {
  const run = await runUss(["--json", ...args], options);
  try {
    return { code: run.code, json: JSON.parse(run.stdout) as T, stderr: run.stderr };
  } catch {
    throw new Error(`uss printed no JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
}

const builtFixtures = new Map<string, Promise<string>>();
const fixtureDirs: string[] = [];

// Fixture binaries live until the test file ends; remove them then.
globalThis.addEventListener("unload", () => {
  for (const dir of fixtureDirs) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* already gone */ }
  }
});

/**
 * Compiles `tests/fixtures/<name>.c` once per test run and returns the binary's
 * path (in a world-readable temporary directory, so unprivileged users can run it).
 *
 * Linked statically by default: a fixture then shares no library page with
 * other processes, so its figures do not shift while other tests start and stop
 * processes that map libc. `flags` go to gcc as well.
 */
export function buildFixture(name: string, flags: string[] = ["-static"]): Promise<string> {
  const key = [name, ...flags].join(" ");
  let built = builtFixtures.get(key);
  if (!built) {
    built = (async () => {
      const dir = await Deno.makeTempDir({ prefix: "uss-fixture-" });
      fixtureDirs.push(dir);
      await Deno.chmod(dir, 0o755);
      const binary = `${dir}/${name}`;
      const result = await new Deno.Command("gcc", {
        args: ["-O1", "-Wall", ...flags, "-o", binary, `${ROOT}/tests/fixtures/${name}.c`],
        stderr: "piped",
      }).output();
      if (!result.success) {
        throw new Error(`gcc ${name}.c failed:\n${new TextDecoder().decode(result.stderr)}`);
      }
      return binary;
    })();
    builtFixtures.set(key, built);
  }
  return built;
}

/** A running fixture whose announced processes are all stopped. */
export interface Fixture<T> {
  /** The announcements, in the order printed. */
  processes: (T & { pid: number })[];
  /** Kills the fixture and every announced process (idempotent). */
  [Symbol.asyncDispose](): Promise<void>;
  kill(): Promise<void>;
}

/** Polls `/proc/PID/stat` until the process is stopped (state T). */
export async function waitStopped(pid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("T")) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`process ${pid} did not stop within ${timeoutMs} ms`);
}

/**
 * Reads a fixture's first `expected` announcement lines (one JSON object each)
 * into `processes`, within 20 s.
 */
async function readAnnouncements<T>(
  child: Deno.ChildProcess,
  expected: number,
  processes: T[],
  what: string,
): Promise<void> {
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const deadline = setTimeout(() => lines.cancel("timeout"), 20_000);
  try {
    while (processes.length < expected) {
      const newline = buffered.indexOf("\n");
      if (newline >= 0) {
        processes.push(JSON.parse(buffered.slice(0, newline)));
        buffered = buffered.slice(newline + 1);
        continue;
      }
      const { value, done } = await lines.read();
      if (done) throw new Error(`fixture ${what} ended early`);
      buffered += value;
    }
  } finally {
    clearTimeout(deadline);
    lines.releaseLock();
  }
}

/**
 * Starts a fixture and waits for `expected` announcements and for each announced
 * process to stop itself.
 *
 * @example
 * ```ts
 * await using fixture = await startFixture<{ region: string }>(binary, ["private", "256"], 1);
 * const [{ pid, region }] = fixture.processes;
 * ```
 */
export async function startFixture<T = Record<string, unknown>>(
  binary: string,
  args: string[],
  expected: number,
  options: { wrapper?: string[] } = {},
): Promise<Fixture<T>> {
  const command = [...(options.wrapper ?? []), binary, ...args];
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const processes: (T & { pid: number })[] = [];
  const kill = async () => {
    for (const process of processes) {
      try {
        Deno.kill(process.pid, "SIGKILL");
      } catch { /* already gone */ }
    }
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await child.stdout.cancel().catch(() => {});
  };
  try {
    await readAnnouncements(child, expected, processes, `${binary} ${args.join(" ")}`);
    for (const process of processes) await waitStopped(process.pid);
  } catch (error) {
    await kill();
    throw error;
  }
  return { processes, kill, [Symbol.asyncDispose]: kill };
}

/** The kernel's `smaps_rollup` of a process, in bytes per field. */
export async function readRollup(pid: number): Promise<Record<string, number>> {
  const text = await Deno.readTextFile(`/proc/${pid}/smaps_rollup`);
  const fields: Record<string, number> = {};
  for (const line of text.split("\n").slice(1)) {
    const match = /^(\w+):\s+(\d+) kB/.exec(line);
    if (match) fields[match[1]] = Number(match[2]) * 1024;
  }
  return fields;
}

/** Reads a sysfs/procfs setting (trimmed). */
export function readSetting(path: string): string {
  return Deno.readTextFileSync(path).trim();
}

/** The largest PID Linux can hand out (pid_max is at most 2^22), the largest the CLI accepts. */
const LARGEST_PID = 4_194_303;

/**
 * `count` PIDs, ascending, that name no process now and that the CLI accepts
 * (1..4194303). The kernel hands out PIDs below pid_max only, so PIDs from
 * pid_max up are taken when they all fit under 4194303: no process can ever
 * have them. Otherwise they are PIDs without a /proc entry, scanned from
 * 4194303 down, which a new process may take later.
 *
 * @throws {Error} when fewer than `count` PIDs name no process.
 */
export function missingPids(count = 1): number[] {
  const pidMax = Number(readSetting("/proc/sys/kernel/pid_max"));
  if (pidMax + count - 1 <= LARGEST_PID) {
    return Array.from({ length: count }, (_, index) => pidMax + index);
  }
  const free: number[] = [];
  for (let pid = LARGEST_PID; pid >= 1 && free.length < count; pid--) {
    try {
      Deno.statSync(`/proc/${pid}`);
    } catch (error) {
      // Anything but "no such entry" says nothing about the PID: not a free one.
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      free.push(pid);
    }
  }
  if (free.length < count) {
    throw new Error(`only ${free.length} of the ${count} PIDs wanted name no process`);
  }
  return free.reverse();
}

/**
 * Sets a system setting for the duration of `body` and restores it afterwards,
 * even when `body` throws. A file that lists its choices and brackets the
 * current one (`always inherit madvise [never]`) gets that choice back.
 */
export async function withSetting<T>(
  path: string,
  value: string,
  body: () => Promise<T>,
): Promise<T> {
  const current = readSetting(path);
  const previous = /\[([^\]]+)\]/.exec(current)?.[1] ?? current;
  Deno.writeTextFileSync(path, value);
  try {
    return await body();
  } finally {
    Deno.writeTextFileSync(path, previous);
  }
}

/** The root of the repository (for tests that need paths). */
export const REPO_ROOT = ROOT;

/**
 * Starts a fixture that keeps running (it does not stop itself, unlike the
 * protocol above) and waits for its first `expected` announcement lines.
 * The fixture is killed on dispose, and at once if it fails to announce.
 *
 * @example
 * ```ts
 * await using grower = await startRunningFixture<{ region: string }>(binary, ["1", "100"]);
 * const [{ pid }] = grower.processes;
 * ```
 */
export async function startRunningFixture<T = Record<string, unknown>>(
  binary: string,
  args: string[],
  expected = 1,
): Promise<Fixture<T>> {
  const child = new Deno.Command(binary, {
    args,
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const kill = async () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await child.stdout.cancel().catch(() => {});
  };
  const processes: (T & { pid: number })[] = [];
  try {
    await readAnnouncements(child, expected, processes, `${binary} ${args.join(" ")}`);
  } catch (error) {
    await kill();
    throw error;
  }
  return { processes, kill, [Symbol.asyncDispose]: kill };
}

/**
 * True when `USS_TEST_STRICT=1` (CI): a test that would skip for a missing
 * program or privilege fails instead.
 */
export const STRICT = Deno.env.get("USS_TEST_STRICT") === "1";

/**
 * Skips the calling test or step for `reason`: prints `skipped: REASON` and
 * returns, or throws under {@link STRICT}, where nothing may be skipped.
 *
 * @example
 * ```ts
 * if (!havePromtool) return skipOrFail("promtool is not installed (Debian package prometheus)");
 * ```
 */
export function skipOrFail(reason: string): void {
  if (STRICT) throw new Error(`${reason}; USS_TEST_STRICT=1 requires it`);
  console.log(`skipped: ${reason}`);
}

/** Runs `promtool check metrics` on `text` when promtool is installed; null when it is not. */
export async function promtoolCheck(text: string): Promise<{ ok: boolean; output: string } | null> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    ok: output.success,
    output: decoder.decode(output.stdout) + decoder.decode(output.stderr),
  };
}
