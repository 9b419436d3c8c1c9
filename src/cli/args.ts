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
import { MEASURES } from "../report/measures.ts";
import { SORT_KEYS, type SortKey } from "../report/order.ts";

/** Largest PID Linux can hand out: PIDs stay below PID_MAX_LIMIT (2^22 on 64-bit). */
export const PID_MAX = 4_194_303;

/** A bad command line; the message is one line. */
export class UsageError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Ways to group processes (`file` groups mappings instead). */
export type GroupBy = "user" | "name" | "cgroup" | "file";

/** Output formats. */
export type Format = "table" | "json" | "ndjson" | "csv" | "prometheus";

/** Every output format, for validation. */
export const FORMATS: readonly Format[] = ["table", "json", "ndjson", "csv", "prometheus"];

/** What the command line asks for. */
export interface CliOptions {
  command: "processes" | "maps" | "serve" | "report" | "help" | "version";
  /** PIDs given as arguments: each gets its own row, failures included. */
  pids: number[];
  format: Format;
  /** `--columns`: column ids for tables and CSV, in order; null for the view's default. */
  columns: string[] | null;
  bytes: boolean;
  method: MethodChoice;
  procRoot: string;
  /** Sort key; null keeps each view's default (argument order, or largest USS first). */
  sort: SortKey | null;
  reverse: boolean;
  limit: number | null;
  /** `--user`: a user name or numeric UID, resolved later. */
  user: string | null;
  /** `--name`: matches the command name or the full command line. */
  name: RegExp | null;
  /** `--pid`: restrict the process list to these PIDs. */
  pidFilter: number[] | null;
  by: GroupBy | null;
  tree: number | null;
  group: number[] | null;
  /** `--jobs`: processes read at once; null for the default. */
  jobs: number | null;
  /** `--watch`: seconds between samples; null to measure once. */
  watch: number | null;
  /** `--count`: samples to take in watch mode; null for no end. */
  count: number | null;
  /** `--cgroup`: only processes in this cgroup or below it. */
  cgroup: string | null;
  /** `--cgroup-hierarchy`: which hierarchy names cgroups; null to choose (v1 memory if present). */
  cgroupHierarchy: "v1" | "v2" | null;
  /** The exporter's options (`uss serve`). */
  serve: ServeOptions;
  /** `uss report -o FILE`: where the HTML goes; null (or "-") for stdout. */
  output: string | null;
  /** `uss report --mappings N`: mappings kept per process (the rest merged into "other"). */
  reportMappings: number;
}

/** What `uss serve` is asked for. */
export interface ServeOptions {
  /** Address to listen on. */
  hostname: string;
  port: number;
  /** Groupings to export (`--by`, repeatable). */
  by: ("user" | "name" | "cgroup")[];
  /** The largest processes by USS to export one by one. */
  perProcess: number;
  /** Seconds a measurement is reused for. */
  minInterval: number;
  /** PEM files for TLS, both or neither. */
  tlsCert: string | null;
  tlsKey: string | null;
  /** A file of `user:bcrypt-hash` lines for HTTP basic auth. */
  basicAuthFile: string | null;
}

/** The exporter's default port. */
export const DEFAULT_PORT = 9777;

/** The text of `uss --help`; the figures and their meanings come from the table of measures. */
export function helpText(): string {
  const width = Math.max(...MEASURES.map((measure) => measure.json.length)) + 2;
  const figures = MEASURES.map((measure) => `  ${measure.json.padEnd(width)}${measure.help}`);
  const own = MEASURES.filter((measure) => measure.exactInGroups).map((measure) => measure.json);
  const ownList = `${own.slice(0, -1).join(", ")}\nand ${own.at(-1)} are its own`;
  return `uss: how much memory a process really owns (USS, PSS, RSS, swap)

Usage:
  uss [OPTIONS]              every readable process, largest USS first
  uss [OPTIONS] PID...       the given processes, one row each (a thread ID
                             stands for its process)
  uss maps [OPTIONS] PID     where one process's memory lives, one row per mapping
  uss serve [OPTIONS]        a Prometheus exporter (see "Exporter" below)
  uss report [OPTIONS] [-o FILE.html]   a self-contained HTML report with a treemap
                             (groups by --by, default name; -o - or none: stdout)

Views and groups:
  --by user|name|cgroup      one row per user / program / memory cgroup, with exact
                             group USS (and, per cgroup, the kernel's own charge)
  --by file                  per mapped file: the processes mapping it and their sums
                             (with "maps PID": merge the mappings of one file)
  --tree PID                 PID and all its descendants as one group
  --group PID,PID,...        these processes as one group

Selecting and ordering (every process, --by):
  --user NAME|UID            only processes of this user
  --name REGEX               only processes whose name or command line matches
  --pid PID,PID,...          only these processes
  --cgroup PATH              only processes in cgroup PATH or below it
                             (with PIDs as arguments these are a usage error)
  --cgroup-hierarchy v1|v2   which hierarchy names cgroups (default: v1's memory
                             controller where it exists, else the unified one)
  --sort FIGURE|pid|name     (default uss, largest first)
  --reverse                  reverse the order
  --limit N                  print the first N rows

Output:
  --format table|json|ndjson|csv|prometheus   (default table)
  --json                     same as --format json (sizes in integer bytes)
  -c, --columns LIST         table and CSV columns, e.g. pid,name,uss,pss,uss%,command
                             (FIGURE% is its share of memory; see the README for all)
  --bytes                    exact byte counts instead of KiB/MiB/GiB
  --watch SECONDS            measure again every SECONDS: a table redrawn in place on a
                             terminal, else one JSON object per sample (NDJSON)
  --count N                  with --watch: stop after N samples

Report (uss report):
  -o, --output FILE          write the HTML to FILE (needs --allow-write=FILE when scoped)
  --mappings N               mappings shown per process, the rest merged (default 24)

Exporter (uss serve):
  --listen HOST:PORT         where to listen (default 127.0.0.1:${DEFAULT_PORT}; another
                             address only when given)
  --by name|user|cgroup      groups to export, repeatable (default name)
  --per-process N            also export the N largest processes by USS (default 10; 0:
                             none, as PID labels churn)
  --min-interval SECONDS     reuse a measurement for this long (default 5)
  --tls-cert FILE --tls-key FILE        serve HTTPS
  --basic-auth-file FILE     require HTTP basic auth: user:bcrypt-hash lines

Method:
  --method auto|kpagecount|smaps   exact frame counting (root) or the kernel's smaps
  --proc-root DIR            read a procfs mounted at DIR instead of /proc
  --jobs N                   read N processes at once (default: CPUs, 2 to 8); figures
                             do not depend on it
  -h, --help                 show this help
  -V, --version              show the version

Figures, in bytes (a group's ${ownList}, the others its members' sums):
${figures.join("\n")}
Swap is what the page tables point at: pages in the swap cache count as resident,
zswap/zram are swap like any other, and swapped tmpfs/shmem pages do not show
(the kernel's smaps Swap counts them, its SwapPss does not).

Exit codes: 0 all measured, 1 some process given by PID could not be measured,
2 usage error, 3 cannot read procfs here, 4 internal error, 5 cannot write output.`;
}

const METHODS: readonly MethodChoice[] = ["auto", "kpagecount", "smaps"];
const GROUP_BY: readonly GroupBy[] = ["user", "name", "cgroup", "file"];

/** How an option is spelled and whether it takes a value. */
export interface OptionSpec {
  type: "boolean" | "string";
  short?: string;
  /** The option may be given several times: its value is then a list. */
  multiple?: boolean;
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
): { values: Record<string, string | boolean | string[]>; positionals: string[] } {
  const values: Record<string, string | boolean | string[]> = {};
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
    if (!arg.startsWith("-") || arg === "-" || /^-[0-9]+$/.test(arg)) {
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
    let value: string;
    if (equals >= 0 && long) value = arg.slice(equals + 1);
    else if (index + 1 >= argv.length) throw new UsageError(`option --${name} needs a value`);
    else value = argv[++index];
    if (spec.multiple) values[name] = [...(values[name] as string[] | undefined ?? []), value];
    else values[name] = value;
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
  const { values, positionals: words } = scanOptions(argv, {
    json: { type: "boolean" },
    format: { type: "string" },
    columns: { type: "string", short: "c" },
    watch: { type: "string" },
    count: { type: "string" },
    bytes: { type: "boolean" },
    method: { type: "string" },
    "proc-root": { type: "string" },
    sort: { type: "string" },
    reverse: { type: "boolean" },
    limit: { type: "string" },
    user: { type: "string" },
    name: { type: "string" },
    pid: { type: "string" },
    by: { type: "string", multiple: true },
    tree: { type: "string" },
    group: { type: "string" },
    jobs: { type: "string" },
    cgroup: { type: "string" },
    "cgroup-hierarchy": { type: "string" },
    listen: { type: "string" },
    "per-process": { type: "string" },
    "min-interval": { type: "string" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    "basic-auth-file": { type: "string" },
    output: { type: "string", short: "o" },
    mappings: { type: "string" },
    help: { type: "boolean", short: "h" },
    version: { type: "boolean", short: "V" },
  });
  const text = (name: string) => {
    const value = values[name];
    return Array.isArray(value) ? value.at(-1) : value as string | undefined;
  };
  const flag = (name: string) => values[name] === true;
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const value = text(name) ?? fallback;
    if (!allowed.includes(value as T)) {
      throw new UsageError(
        `invalid --${name} ${JSON.stringify(value)}: expected ${allowed.join(", ")}`,
      );
    }
    return value as T;
  };
  const pidList = (name: string) => {
    const value = text(name);
    if (value === undefined) return null;
    const pids = value.split(",").filter((part) => part !== "").map(parsePid);
    if (pids.length === 0) throw new UsageError(`--${name} needs at least one PID`);
    return pids;
  };

  const maps = words[0] === "maps";
  const serving = words[0] === "serve";
  const reporting = words[0] === "report";
  const positionals = maps || serving || reporting ? words.slice(1) : words;
  if (maps && positionals.length !== 1) throw new UsageError("uss maps takes exactly one PID");
  if (serving && positionals.length > 0) throw new UsageError("uss serve takes no PID");
  if (reporting && positionals.length > 0) {
    throw new UsageError("uss report takes no PID (use --pid, --name, --user or --cgroup)");
  }
  const pids = positionals.map(parsePid);

  const positive = (name: string, max = Number.MAX_SAFE_INTEGER): number | null => {
    const value = text(name);
    if (value === undefined) return null;
    if (!/^[0-9]+$/.test(value) || Number(value) < 1 || Number(value) > max) {
      throw new UsageError(
        `invalid --${name} ${JSON.stringify(value)}: expected an integer from 1 to ${max}`,
      );
    }
    return Number(value);
  };
  const limit = positive("limit");
  let watch: number | null = null;
  if (text("watch") !== undefined) {
    watch = Number(text("watch"));
    if (!/^[0-9]+(\.[0-9]+)?$/.test(text("watch")!) || watch < 0.1 || watch > 86400) {
      throw new UsageError(
        `invalid --watch ${JSON.stringify(text("watch"))}: expected seconds from 0.1 to 86400`,
      );
    }
  }
  const count = positive("count");
  if (count !== null && watch === null) throw new UsageError("--count needs --watch");
  let format: Format = oneOf("format", FORMATS, "table");
  if (flag("json")) {
    if (text("format") !== undefined && format !== "json") {
      throw new UsageError(`--json contradicts --format ${format}`);
    }
    format = "json";
  }
  let columns: string[] | null = null;
  if (text("columns") !== undefined) {
    columns = text("columns")!.split(",").map((part) => part.trim()).filter((part) => part);
    if (columns.length === 0) throw new UsageError("--columns needs at least one column");
    if (format !== "table" && format !== "csv") {
      throw new UsageError("--columns chooses table and CSV columns; JSON has every key");
    }
  }
  if (watch !== null && (format === "csv" || format === "prometheus")) {
    throw new UsageError(
      "--watch prints a table on a terminal or JSON lines: use --format table|json|ndjson",
    );
  }
  let name: RegExp | null = null;
  if (text("name") !== undefined) {
    try {
      name = new RegExp(text("name")!);
    } catch (error) {
      throw new UsageError(`invalid --name: ${(error as Error).message}`);
    }
  }
  const user = text("user") ?? null;
  if (user === "") throw new UsageError("--user needs a user name or UID");
  const procRoot = text("proc-root") ?? "/proc";
  if (procRoot === "") throw new UsageError("--proc-root needs a directory");

  const byList = (values.by as string[] | undefined) ?? [];
  if (byList.length > 1 && !serving) {
    throw new UsageError("--by is given once (uss serve takes several)");
  }
  const by = text("by") === undefined ? null : oneOf("by", GROUP_BY, "user");
  const tree = text("tree") === undefined ? null : parsePid(text("tree")!);
  const group = pidList("group");
  const views = [
    by !== null && !(maps && by === "file"),
    tree !== null,
    group !== null,
    pids.length > 0 && !maps,
  ];
  if (views.filter(Boolean).length > 1) {
    throw new UsageError("choose one of: PIDs as arguments, --by, --tree, --group");
  }
  if (maps && by !== null && by !== "file") {
    throw new UsageError("uss maps only supports --by file");
  }
  if (maps && (tree !== null || group !== null)) {
    throw new UsageError("uss maps takes one PID, not --tree or --group");
  }
  const filters = user !== null || name !== null || text("pid") !== undefined;
  if (filters && (pids.length > 0 || tree !== null || group !== null)) {
    throw new UsageError(
      "--user, --name and --pid select among all processes; with PIDs, --tree or --group there is nothing to select",
    );
  }
  if (format === "prometheus" && (maps || by === "file")) {
    throw new UsageError("--format prometheus exports processes and groups, not mappings");
  }
  const cgroupText = text("cgroup") ?? null;
  if (cgroupText !== null && !cgroupText.startsWith("/")) {
    throw new UsageError(`invalid --cgroup ${JSON.stringify(cgroupText)}: a path starting with /`);
  }
  // As /proc/PID/cgroup writes paths: "/a/b", never "/a//b/" (a shell completion's slash).
  const cgroup = cgroupText?.replace(/\/{2,}/g, "/").replace(/(.)\/$/, "$1") ?? null;
  if (cgroup !== null && (pids.length > 0 || tree !== null || group !== null)) {
    throw new UsageError("--cgroup selects among all processes; PIDs, --tree or --group say which");
  }
  const serve = serveOptions(serving, text, byList);
  if (serving || reporting) {
    // Both measure every process (after the filters) by --by groups and render
    // on their own: the views' ordering and output options mean nothing there.
    const viewOnly = [
      ["--tree", tree !== null],
      ["--group", group !== null],
      ["--watch", watch !== null],
      ["--format", format !== "table"],
      ["--columns", columns !== null],
      ["--sort", text("sort") !== undefined],
      ["--reverse", flag("reverse")],
      ["--limit", limit !== null],
      ["--bytes", flag("bytes")],
    ] as const;
    const given = viewOnly.filter(([, present]) => present).map(([name]) => name);
    if (given.length > 0) {
      throw new UsageError(
        `uss ${serving ? "serve" : "report"} takes --by and filters, not ${given.join(", ")}`,
      );
    }
  }
  if (reporting && by === "file") throw new UsageError("uss report groups by user, name or cgroup");

  return {
    command: flag("help")
      ? "help"
      : flag("version")
      ? "version"
      : maps
      ? "maps"
      : serving
      ? "serve"
      : reporting
      ? "report"
      : "processes",
    pids,
    format,
    columns,
    bytes: flag("bytes"),
    method: oneOf("method", METHODS, "auto"),
    procRoot,
    sort: text("sort") === undefined ? null : oneOf("sort", SORT_KEYS, "uss"),
    reverse: flag("reverse"),
    limit,
    user,
    name,
    pidFilter: pidList("pid"),
    by,
    tree,
    group,
    jobs: positive("jobs", 64),
    watch,
    count,
    cgroup,
    cgroupHierarchy: text("cgroup-hierarchy") === undefined
      ? null
      : oneOf("cgroup-hierarchy", ["v1", "v2"] as const, "v2"),
    serve,
    output: reportOption(reporting, text("output") ?? null, "-o/--output"),
    reportMappings: reportOption(reporting, positive("mappings", 10_000), "--mappings") ?? 24,
  };
}

/** A `uss report` option: only with the report command. */
function reportOption<T>(reporting: boolean, value: T | null, name: string): T | null {
  if (value !== null && !reporting) throw new UsageError(`${name} is an option of uss report`);
  return value;
}

/** The exporter's options, checked (defaults when not serving). */
function serveOptions(
  serving: boolean,
  text: (name: string) => string | undefined,
  byList: string[],
): ServeOptions {
  const only = ["listen", "per-process", "min-interval", "tls-cert", "tls-key", "basic-auth-file"];
  const misplaced = only.find((name) => text(name) !== undefined);
  if (!serving && misplaced) throw new UsageError(`--${misplaced} is an option of uss serve`);
  let hostname = "127.0.0.1";
  let port = DEFAULT_PORT;
  const listen = text("listen");
  if (listen !== undefined) {
    const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]*)):([0-9]{1,5})$/.exec(listen);
    if (!match || Number(match[3]) > 65535) {
      throw new UsageError(`invalid --listen ${JSON.stringify(listen)}: expected HOST:PORT`);
    }
    hostname = match[1] ?? (match[2] === "" ? "0.0.0.0" : match[2]);
    port = Number(match[3]);
  }
  for (const by of byList) {
    if (!["user", "name", "cgroup"].includes(by) && serving) {
      throw new UsageError(
        `invalid --by ${JSON.stringify(by)} for uss serve: expected name, user or cgroup`,
      );
    }
  }
  const perProcess = text("per-process");
  if (perProcess !== undefined && !/^[0-9]+$/.test(perProcess)) {
    throw new UsageError(`invalid --per-process ${JSON.stringify(perProcess)}: expected a count`);
  }
  const interval = text("min-interval");
  if (
    interval !== undefined && (!/^[0-9]+(\.[0-9]+)?$/.test(interval) || Number(interval) > 3600)
  ) {
    throw new UsageError(`invalid --min-interval ${JSON.stringify(interval)}: expected seconds`);
  }
  const tlsCert = text("tls-cert") ?? null;
  const tlsKey = text("tls-key") ?? null;
  if ((tlsCert === null) !== (tlsKey === null)) {
    throw new UsageError("--tls-cert and --tls-key go together");
  }
  return {
    hostname,
    port,
    by: byList.length > 0 ? byList as ServeOptions["by"] : ["name"],
    perProcess: perProcess === undefined ? 10 : Number(perProcess),
    minInterval: interval === undefined ? 5 : Number(interval),
    tlsCert,
    tlsKey,
    basicAuthFile: text("basic-auth-file") ?? null,
  };
}
