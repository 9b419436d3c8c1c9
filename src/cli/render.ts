/**
 * Turns a result into the text of the chosen format, and rows into the keys
 * that follow them from one sample of a watch to the next.
 *
 * @module
 */

import type { Usage } from "../accounting/usage.ts";
import { mappingLabel } from "../measure/aggregate.ts";
import type { Change } from "../report/columns.ts";
import { renderCsv } from "../report/csv.ts";
import { type JsonObject, resultJson } from "../report/json.ts";
import { MEASURES, usageJson } from "../report/measures.ts";
import { renderMetrics, resultMetrics } from "../report/prometheus.ts";
import type { ViewResult } from "../report/result.ts";
import { renderResultTable } from "../report/table.ts";
import type { CliOptions } from "./args.ts";

/** The rows of a result that a watch follows, with their figures. */
export interface KeyedRow {
  /** Identifies the row from one sample to the next. */
  key: string;
  row: unknown;
  usage: Usage | null;
}

/**
 * The rows of a result and their keys: a process by PID and start time, a
 * group by its label, a mapping by its start and file, a file by its path.
 *
 * @example
 * ```ts
 * import { keyedRows } from "./render.ts";
 * keyedRows({ kind: "groups", by: "name", groups: [], members: null, accounting: null,
 *   method: "smaps", notes: [], exitCode: 0, memory: null }); // []
 * ```
 */
export function keyedRows(result: ViewResult): KeyedRow[] {
  switch (result.kind) {
    case "processes":
      return result.processes.map((row) => ({
        key: `${row.pid}/${row.startTime}`,
        row,
        usage: row.usage,
      }));
    case "groups":
      return result.groups.map((row) => ({ key: row.group, row, usage: row.usage }));
    case "mappings":
      return result.mappings.map((row) => ({
        key: `${row.vma.start} ${mappingLabel(row)}`,
        row,
        usage: row.usage,
      }));
    case "files":
      return result.files.map((row) => ({ key: row.file, row, usage: row.usage }));
  }
}

/** The figures of the earlier samples a watch compares with. */
export interface History {
  /** Row key → figures, at the first sample. */
  first: Map<string, Usage>;
  /** Row key → figures, at the previous sample (empty at the first). */
  last: Map<string, Usage>;
}

function difference(now: Usage, then: Usage | undefined): Usage | null {
  if (!then) return null;
  const change = { ...now };
  for (const measure of MEASURES) change[measure.key] = now[measure.key] - then[measure.key];
  return change;
}

/**
 * One sample of a watch as one JSON object (a line of NDJSON): when, which
 * sample, the result's JSON (arrays under `processes`, `groups` or `files`),
 * and on every row `delta: {since_last, since_first}` (each null where the row
 * is new, and in the first sample).
 */
export function sampleJson(
  result: ViewResult,
  sample: number,
  history: History | null,
): JsonObject {
  const json = resultJson(result);
  const keyed = keyedRows(result);
  const rowsJson: JsonObject[] = Array.isArray(json)
    ? json
    : (json as JsonObject).processes as JsonObject[] ??
      (json as JsonObject).mappings as JsonObject[] ?? [];
  keyed.forEach(({ key, usage }, index) => {
    const row = rowsJson[index];
    if (!row) return;
    const last = history && usage ? difference(usage, history.last.get(key)) : null;
    const first = history && usage ? difference(usage, history.first.get(key)) : null;
    // A figure the row leaves unknown (a group's own USS without the exact
    // method) has no change to show either.
    const known = (delta: JsonObject | null) => {
      if (delta) { for (const key of Object.keys(delta)) if (row[key] === null) delta[key] = null; }
      return delta;
    };
    row.delta = {
      since_last: known(last && usageJson(last)),
      since_first: known(first && usageJson(first)),
    };
  });
  const body = Array.isArray(json)
    ? { [result.kind === "processes" ? "processes" : result.kind]: json }
    : json as JsonObject;
  return { timestamp: new Date().toISOString(), sample, ...body };
}

/**
 * How each row's watched figure changed (for the +LAST and +START columns).
 */
export function changes(
  result: ViewResult,
  history: History,
  watched: keyof Usage,
): (row: unknown) => Change | null {
  const byRow = new Map<unknown, Change>();
  for (const { key, row, usage } of keyedRows(result)) {
    if (!usage) continue;
    const last = history.last.get(key);
    const first = history.first.get(key);
    byRow.set(row, {
      sinceLast: last ? usage[watched] - last[watched] : null,
      sinceFirst: first ? usage[watched] - first[watched] : null,
    });
  }
  return (row) => byRow.get(row) ?? null;
}

/**
 * The text of a result in the format asked for (table, JSON, one NDJSON line,
 * CSV, Prometheus text). Notes are not included: they go to stderr.
 *
 * @throws {ColumnError} when `--columns` names a column the view lacks.
 */
export function renderResult(result: ViewResult, options: CliOptions): string {
  switch (options.format) {
    case "json":
      return JSON.stringify(resultJson(result), null, 2);
    case "ndjson":
      return JSON.stringify(sampleJson(result, 1, null));
    case "csv":
      return renderCsv(result, options.columns);
    case "prometheus":
      return renderMetrics(resultMetrics(result));
    default:
      return renderResultTable(result, { bytes: options.bytes, columns: options.columns });
  }
}
