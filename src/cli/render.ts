/**
 * Turns a result into the text of the chosen format, and rows into the keys
 * that follow them from one sample of a watch to the next.
 *
 * @module
 */

import type { Usage } from "../accounting/usage.ts";
import { mappingLabel } from "../measure/aggregate.ts";
import type { Change } from "../report/columns.ts";
import { csvRecords } from "../report/csv.ts";
import { type JsonObject, resultJson, resultJsonText } from "../report/json.ts";
import { figureOf, type FigureRow, type Measure, MEASURES } from "../report/measures.ts";
import { renderMetrics, resultMetrics } from "../report/prometheus.ts";
import type { ViewResult } from "../report/result.ts";
import { resultTableLines } from "../report/table.ts";
import type { CliOptions } from "./args.ts";

/** The rows of a result that a watch follows, with their figures. */
export interface KeyedRow {
  /** Identifies the row from one sample to the next. */
  key: string;
  row: unknown;
  /** Its figures, and which of them are known. */
  figures: FigureRow;
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
        figures: row,
      }));
    case "groups":
      return result.groups.map((row) => ({ key: row.group, row, figures: row }));
    case "mappings":
      return Array.from(result.mappings, (row) => ({
        key: `${row.vma.start} ${mappingLabel(row)}`,
        row,
        figures: row,
      }));
    case "files":
      return result.files.map((row) => ({ key: row.file, row, figures: row }));
  }
}

/** The figures of the earlier samples a watch compares with. */
export interface History {
  /** Row key → figures, at the first sample. */
  first: Map<string, Usage>;
  /** Row key → figures, at the previous sample (empty at the first). */
  last: Map<string, Usage>;
}

/** How a row's known figure changed since `then`; null when the row is new or the figure unknown. */
function change(now: FigureRow, then: Usage | undefined, measure: Measure): number | null {
  const value = figureOf(now, measure);
  return then === undefined || value === null ? null : value - then[measure.key];
}

/** The changes of every figure as JSON keys (integer bytes), null when the row is new. */
function changesJson(now: FigureRow, then: Usage | undefined): JsonObject | null {
  if (then === undefined) return null;
  const json: JsonObject = {};
  for (const measure of MEASURES) {
    const value = change(now, then, measure);
    json[measure.json] = value === null ? null : Math.round(value);
  }
  return json;
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
  keyed.forEach(({ key, figures }, index) => {
    const row = rowsJson[index];
    if (!row) return;
    const measured = history !== null && figures.usage !== null;
    row.delta = {
      since_last: measured ? changesJson(figures, history.last.get(key)) : null,
      since_first: measured ? changesJson(figures, history.first.get(key)) : null,
    };
  });
  const body = Array.isArray(json) ? { [result.kind]: json } : json as JsonObject;
  return { timestamp: new Date().toISOString(), sample, ...body };
}

/**
 * How each row's watched figure changed (for the +LAST and +START columns).
 */
export function changes(
  result: ViewResult,
  history: History,
  watched: Measure,
): (row: unknown) => Change | null {
  const byRow = new Map<unknown, Change>();
  for (const { key, row, figures } of keyedRows(result)) {
    if (figures.usage === null) continue;
    byRow.set(row, {
      sinceLast: change(figures, history.last.get(key), watched),
      sinceFirst: change(figures, history.first.get(key), watched),
    });
  }
  return (row) => byRow.get(row) ?? null;
}

/**
 * The text of a result in the format asked for (table, JSON, one NDJSON line,
 * CSV, Prometheus text), in pieces made as they are written where the format
 * allows it (tables, JSON of mappings, CSV). Notes are not included: they go
 * to stderr.
 *
 * @throws {ColumnError} when `--columns` names a column the view lacks (at the
 * latest when the first piece is taken).
 */
export function* renderResult(result: ViewResult, options: CliOptions): Generator<string> {
  switch (options.format) {
    case "table":
      for (
        const line of resultTableLines(result, { bytes: options.bytes, columns: options.columns })
      ) {
        yield `${line}\n`;
      }
      return;
    case "json":
      for (const piece of resultJsonText(result)) yield `${piece}\n`;
      return;
    case "csv":
      yield* csvRecords(result, options.columns);
      return;
    case "ndjson":
      yield JSON.stringify(sampleJson(result, 1, null));
      return;
    case "prometheus":
      yield renderMetrics(resultMetrics(result));
  }
}
