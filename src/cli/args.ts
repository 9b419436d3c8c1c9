/**
 * Command-line parsing: the only module that knows the option syntax (so moving
 * to `@std/cli` touches this file alone).
 *
 * The option scanner is written here rather than taken from `node:util`:
 * importing any `node:` module makes Deno set up its Node compatibility layer,
 * which costs ~6 ms of start-up (measured), more than half of what a whole
 * measurement of a small process costs.
 *
 * @module
 */
import type { MethodChoice } from "../measure/types.ts";

/** Largest PID Linux can hand out (PID_MAX_LIMIT on 64-bit). */
export const PID_MAX = 4_194_304;

/** A bad command line; the message is one line. */
export class UsageError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** What the command line asks for. */
export interface CliOptions {
  command: "processes" | "maps" | "help" | "version";
  pids: number[];
  json: boolean;
  bytes: boolean;
  method: MethodChoice;
  procRoot: string;
}

/** The text of `uss --help`. */
export const HELP = `uss: how much memory a process really owns (USS, PSS, RSS, swap)

Usage:
  uss [OPTIONS] [PID...]   measure the given processes (every readable process when none)
  uss maps [OPTIONS] PID   where a process's memory lives: one row per mapping

Options:
  --json             print JSON (sizes in integer bytes)
  --bytes            print exact byte counts instead of KiB/MiB/GiB
  --method METHOD    auto (default), kpagecount (exact, needs root) or smaps
  --proc-root DIR    read a procfs mounted at DIR instead of /proc
  -h, --help         show this help
  -V, --version      show the version

Exit codes: 0 all measured, 1 some process could not be measured,
2 usage error, 3 cannot read procfs here, 4 internal error.`;

const METHODS: readonly MethodChoice[] = ["auto", "kpagecount", "smaps"];

/** How an option is spelled and whether it takes a value. */
export interface OptionSpec {
  type: "boolean" | "string";
  short?: string;
}

/**
 * Splits `argv` into option values and positionals, GNU style: `--name value`,
 * `--name=value`, `-x`, and `--` ends the options.
 *
 * @throws {UsageError} for unknown options, a missing value, or a value given
 * to a flag.
 * @example
 * ```ts
 * scanOptions(["--json", "12"], { json: { type: "boolean" } });
 * // { values: { json: true }, positionals: ["12"] }
 * ```
 */
export function scanOptions(
  argv: readonly string[],
  specs: Record<string, OptionSpec>,
): { values: Record<string, string | boolean>; positionals: string[] } {
  const values: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  const shorts = new Map(
    Object.entries(specs).filter(([, spec]) => spec.short).map(([name, spec]) => [
      spec.short!,
      name,
    ]),
  );
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index];
    if (arg === "--") {
      positionals.push(...argv.slice(index + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const equals = arg.indexOf("=");
    const long = arg.startsWith("--");
    const name = long ? arg.slice(2, equals < 0 ? undefined : equals) : shorts.get(arg.slice(1));
    const spec = name === undefined ? undefined : specs[name];
    if (name === undefined || spec === undefined || (!long && arg.length !== 2)) {
      throw new UsageError(`unknown option ${arg.split("=")[0]}`);
    }
    if (spec.type === "boolean") {
      if (equals >= 0) throw new UsageError(`option --${name} takes no value`);
      values[name] = true;
      continue;
    }
    if (equals >= 0 && long) {
      values[name] = arg.slice(equals + 1);
      continue;
    }
    if (index + 1 >= argv.length) throw new UsageError(`option --${name} needs a value`);
    values[name] = argv[++index];
  }
  return { values, positionals };
}

/**
 * Parses a PID argument.
 *
 * @throws {UsageError} unless it is an integer in 1..PID_MAX.
 * @example
 * ```ts
 * parsePid("1234"); // 1234
 * ```
 */
export function parsePid(text: string): number {
  if (!/^[0-9]+$/.test(text)) {
    throw new UsageError(`invalid PID ${JSON.stringify(text)}: expected a positive integer`);
  }
  const pid = Number(text);
  if (pid < 1 || pid > PID_MAX) {
    throw new UsageError(`invalid PID ${text}: out of range 1..${PID_MAX}`);
  }
  return pid;
}

/**
 * Parses the command line.
 *
 * @throws {UsageError} for unknown options, missing values, bad PIDs or methods.
 * @example
 * ```ts
 * parseCli(["--json", "1234"]).pids; // [1234]
 * ```
 */
export function parseCli(argv: string[]): CliOptions {
  // parseArgs would call "-5" an unknown option; it is a bad PID.
  const negative = argv.find((arg) => /^-[0-9]+$/.test(arg));
  if (negative !== undefined) {
    throw new UsageError(`invalid PID ${negative}: expected a positive integer`);
  }
  const parsed = scanOptions(argv, {
    json: { type: "boolean" },
    bytes: { type: "boolean" },
    method: { type: "string" },
    "proc-root": { type: "string" },
    help: { type: "boolean", short: "h" },
    version: { type: "boolean", short: "V" },
  });
  const { values } = parsed;
  let positionals = parsed.positionals;
  const maps = positionals[0] === "maps";
  if (maps) {
    positionals = positionals.slice(1);
    if (positionals.length !== 1) throw new UsageError("uss maps takes exactly one PID");
  }
  const method = (values.method ?? "auto") as MethodChoice;
  const text = (name: string) => values[name] as string | undefined;
  const flag = (name: string) => values[name] === true;
  if (!METHODS.includes(method)) {
    throw new UsageError(
      `invalid --method ${JSON.stringify(values.method)}: expected auto, kpagecount or smaps`,
    );
  }
  const procRoot = text("proc-root") ?? "/proc";
  if (procRoot === "") throw new UsageError("--proc-root needs a directory");
  return {
    command: flag("help") ? "help" : flag("version") ? "version" : maps ? "maps" : "processes",
    pids: positionals.map(parsePid),
    json: flag("json"),
    bytes: flag("bytes"),
    method,
    procRoot,
  };
}
