/**
 * Number formatting for humans: the one place that turns bytes into text.
 *
 * @module
 */

/**
 * Formats a byte count in binary units with one decimal (two below 10, so three
 * significant digits), or exactly when `exact` is set.
 *
 * @example
 * ```ts
 * import { formatBytes } from "./format.ts";
 * formatBytes(1536); // "1.50 KiB"
 * formatBytes(123456789); // "117.7 MiB"
 * formatBytes(4096, { exact: true }); // "4096"
 * formatBytes(0); // "0"
 * ```
 */
export function formatBytes(bytes: number, options: { exact?: boolean } = {}): string {
  // It names nothing outside itself: the HTML report's page runs this very
  // function (its source), so the page and the command line print bytes alike.
  if (options.exact) return String(Math.round(bytes));
  if (bytes === 0) return "0";
  const sign = bytes < 0 ? "-" : "";
  let value = Math.abs(bytes);
  if (value < 1024) return `${sign}${Math.round(value)} B`;
  const prefixes = "KMGTP";
  let unit = 0;
  let text = "";
  // Decide the unit and precision on the rounded text, so 1048575 is "1.00 MiB"
  // rather than "1024.0 KiB", and 10239 is "10.0 KiB" rather than "10.00 KiB".
  // The rounded text's length says its size (value ≥ 0): "9.99" has 4 characters,
  // "10.00" 5; "1023.9" and "1024.0" compare as text. Tables format hundreds of
  // thousands of cells, and parsing the text back costs as much as making it.
  for (;;) {
    value /= 1024;
    text = value.toFixed(2);
    if (text.length > 4) text = value.toFixed(1);
    if (text.length < 6 || (text.length === 6 && text < "1024.0")) break;
    if (unit === prefixes.length - 1) break;
    unit++;
  }
  return `${sign}${text} ${prefixes[unit]}iB`;
}

/** A column of a text table. */
export interface Column {
  header: string;
  /** Numbers align right, words left. */
  align: "left" | "right";
}

/** A table row: one cell per column, or a message that fills the row from column `from` on. */
export type Row = string[] | { cells: string[]; message: string };

/**
 * The lines of an aligned text table (two spaces between columns, no trailing
 * spaces), made as they are consumed: `rowAt(index)` gives each of `count` rows,
 * and is called twice per row (for the column widths, then for the line), so
 * a table of a million rows never holds its cells or its text at once.
 *
 * @example
 * ```ts
 * import { tableLines } from "./format.ts";
 * const pids = [1, 42];
 * [...tableLines([{ header: "PID", align: "right" }], pids.length, (i) => [String(pids[i])])];
 * // ["PID", "  1", " 42"]
 * ```
 */
export function* tableLines(
  columns: readonly Column[],
  count: number,
  rowAt: (index: number) => Row,
): Generator<string> {
  const widths = columns.map((column) => column.header.length);
  for (let index = 0; index < count; index++) {
    const row = rowAt(index);
    const cells = Array.isArray(row) ? row : row.cells;
    for (let at = 0; at < cells.length; at++) {
      if (cells[at].length > widths[at]) widths[at] = cells[at].length;
    }
  }
  const line = (cells: readonly string[], message?: string): string => {
    let text = "";
    for (let at = 0; at < cells.length; at++) {
      const cell = cells[at];
      if (at > 0) text += "  ";
      text += columns[at].align === "right"
        ? cell.padStart(widths[at])
        : at === cells.length - 1 && message === undefined
        ? cell
        : cell.padEnd(widths[at]);
    }
    if (message !== undefined) text += cells.length > 0 ? `  ${message}` : message;
    return text.trimEnd();
  };
  yield line(columns.map((column) => column.header));
  for (let index = 0; index < count; index++) {
    const row = rowAt(index);
    yield Array.isArray(row) ? line(row) : line(row.cells, row.message);
  }
}

/**
 * Renders an aligned text table (two spaces between columns, no trailing spaces).
 *
 * @example
 * ```ts
 * import { renderTable } from "./format.ts";
 * renderTable([{ header: "PID", align: "right" }], [["1"], ["42"]]);
 * // "PID\n  1\n 42"
 * ```
 */
export function renderTable(columns: Column[], rows: Row[]): string {
  return [...tableLines(columns, rows.length, (index) => rows[index])].join("\n");
}
