/**
 * Command-line parsing: the only module that knows the option syntax (so moving
 * from `node:util` to `@std/cli` touches this file alone).
 *
 * @module
 */

import { parseArgs } from "node:util";
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
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: "boolean" },
        bytes: { type: "boolean" },
        method: { type: "string" },
        "proc-root": { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
    });
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new UsageError(message.replace(/\. To specify a positional argument.*$/, ""));
  }
  const { values } = parsed;
  let positionals = parsed.positionals;
  const maps = positionals[0] === "maps";
  if (maps) {
    positionals = positionals.slice(1);
    if (positionals.length !== 1) throw new UsageError("uss maps takes exactly one PID");
  }
  const method = (values.method ?? "auto") as MethodChoice;
  if (!METHODS.includes(method)) {
    throw new UsageError(
      `invalid --method ${JSON.stringify(values.method)}: expected auto, kpagecount or smaps`,
    );
  }
  const procRoot = values["proc-root"] ?? "/proc";
  if (procRoot === "") throw new UsageError("--proc-root needs a directory");
  return {
    command: values.help ? "help" : values.version ? "version" : maps ? "maps" : "processes",
    pids: positionals.map(parsePid),
    json: values.json ?? false,
    bytes: values.bytes ?? false,
    method,
    procRoot,
  };
}
