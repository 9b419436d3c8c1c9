/**
 * Number formatting for humans: the one place that turns bytes into text.
 *
 * @module
 */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

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
  if (options.exact) return String(Math.round(bytes));
  if (bytes === 0) return "0";
  const sign = bytes < 0 ? "-" : "";
  let value = Math.abs(bytes);
  let unit = 0;
  if (value < 1024) return `${sign}${Math.round(value)} B`;
  // Decide the unit and precision on the rounded text, so 1048575 is "1.00 MiB"
  // rather than "1024.0 KiB", and 10239 is "10.0 KiB" rather than "10.00 KiB".
  let text = "";
  for (;;) {
    value /= 1024;
    unit++;
    text = value.toFixed(2);
    if (Number(text) >= 10) text = value.toFixed(1);
    if (Number(text) < 1024 || unit === UNITS.length - 1) break;
  }
  return `${sign}${text} ${UNITS[unit]}`;
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
  const widths = columns.map((column) => column.header.length);
  for (const row of rows) {
    const cells = Array.isArray(row) ? row : row.cells;
    cells.forEach((cell, index) => widths[index] = Math.max(widths[index], cell.length));
  }
  const line = (cells: string[], message?: string): string => {
    const parts = cells.map((cell, index) =>
      columns[index].align === "right"
        ? cell.padStart(widths[index])
        : index === cells.length - 1 && message === undefined
        ? cell
        : cell.padEnd(widths[index])
    );
    if (message !== undefined) parts.push(message);
    return parts.join("  ").trimEnd();
  };
  const lines = [line(columns.map((column) => column.header))];
  for (const row of rows) {
    lines.push(Array.isArray(row) ? line(row) : line(row.cells, row.message));
  }
  return lines.join("\n");
}
