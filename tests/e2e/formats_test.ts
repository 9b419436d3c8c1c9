/**
 * End-to-end: the output formats of `uss` (`--format table|json|ndjson|csv|prometheus`,
 * `-c/--columns`) print the same figures as `--json` for the same view, on
 * real stopped fixtures: a `workers cow` tree (tests/fixtures/workers.c, which
 * shares no frame outside its region, so its figures never move) and a
 * `layouts cow` pair (tests/fixtures/layouts.c, whose [vdso] page is shared
 * with every process on the machine, so its PSS moves a few bytes whenever a
 * process starts or exits).
 *
 * The reference for every run in another format (CSV, Prometheus, NDJSON, and
 * a `--bytes` table of chosen columns) is the JSON of the same view run just
 * before and just after it. The other format must match them exactly; the
 * triple is run again (up to six times) until it does, as a process starting
 * or exiting during the middle run alone moves the layouts PSS. On the last
 * attempt every figure but PSS must still match exactly, and PSS may be off by
 * at most the [vdso] size per fixture process (all it shares with others).
 *
 * Also: `-c pid,name,uss,uss%` in the table and in CSV (order, headers, the
 * share equals USS / MemTotal from /proc/meminfo), usage errors of `-c` and
 * `--format` (exit 2, one line on stderr), and process names that need
 * escaping (a copy of the layouts binary under a strange file name).
 *
 * The CSV is read with a small RFC 4180 parser written here (quoted fields,
 * doubled quotes, CRLF records), the Prometheus text with a small parser of
 * the text exposition format 0.0.4 (HELP and TYPE before each family's
 * samples, families contiguous, label escapes `\\`, `\"`, `\n` only). When
 * `promtool` is installed (Debian package prometheus) it checks the text too;
 * when it is missing that part is skipped with a message, or fails when
 * USS_TEST_STRICT=1.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  buildFixture,
  type Fixture,
  IS_ROOT,
  missingPids,
  PAGE_SIZE,
  promtoolCheck,
  runUss,
  runUssJson,
  skipOrFail,
  startFixture,
  type UssRun,
} from "../helpers.ts";
import { assertOneLine, literal } from "../env/env_support.ts";
import {
  type GroupJson,
  type ListingJson,
  type MapsJson,
  type ProcessJson,
  SIZE_KEYS,
  startWorkers,
  statOf,
  uniqueName,
  type Workers,
} from "./workers_support.ts";

/** The figures Prometheus exports, per process and per group (README, prometheus.ts). */
const PROCESS_METRICS = ["uss", "pss", "rss", "ram", "swap", "swap_pss", "swap_uss"];
const GROUP_METRICS = ["uss", "uss_sum", "pss", "rss", "ram", "swap", "swap_pss", "swap_uss"];

// ---------------------------------------------------------------------------
// RFC 4180 CSV

/**
 * Parses CSV strictly per RFC 4180: records end with CRLF (the last one too),
 * fields are separated by commas, a field is either plain (no quote, comma,
 * CR or LF) or quoted (quotes doubled inside; commas, CR and LF allowed).
 */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let fieldStart = true;
  let quoted = false;
  for (let i = 0; i < text.length;) {
    const char = text[i];
    const where = `CSV offset ${i} (${JSON.stringify(text.slice(Math.max(0, i - 20), i + 20))})`;
    if (quoted) {
      if (char === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        assert.ok(
          i === text.length || text[i] === "," || text[i] === "\r",
          `${where}: a closing quote must end the field`,
        );
        continue;
      }
      field += char;
      i++;
      continue;
    }
    if (char === '"') {
      assert.ok(fieldStart, `${where}: a quote inside an unquoted field`);
      quoted = true;
      fieldStart = false;
      i++;
    } else if (char === ",") {
      record.push(field);
      field = "";
      fieldStart = true;
      i++;
    } else if (char === "\r") {
      assert.equal(text[i + 1], "\n", `${where}: CR without LF`);
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      fieldStart = true;
      i += 2;
    } else {
      assert.notEqual(char, "\n", `${where}: a bare LF line break (RFC 4180 wants CRLF)`);
      field += char;
      fieldStart = false;
      i++;
    }
  }
  assert.ok(!quoted, "CSV ends inside a quoted field");
  assert.ok(record.length === 0 && field === "" && fieldStart, "the last record ends with CRLF");
  return records;
}

/** CSV with a header row as objects by column id; every record as wide as the header. */
function csvTable(text: string): { header: string[]; rows: Record<string, string>[] } {
  const [header, ...records] = parseCsv(text);
  assert.ok(header, "a header row");
  assert.equal(new Set(header).size, header.length, `unique column ids: ${header}`);
  return {
    header,
    rows: records.map((record, index) => {
      assert.equal(record.length, header.length, `record ${index + 1} has ${record.length} fields`);
      return Object.fromEntries(header.map((id, column) => [id, record[column]]));
    }),
  };
}

/** A CSV size field: an integer of bytes, or empty for unknown (null). */
function csvBytes(field: string, what: string): number | null {
  if (field === "") return null;
  assert.match(field, /^-?[0-9]+$/, `${what}: ${JSON.stringify(field)} is not integer bytes`);
  return Number(field);
}

// ---------------------------------------------------------------------------
// Prometheus text exposition format 0.0.4

interface Sample {
  labels: Record<string, string>;
  value: number;
}

interface Family {
  name: string;
  help: string | null;
  type: string | null;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/** One sample line: `name{label="value",...} value [timestamp]`. */
function parseSampleLine(line: string, at: string): { name: string } & Sample {
  const name = METRIC_NAME.exec(line)?.[0];
  assert.ok(name, `${at}: no metric name`);
  let pos = name.length;
  const labels: Record<string, string> = {};
  if (line[pos] === "{") {
    pos++;
    while (line[pos] !== "}") {
      const label = LABEL_NAME.exec(line.slice(pos))?.[0];
      assert.ok(label, `${at}: bad label name at ${pos}`);
      assert.ok(!(label in labels), `${at}: label ${label} twice`);
      pos += label.length;
      assert.equal(line.slice(pos, pos + 2), '="', `${at}: expected =" after ${label}`);
      pos += 2;
      let value = "";
      for (;;) {
        const char = line[pos++];
        assert.ok(char !== undefined, `${at}: unterminated label value`);
        if (char === '"') break;
        if (char === "\\") {
          const escaped = line[pos++];
          const meaning = ({ "\\": "\\", '"': '"', n: "\n" } as Record<string, string>)[escaped];
          assert.ok(
            meaning !== undefined,
            `${at}: invalid escape sequence \\${escaped} (only \\\\, \\" and \\n)`,
          );
          value += meaning;
        } else value += char;
      }
      labels[label] = value;
      if (line[pos] === ",") pos++;
      else assert.equal(line[pos], "}", `${at}: expected , or } after label ${label}`);
    }
    pos++;
  }
  const rest = /^[ \t]+(\S+)(?:[ \t]+(-?[0-9]+))?[ \t]*$/.exec(line.slice(pos));
  assert.ok(rest, `${at}: expected " VALUE [TIMESTAMP]" after the labels`);
  const value = /^[+-]?Inf$|^NaN$/.test(rest[1])
    ? Number(rest[1].replace("Inf", "Infinity"))
    : Number(rest[1]);
  assert.ok(!Number.isNaN(value) || rest[1] === "NaN", `${at}: bad value ${rest[1]}`);
  return { name, labels, value };
}

/**
 * Parses exposition text into families, checking: a final newline, no CR,
 * HELP and TYPE (once each) before the first sample of every family, each
 * family's lines contiguous, no series twice.
 */
function parseExposition(text: string): Map<string, Family> {
  assert.ok(text.endsWith("\n"), "the text ends with a line feed");
  assert.ok(!text.includes("\r"), "no CR in the text");
  const families = new Map<string, Family>();
  const series = new Set<string>();
  let current: string | null = null;
  const enter = (name: string, at: string): Family => {
    if (name !== current) {
      assert.ok(!families.has(name), `${at}: family ${name} appears again after ${current}`);
      families.set(name, { name, help: null, type: null, samples: [] });
      current = name;
    }
    return families.get(name)!;
  };
  text.slice(0, -1).split("\n").forEach((line, index) => {
    const at = `line ${index + 1} ${JSON.stringify(line)}`;
    if (line.trim() === "") return;
    if (line.startsWith("#")) {
      const meta = /^#\s+(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s(.*))?$/.exec(line);
      if (!meta) return; // a plain comment
      const family = enter(meta[2], at);
      assert.equal(family.samples.length, 0, `${at}: ${meta[1]} after the family's samples`);
      if (meta[1] === "HELP") {
        assert.equal(family.help, null, `${at}: a second HELP`);
        family.help = (meta[3] ?? "").replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
      } else {
        assert.equal(family.type, null, `${at}: a second TYPE`);
        assert.match(meta[3] ?? "", /^(counter|gauge|histogram|summary|untyped)$/, at);
        family.type = meta[3];
      }
      return;
    }
    const { name, ...sample } = parseSampleLine(line, at);
    const family = enter(name, at);
    assert.ok(family.help !== null && family.help !== "", `${at}: no HELP before the samples`);
    assert.ok(family.type !== null, `${at}: no TYPE before the samples`);
    const id = `${name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    assert.ok(!series.has(id), `${at}: the same series twice`);
    series.add(id);
    family.samples.push(sample);
  });
  return families;
}

/** Asserts promtool accepts `text`, or reports the skip (a failure under USS_TEST_STRICT=1). */
async function assertPromtoolAccepts(text: string, what: string): Promise<void> {
  const result = await promtoolCheck(text);
  if (result === null) {
    return skipOrFail(`promtool is not installed (Debian package prometheus): ${what} not checked`);
  }
  assert.ok(result.ok, `promtool check metrics rejects ${what}:\n${result.output}\n${text}`);
  console.log(`promtool check metrics: ${what} passes`);
}

// ---------------------------------------------------------------------------
// Comparing against the JSON of the same view

/** A run in another format with the JSON of the same view just before and after it. */
interface Bracketed<T> {
  run: UssRun;
  before: T;
  after: T;
}

const ATTEMPTS = 6;

/**
 * What may differ between two runs of the same view and is not a figure of
 * the processes measured: the tool's own PID and its launchers', and the
 * machine's used memory.
 */
const MACHINE_KEYS = ["excluded", "used_memory"];

/** A JSON value as text without {@link MACHINE_KEYS}. */
function comparable(json: unknown): string {
  return JSON.stringify(json, (key, value) => MACHINE_KEYS.includes(key) ? undefined : value);
}

/** Runs `uss <variant> <args>` between two `uss --json <args>` runs. */
async function bracketed<T>(
  args: string[],
  variant: string[],
  expectedCode: number,
): Promise<Bracketed<T>> {
  const json = async () => {
    const result = await runUssJson<T>(args);
    assert.equal(result.code, expectedCode, `uss --json ${args.join(" ")}: ${result.stderr}`);
    return result.json;
  };
  const before = await json();
  const run = await runUss([...variant, ...args]);
  assert.equal(
    run.code,
    expectedCode,
    `uss ${[...variant, ...args].join(" ")}: exit ${run.code}\n${run.stderr}`,
  );
  return { run, before, after: await json() };
}

/**
 * How far a PSS figure may be from the JSON runs around it on the last
 * attempt: the only frames the fixtures share with processes outside them
 * are [vdso]'s (layouts.c; workers.c unmaps it), whose PSS share is at most
 * its size per process and moves whenever any process starts or exits, also
 * while only the middle run is running. Five fixture processes at most per row.
 */
const VDSO_BYTES = (() => {
  const line = Deno.readTextFileSync("/proc/self/maps").split("\n")
    .find((text) => text.endsWith("[vdso]"));
  if (!line) return 0;
  const [start, end] = line.split(" ")[0].split("-").map((hex) => parseInt(hex, 16));
  return end - start;
})();
const LAST_ATTEMPT_PSS_SLACK = 5 * VDSO_BYTES;

/** The PSS slack of the comparison under way (0: exact). */
let pssSlack = 0;

/**
 * Runs `uss <variant> <args>` between two `uss --json <args>` runs and checks
 * it against them with `check`, exactly, again until that passes (at most
 * {@link ATTEMPTS} times; on the last one PSS figures may be
 * {@link LAST_ATTEMPT_PSS_SLACK} off). Every other figure must match exactly
 * on every attempt, so a real difference fails on the last one.
 */
async function compareToJson<T>(
  args: string[],
  variant: string[],
  check: (bracket: Bracketed<T>) => void,
  expectedCode = 0,
): Promise<Bracketed<T>> {
  for (let attempt = 1;; attempt++) {
    const bracket = await bracketed<T>(args, variant, expectedCode);
    const last = attempt === ATTEMPTS;
    pssSlack = last ? LAST_ATTEMPT_PSS_SLACK : 0;
    try {
      check(bracket);
      if (last) {
        console.log(`${variant.join(" ")} ${args.join(" ")}: never quiet; PSS within ${pssSlack}`);
      }
      return bracket;
    } catch (error) {
      if (last) throw error;
    } finally {
      pssSlack = 0;
    }
  }
}

/** True for PSS-like figures (pss, swap_pss) at the end of a path. */
const isPss = (what: string) => /(^|[._])(swap_)?pss$/.test(what);

/**
 * Asserts one figure: equal to the references when they agree; otherwise only
 * PSS may differ between them, and the figure must lie between them (±1 byte
 * of rounding, and the slack of the last attempt).
 */
function assertFigure(actual: unknown, before: unknown, after: unknown, what: string): void {
  if (before === after && (pssSlack === 0 || !isPss(what) || typeof before !== "number")) {
    assert.equal(actual, before, what);
    return;
  }
  assert.ok(
    isPss(what) && typeof before === "number" && typeof after === "number",
    `${what}: ${before} then ${after} in the JSON runs around it: only PSS may move`,
  );
  const slack = before === after ? pssSlack : 1 + pssSlack;
  assert.ok(
    typeof actual === "number" && actual >= Math.min(before, after) - slack &&
      actual <= Math.max(before, after) + slack,
    `${what}: ${actual} is outside the JSON runs' ${before}..${after} (±${slack})`,
  );
}

/** Deep comparison of a JSON value with the references, leaf by leaf with {@link assertFigure}. */
function assertSameJson(actual: unknown, before: unknown, after: unknown, path: string): void {
  if (pssSlack === 0 && comparable(before) === comparable(after)) {
    assert.deepEqual(JSON.parse(comparable(actual)), JSON.parse(comparable(before)), path);
    return;
  }
  if (
    typeof before === "object" && before !== null && typeof after === "object" && after !== null
  ) {
    assert.equal(typeof actual, "object", path);
    assert.deepEqual(Object.keys(actual as object), Object.keys(before), `${path}: keys`);
    for (const key of Object.keys(before)) {
      if (MACHINE_KEYS.includes(key)) continue;
      assertSameJson(
        (actual as Record<string, unknown>)[key],
        (before as Record<string, unknown>)[key],
        (after as Record<string, unknown>)[key],
        `${path}.${key}`,
      );
    }
    return;
  }
  assertFigure(actual, before, after, path);
}

/** Rows of the two references by a key, both present. */
function pairs<Row>(before: Row[], after: Row[], key: (row: Row) => string) {
  const later = new Map(after.map((row) => [key(row), row]));
  assert.equal(before.length, after.length, "the same rows in both JSON runs");
  return before.map((row) => {
    const other = later.get(key(row));
    assert.ok(other, `row ${key(row)} in both JSON runs`);
    return { key: key(row), before: row, after: other };
  });
}

/** The stable ordering of rows does not matter here: compare sets of keys. */
function sameKeys(actual: Iterable<string>, expected: Iterable<string>, what: string): void {
  assert.deepEqual([...actual].sort(), [...expected].sort(), what);
}

// ---------------------------------------------------------------------------
// Per format and row kind
//
// Figures may be added to the JSON (none renamed): every CSV column and every
// exported family is compared with the JSON key of the same name, and the
// figures known today (SIZE_KEYS, PROCESS_METRICS, GROUP_METRICS) must be there.

type JsonRow = Record<string, unknown>;

/**
 * Asserts the CSV header: `first` columns first, `last` columns last, every
 * figure of `figures` in between (in that order), and returns the columns.
 */
function assertHeader(
  header: string[],
  first: string[],
  figures: readonly string[],
  last: string[],
): void {
  assert.deepEqual(header.slice(0, first.length), first, `CSV header starts: ${header}`);
  assert.deepEqual(header.slice(header.length - last.length), last, `CSV header ends: ${header}`);
  const middle = header.slice(first.length, header.length - last.length);
  assert.deepEqual(middle.filter((id) => figures.includes(id)), [...figures], `figures: ${header}`);
}

/**
 * Compares one CSV record with the JSON row of the same thing: each column
 * with the JSON key of its name (or `derived[column]` of the row): text
 * exactly (null is an empty field), numbers with {@link assertFigure}.
 */
function assertRecord(
  record: Record<string, string>,
  before: JsonRow,
  after: JsonRow,
  what: string,
  derived: Record<string, (row: JsonRow) => unknown> = {},
): void {
  for (const [column, field] of Object.entries(record)) {
    const value = derived[column] ?? ((row: JsonRow) => row[column]);
    const b = value(before), a = value(after);
    const at = `${what}.${column}`;
    if (b === undefined && column === "user") {
      assert.equal(field, "", `${at}: no owner name`); // `user` is left out of JSON when unknown
    } else if (typeof b === "number" || typeof a === "number") {
      assertFigure(csvBytes(field, at), b, a, at);
    } else {
      assert.ok(b === null || typeof b === "string", `${at}: the CSV column has no JSON key`);
      assert.equal(field, b ?? "", at);
    }
  }
}

/** CSV of processes against the JSON process rows (given PIDs or a listing). */
function assertProcessCsv(text: string, before: ProcessJson[], after: ProcessJson[]): void {
  const { header, rows } = csvTable(text);
  assertHeader(header, ["pid", "ppid", "user", "name"], SIZE_KEYS, ["method", "state", "error"]);
  const byPid = new Map(rows.map((row) => [row.pid, row]));
  assert.equal(byPid.size, rows.length, "one record per PID");
  const expected = pairs(before, after, (row) => String(row.pid));
  sameKeys(byPid.keys(), expected.map((pair) => pair.key), "the same PIDs as --json");
  for (const { key, before: b, after: a } of expected) {
    assertRecord(byPid.get(key)!, b as unknown as JsonRow, a as unknown as JsonRow, `CSV ${key}`);
  }
}

/** CSV of groups against the JSON groups. */
function assertGroupCsv(text: string, before: GroupJson[], after: GroupJson[]): void {
  const { header, rows } = csvTable(text);
  assertHeader(
    header,
    ["group", "procs", "uss", "uss_sum"],
    SIZE_KEYS.filter((key) => key !== "uss"),
    ["method"],
  );
  const byGroup = new Map(rows.map((row) => [row.group, row]));
  const expected = pairs(before, after, (group) => group.group);
  sameKeys(byGroup.keys(), expected.map((pair) => pair.key), "the same groups as --json");
  for (const { key, before: b, after: a } of expected) {
    assertRecord(
      byGroup.get(key)!,
      b as unknown as JsonRow,
      a as unknown as JsonRow,
      `CSV group ${key}`,
      { procs: (row) => row.processes },
    );
  }
}

/** CSV of `maps PID` against the JSON mappings. */
function assertMapsCsv(text: string, before: MapsJson, after: MapsJson): void {
  const { header, rows } = csvTable(text);
  assertHeader(header, ["address", "perms", "offset", "device", "inode"], SIZE_KEYS, ["mapping"]);
  const byAddress = new Map(rows.map((row) => [row.address, row]));
  assert.equal(byAddress.size, rows.length, "one record per mapping");
  const expected = pairs(before.mappings, after.mappings, (row) => `${row.start}-${row.end}`);
  sameKeys(byAddress.keys(), expected.map((pair) => pair.key), "the same mappings as --json");
  for (const { key, before: b, after: a } of expected) {
    assertRecord(
      byAddress.get(key)!,
      b as unknown as JsonRow,
      a as unknown as JsonRow,
      `CSV mapping ${key}`,
      {
        address: (row) => `${row.start}-${row.end}`,
        // The file, or [anon] for unnamed anonymous memory; " (deleted)" when unlinked.
        mapping: (row) =>
          (row.path === "" ? "[anon]" : row.path) + (row.deleted ? " (deleted)" : ""),
      },
    );
  }
}

/** The names of the families that do not start with `prefix`. */
function others(families: Map<string, Family>, prefix: string): string[] {
  return [...families.keys()].filter((name) => !name.startsWith(prefix));
}

/** The samples of a family by one label's value (which must be unique). */
function samplesBy(family: Family, label: string): Map<string, Sample> {
  const map = new Map(family.samples.map((sample) => [sample.labels[label], sample]));
  assert.equal(map.size, family.samples.length, `${family.name}: one sample per ${label}`);
  return map;
}

/**
 * The JSON key each family named `prefix<key>_bytes` (or `prefix<key>` in
 * `extra`) reports; every family with the prefix must be one of them, and
 * every key of `required` must have its family.
 */
function familyKeys(
  families: Map<string, Family>,
  prefix: string,
  required: readonly string[],
  extra: Record<string, string> = {},
): Map<string, string> {
  const keys = new Map<string, string>();
  for (const name of families.keys()) {
    if (!name.startsWith(prefix)) continue;
    const key = extra[name] ?? /^(.+)_bytes$/.exec(name.slice(prefix.length))?.[1];
    assert.ok(key, `family ${name}: ${prefix}<figure>_bytes`);
    keys.set(name, key);
  }
  for (const key of required) {
    assert.ok([...keys.values()].includes(key), `family for ${key} in ${[...families.keys()]}`);
  }
  return keys;
}

/** Prometheus families of processes against the JSON process rows. */
function assertProcessMetrics(
  families: Map<string, Family>,
  before: ProcessJson[],
  after: ProcessJson[],
): void {
  const rows = pairs(before, after, (row) => String(row.pid));
  for (const [name, key] of familyKeys(families, "uss_process_", PROCESS_METRICS)) {
    const family = families.get(name)!;
    assert.equal(family.type, "gauge", `${name}: TYPE`);
    const byPid = samplesBy(family, "pid");
    // Measured processes with the figure known; the others have no sample.
    const known = rows.filter((pair) => {
      const value = (pair.before as unknown as JsonRow)[key];
      assert.ok(value !== undefined, `${name}: JSON key ${key}`);
      return pair.before.state === "ok" && value !== null;
    });
    sameKeys(byPid.keys(), known.map((pair) => pair.key), `${name}: the measured PIDs`);
    for (const { key: pid, before: b, after: a } of known) {
      const sample = byPid.get(pid)!;
      assert.deepEqual(
        sample.labels,
        { pid, name: b.name ?? "", user: b.user ?? "" },
        `${name}{pid="${pid}"}: labels`,
      );
      assert.ok(Number.isSafeInteger(sample.value), `${name}{pid="${pid}"}: integer bytes`);
      assertFigure(
        sample.value,
        (b as unknown as JsonRow)[key],
        (a as unknown as JsonRow)[key],
        `${name}{pid=${pid}}.${key}`,
      );
    }
  }
}

/** Prometheus families of groups against the JSON groups. */
function assertGroupMetrics(
  families: Map<string, Family>,
  by: string,
  before: GroupJson[],
  after: GroupJson[],
): void {
  const groups = pairs(before, after, (group) => group.group);
  const keys = familyKeys(families, "uss_group_", [...GROUP_METRICS, "processes"], {
    uss_group_processes: "processes",
  });
  for (const [name, key] of keys) {
    const family = families.get(name)!;
    assert.equal(family.type, "gauge", `${name}: TYPE`);
    const byGroup = samplesBy(family, "group");
    // Groups whose own figure cannot be exact (null in JSON) have no sample.
    const present = groups.filter((pair) => {
      const value = (pair.before as unknown as JsonRow)[key];
      assert.ok(value !== undefined, `${name}: JSON key ${key}`);
      return value !== null;
    });
    sameKeys(byGroup.keys(), present.map((pair) => pair.key), `${name}: the groups`);
    for (const { key: group, before: b, after: a } of present) {
      const sample = byGroup.get(group)!;
      assert.deepEqual(sample.labels, { by, group }, `${name}{group="${group}"}: labels`);
      assertFigure(
        sample.value,
        (b as unknown as JsonRow)[key],
        (a as unknown as JsonRow)[key],
        `${name}{group=${group}}.${key}`,
      );
    }
  }
}

/** `uss_processes{state}` against the counts of the JSON listing. */
function assertStateMetrics(
  families: Map<string, Family>,
  before: ListingJson,
  after: ListingJson,
): void {
  const family = families.get("uss_processes");
  assert.ok(family, "family uss_processes");
  assert.equal(family.type, "gauge");
  const byState = samplesBy(family, "state");
  const expected: Record<string, [number, number]> = {
    measured: [before.total.processes, after.total.processes],
    unreadable: [before.unreadable, after.unreadable],
    exited: [before.exited, after.exited],
    zombie: [before.zombies, after.zombies],
    kernel_thread: [before.kernel_threads, after.kernel_threads],
    failed: [before.failed, after.failed],
  };
  sameKeys(byState.keys(), Object.keys(expected), "uss_processes states");
  for (const [state, [b, a]] of Object.entries(expected)) {
    assertFigure(byState.get(state)!.value, b, a, `uss_processes{state=${state}}`);
  }
}

/** A `--format ndjson` run (one line: timestamp, sample 1, the view's JSON, deltas null). */
function ndjsonBody(text: string): Record<string, unknown> {
  const lines = text.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line of NDJSON:\n${text}`);
  const { timestamp, sample, ...body } = JSON.parse(lines[0]);
  assert.ok(
    typeof timestamp === "string" && !Number.isNaN(Date.parse(timestamp)),
    `timestamp ${timestamp}`,
  );
  assert.ok(Math.abs(Date.parse(timestamp) - Date.now()) < 60_000, "timestamp is now");
  assert.equal(sample, 1);
  const rows = (body.processes ?? body.groups ?? body.files ?? body.mappings) as
    | Record<string, unknown>[]
    | undefined;
  assert.ok(Array.isArray(rows), `rows in ${Object.keys(body)}`);
  for (const row of rows) {
    assert.deepEqual(row.delta, { since_last: null, since_first: null }, "first sample: no delta");
    delete row.delta;
  }
  return body;
}

/**
 * A `--bytes` table of numeric columns `-c pid,<sizes>` as figures by PID
 * (message rows — processes without figures — by PID with their text).
 */
function bytesTable(text: string, sizes: readonly string[]) {
  const [header, ...lines] = text.trimEnd().split("\n");
  assert.deepEqual(header.trim().split(/\s+/), [
    "PID",
    ...sizes.map((size) => ({ uss_anon: "ANON", uss_file: "FILE" }[size] ?? size.toUpperCase())),
  ]);
  const figures = new Map<string, number[]>();
  const messages = new Map<string, string>();
  for (const line of lines) {
    const words = line.trim().split(/\s+/);
    if (!/^[0-9]+$/.test(words[0])) continue; // the total row, footers
    if (
      words.slice(1).every((word) => /^[0-9]+$/.test(word)) && words.length === sizes.length + 1
    ) {
      figures.set(words[0], words.slice(1).map(Number));
    } else messages.set(words[0], words.slice(1).join(" "));
  }
  return { figures, messages };
}

// ---------------------------------------------------------------------------
// Fixtures

interface LayoutsProcess {
  pid: number;
  role: string;
  region: string;
}

/** A workers cow tree named `tag` and a layouts cow pair, disposed together. */
async function startSet(tag: string) {
  const layoutsBinary = await buildFixture("layouts");
  const started: Fixture<unknown>[] = [];
  const dispose = async () => {
    for (const fixture of started) await fixture.kill();
  };
  try {
    const workers: Workers = await startWorkers(["cow", "2", "64", "8"], 3, { name: tag });
    started.push(workers);
    const layouts = await startFixture<LayoutsProcess>(layoutsBinary, ["cow", "64"], 2);
    started.push(layouts);
    return { workers, layouts, layoutsBinary, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

const FORMATS = ["csv", "prometheus", "ndjson"] as const;

Deno.test("every format prints the figures of --json: PIDs, listing, --by name, --tree, maps", async (t) => {
  const tag = uniqueName("fmt");
  await using set = await startSet(tag);
  const { workers, layouts, layoutsBinary } = set;
  const fixturePids = [...workers.pids, ...layouts.processes.map((p) => p.pid)];
  const layoutsParent = layouts.processes.find((p) => p.role === "parent")!.pid;
  const kernelThread = statOf(2)?.kernelThread ? [2] : [];
  const [missing] = missingPids();
  const pattern = `^${tag}$|${literal(layoutsBinary)}`;
  const SIZES = ["uss", "uss_anon", "uss_file", "pss", "rss", "ram", "swap"];

  /** A `--bytes -c pid,SIZES` table against the JSON process rows. */
  const checkTable = (text: string, before: ProcessJson[], after: ProcessJson[]) => {
    const table = bytesTable(text, SIZES);
    for (const { key, before: b, after: a } of pairs(before, after, (r) => String(r.pid))) {
      if (b.state !== "ok") {
        assert.ok(table.messages.get(key)?.includes(b.error!), `table row ${key}: ${b.error}`);
        continue;
      }
      const row = table.figures.get(key);
      assert.ok(row, `table row for ${key}:\n${text}`);
      SIZES.forEach((size, i) =>
        assertFigure(row[i], b[size as "uss"], a[size as "uss"], `table ${key}.${size}`)
      );
    }
    return table;
  };

  await t.step("PIDs given, with a missing PID and a kernel thread (exit 1)", async () => {
    const args = [...fixturePids, missing, ...kernelThread].map(String);
    for (const format of FORMATS) {
      await compareToJson<ProcessJson[]>(args, ["--format", format], ({ run, before, after }) => {
        assert.equal(run.stderr, "", `--format ${format}: nothing on stderr`);
        const failed = before.filter((row) => row.state !== "ok").map((row) => row.state);
        assert.deepEqual(
          failed.sort(),
          ["no-such-process", ...kernelThread.map(() => "kernel-thread")].sort(),
        );
        if (format === "csv") {
          assertProcessCsv(run.stdout, before, after);
          const { rows } = csvTable(run.stdout);
          const gone = rows.find((row) => row.pid === String(missing))!;
          for (const size of SIZE_KEYS) assert.equal(gone[size], "", `unknown ${size}: empty`);
        } else if (format === "prometheus") {
          const families = parseExposition(run.stdout);
          assert.deepEqual(others(families, "uss_process_"), [], "process families only");
          assertProcessMetrics(families, before, after);
        } else {
          const body = ndjsonBody(run.stdout);
          assert.deepEqual(Object.keys(body), ["processes"]);
          assertSameJson(body.processes, before, after, "ndjson.processes");
        }
      }, 1);
    }
    await compareToJson<ProcessJson[]>(
      args,
      ["--bytes", "-c", ["pid", ...SIZES].join(",")],
      ({ run, before, after }) => void checkTable(run.stdout, before, after),
      1,
    );
  });

  await t.step("listing filtered with --name", async () => {
    const args = ["--name", pattern];
    for (const format of FORMATS) {
      await compareToJson<ListingJson>(args, ["--format", format], ({ run, before, after }) => {
        assert.equal(run.stderr, "", `--format ${format}: nothing on stderr`);
        sameKeys(before.processes.map((p) => String(p.pid)), fixturePids.map(String), "fixtures");
        if (format === "csv") assertProcessCsv(run.stdout, before.processes, after.processes);
        else if (format === "prometheus") {
          const families = parseExposition(run.stdout);
          assert.deepEqual(others(families, "uss_process_"), ["uss_processes"], "and the states");
          assertProcessMetrics(families, before.processes, after.processes);
          assertStateMetrics(families, before, after);
        } else {
          const body = ndjsonBody(run.stdout) as unknown as ListingJson;
          assertSameJson(body, before, after, "ndjson");
          const used = body.total.used_memory;
          assert.ok(used === null || (Number.isSafeInteger(used) && used > 0), `used ${used}`);
        }
      });
    }
    await compareToJson<ListingJson>(
      args,
      ["--bytes", "-c", ["pid", ...SIZES].join(",")],
      ({ run, before, after }) => {
        const table = checkTable(run.stdout, before.processes, after.processes);
        sameKeys(table.figures.keys(), fixturePids.map(String), "table rows");
      },
    );
  });

  await t.step("--by name --name", async () => {
    const args = ["--by", "name", "--name", pattern];
    for (const format of FORMATS) {
      await compareToJson<GroupJson[]>(args, ["--format", format], ({ run, before, after }) => {
        assert.equal(run.stderr, "", `--format ${format}: nothing on stderr`);
        sameKeys(before.map((group) => group.group), [tag, "layouts"], "one group per program");
        if (format === "csv") assertGroupCsv(run.stdout, before, after);
        else if (format === "prometheus") {
          const families = parseExposition(run.stdout);
          // The machine-wide group views may also say what became of the processes looked at.
          const extra = others(families, "uss_group_").filter((name) => name !== "uss_processes");
          assert.deepEqual(extra, [], "group families only");
          assertGroupMetrics(families, "name", before, after);
          const states = families.get("uss_processes");
          assert.ok(states, "uss_processes: what became of the processes looked at");
          const measured = states.samples.find((sample) => sample.labels.state === "measured");
          assert.equal(measured?.value, fixturePids.length, "uss_processes{state=measured}");
        } else {
          const body = ndjsonBody(run.stdout);
          assert.deepEqual(Object.keys(body), ["groups"]);
          assertSameJson(body.groups, before, after, "ndjson.groups");
        }
      });
    }
  });

  for (const [root, members] of [[workers.parent.pid, 3], [layoutsParent, 2]]) {
    await t.step(`--tree ${root}`, async () => {
      const args = ["--tree", String(root)];
      for (const format of FORMATS) {
        await compareToJson<GroupJson[]>(args, ["--format", format], ({ run, before, after }) => {
          assert.equal(run.stderr, "", `--format ${format}: nothing on stderr`);
          assert.equal(before.length, 1);
          assert.equal(before[0].processes, members);
          assert.match(before[0].group, new RegExp(`^tree:${root} `));
          if (format === "csv") assertGroupCsv(run.stdout, before, after);
          else if (format === "prometheus") {
            const families = parseExposition(run.stdout);
            assert.deepEqual(others(families, "uss_group_"), [], "group families only");
            assertGroupMetrics(families, "tree", before, after);
          } else {
            const body = ndjsonBody(run.stdout);
            assert.deepEqual(Object.keys(body), ["groups"]);
            assertSameJson(body.groups, before, after, "ndjson.groups");
          }
        });
      }
    });
  }

  for (const pid of [layoutsParent, workers.workers[0].pid]) {
    await t.step(`maps ${pid}: CSV and NDJSON; Prometheus refuses it (exit 2)`, async () => {
      const args = ["maps", String(pid)];
      await compareToJson<MapsJson>(args, ["--format", "csv"], ({ run, before, after }) => {
        assert.equal(run.stderr, "");
        assertMapsCsv(run.stdout, before, after);
      });
      await compareToJson<MapsJson>(
        args,
        ["--format", "ndjson"],
        ({ run, before, after }) => assertSameJson(ndjsonBody(run.stdout), before, after, "ndjson"),
      );

      for (const extra of [[], ["--by", "file"]]) {
        const refused = await runUss(["--format", "prometheus", ...args, ...extra]);
        assert.equal(refused.code, 2, `maps ${extra.join(" ")} --format prometheus`);
        assert.equal(refused.stdout, "");
        assertOneLine(refused.stderr, /prometheus/);
      }
    });
  }
});

Deno.test("-c pid,name,uss,uss%: columns in order, the share is USS / MemTotal", async (t) => {
  const PAGES = 256;
  await using solo = await startWorkers(["solo", String(PAGES)], 1, { name: uniqueName("fmc") });
  const { pid, name } = solo.parent;
  const memTotal = (() => {
    const match = /^MemTotal:\s+(\d+) kB$/m.exec(Deno.readTextFileSync("/proc/meminfo"));
    assert.ok(match, "MemTotal in /proc/meminfo");
    return Number(match[1]) * 1024;
  })();
  const reference = await runUssJson<ProcessJson[]>([String(pid)]);
  assert.equal(reference.code, 0, reference.stderr);
  const uss = reference.json[0].uss!;
  assert.ok(uss >= PAGES * PAGE_SIZE, `USS ${uss} covers the region`);
  const share = (uss / memTotal) * 100;

  await t.step("CSV", async () => {
    const run = await runUss(["--format", "csv", "-c", "pid,name,uss,uss%", String(pid)]);
    assert.equal(run.code, 0, run.stderr);
    const { header, rows } = csvTable(run.stdout);
    assert.deepEqual(header, ["pid", "name", "uss", "uss%"]);
    assert.equal(rows.length, 1);
    assert.deepEqual([rows[0].pid, rows[0].name, rows[0].uss], [String(pid), name, String(uss)]);
    assert.match(rows[0]["uss%"], /^[0-9]+\.[0-9]+$/);
    assert.ok(
      Math.abs(Number(rows[0]["uss%"]) - share) <= 0.0005 + 1e-9,
      `uss% ${rows[0]["uss%"]} vs ${share}`,
    );
    // Headers and figures in any case; order as given.
    const reordered = await runUss(["--format", "csv", "-c", "USS%,Name,PID", String(pid)]);
    assert.equal(reordered.code, 0, reordered.stderr);
    assert.deepEqual(parseCsv(reordered.stdout)[0], ["uss%", "name", "pid"]);
  });

  await t.step("table", async () => {
    for (const bytes of [false, true]) {
      const run = await runUss([
        "-c",
        "pid,name,uss,uss%",
        ...(bytes ? ["--bytes"] : []),
        String(pid),
      ]);
      assert.equal(run.code, 0, run.stderr);
      const lines = run.stdout.trimEnd().split("\n");
      assert.equal(lines.length, 2, `header and one row:\n${run.stdout}`);
      assert.deepEqual(lines[0].trim().split(/\s+/), ["PID", "NAME", "USS", "USS%"]);
      const words = lines[1].trim().split(/\s+/);
      assert.equal(words[0], String(pid));
      assert.equal(words[1], name);
      if (bytes) assert.equal(words[2], String(uss));
      else assert.match(`${words[2]} ${words[3]}`, /^[0-9.]+ [KMG]iB$/);
      const percent = words[words.length - 1];
      assert.match(percent, /^[0-9]+\.[0-9]{2}%$/);
      assert.ok(
        Math.abs(Number(percent.slice(0, -1)) - share) <= 0.005 + 1e-9,
        `USS% ${percent} vs ${share}`,
      );
    }
  });

  await t.step("groups: -c group,procs,uss,uss% in CSV", async () => {
    const run = await runUss([
      "--format",
      "csv",
      "--by",
      "name",
      "--name",
      `^${name}$`,
      "-c",
      "group,procs,uss,uss%",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const { header, rows } = csvTable(run.stdout);
    assert.deepEqual(header, ["group", "procs", "uss", "uss%"]);
    assert.deepEqual(rows.map((row) => [row.group, row.procs]), [[name, "1"]]);
    if (IS_ROOT) {
      assert.equal(rows[0].uss, String(uss), "a group of one owns what its member owns");
      assert.ok(Math.abs(Number(rows[0]["uss%"]) - share) <= 0.0005 + 1e-9);
    } else assert.equal(rows[0].uss, "", "no group USS of its own without the exact method");
  });

  await t.step(
    "usage errors: unknown column, -c outside table and CSV (exit 2, one line)",
    async () => {
      const cases: [string[], RegExp][] = [
        [["-c", "pid,bogus"], /unknown column "bogus"/],
        [["--format", "csv", "-c", "pid,bogus%"], /unknown column "bogus%"/],
        [["-c", "pid", "--json"], /--columns/],
        [["--json", "-c", "pid"], /--columns/],
        [["--format", "ndjson", "-c", "pid"], /--columns/],
        [["--format", "prometheus", "-c", "pid"], /--columns/],
        [["--format", "xml"], /invalid --format "xml"/],
        [["--json", "--format", "csv"], /--json/],
      ];
      for (const [args, pattern] of cases) {
        const run = await runUss([...args, String(pid)]);
        assert.equal(run.code, 2, `uss ${args.join(" ")}: exit ${run.code}\n${run.stdout}`);
        assert.equal(run.stdout, "", `uss ${args.join(" ")}: nothing on stdout`);
        assertOneLine(run.stderr, pattern);
      }
    },
  );
});

/**
 * Copies the layouts binary to `dir/name` (its command name is then `name`,
 * which may hold any byte but NUL and "/") and starts `private 16` from it.
 */
async function startNamed(name: string) {
  assert.ok(new TextEncoder().encode(name).length <= 15, "comm holds 15 bytes");
  const dir = await Deno.makeTempDir({ prefix: "uss-fmt-" });
  try {
    await Deno.chmod(dir, 0o755);
    const binary = `${dir}/${name}`;
    await Deno.copyFile(await buildFixture("layouts"), binary);
    await Deno.chmod(binary, 0o755);
    const fixture = await startFixture<LayoutsProcess>(binary, ["private", "16"], 1);
    const dispose = async () => {
      await fixture.kill();
      await Deno.remove(dir, { recursive: true });
    };
    const { pid } = fixture.processes[0];
    const comm = Deno.readTextFileSync(`/proc/${pid}/comm`);
    assert.equal(comm, `${name}\n`, "the kernel's command name is the file name");
    return { pid, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}

Deno.test("text from processes: CSV quoting and Prometheus label escaping", async (t) => {
  // A quote, a backslash, a comma, a space and a line feed: each needs escaping somewhere.
  const NAME = 'q"u\\o,t e\nx';
  await using named = await startNamed(NAME);
  const { pid } = named;

  await t.step("CSV: RFC 4180 quoting, one physical line per record", async () => {
    const run = await runUss(["--format", "csv", String(pid)]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split("\r\n");
    assert.equal(
      lines.length,
      3,
      `header, one record, nothing after the last CRLF:\n${run.stdout}`,
    );
    const { rows } = csvTable(run.stdout);
    // Text is exact but for control characters, shown as control pictures (a
    // record never spans lines); then quoted per RFC 4180.
    assert.equal(rows[0].name, NAME.replaceAll("\n", "\u240a"));
    assert.equal(rows[0].pid, String(pid));
    assert.equal(rows[0].state, "ok");
  });

  await t.step("Prometheus: label values escaped, read back exactly", async () => {
    for (const args of [[String(pid)], ["--by", "name", "--pid", String(pid)]]) {
      const run = await runUss(["--format", "prometheus", ...args]);
      assert.equal(run.code, 0, run.stderr);
      const families = parseExposition(run.stdout);
      const label = args[0] === "--by" ? "group" : "name";
      // PSS: exported for groups by either method (group USS needs root).
      const family = families.get(
        args[0] === "--by" ? "uss_group_pss_bytes" : "uss_process_uss_bytes",
      )!;
      assert.equal(family.samples.length, 1, run.stdout);
      assert.equal(family.samples[0].labels[label], NAME, `the ${label} label reads back`);
      await assertPromtoolAccepts(run.stdout, `a ${label} label with ", \\, and a line feed`);
    }
  });

  // The format has escapes for \\, \" and \n only: other control characters
  // become control pictures, so the text stays valid and no terminal acts on it.
  await t.step({
    name: "Prometheus: a name with a tab and an escape character is still valid text",
    fn: async () => {
      const CONTROL = "t\tab\x1b[m";
      await using controlled = await startNamed(CONTROL);
      const run = await runUss(["--format", "prometheus", String(controlled.pid)]);
      assert.equal(run.code, 0, run.stderr);
      const families = parseExposition(run.stdout);
      const [sample] = families.get("uss_process_uss_bytes")!.samples;
      assert.equal(sample.labels.name, "t\u2409ab\u241b[m", "tab and ESC as control pictures");
      await assertPromtoolAccepts(run.stdout, "a name label with a tab and ESC");
    },
  });
});

Deno.test("promtool check metrics accepts the machine's listing and --by name", async () => {
  await using solo = await startWorkers(["solo", "8"], 1, { name: uniqueName("fmp") });
  for (
    const args of [[], ["--by", "name"], ["--by", "user"], ["--tree", String(solo.parent.pid)]]
  ) {
    const run = await runUss(["--format", "prometheus", ...args]);
    assert.equal(run.code, 0, `--format prometheus ${args.join(" ")}: ${run.stderr}`);
    const families = parseExposition(run.stdout);
    assert.ok(families.size > 0);
    await assertPromtoolAccepts(run.stdout, `uss --format prometheus ${args.join(" ")}`.trim());
  }
});
