// Covers formatBytes and renderTable (src/report/format.ts): binary units with
// three significant digits below 10 and one decimal above, exact mode, column
// alignment, two spaces between columns, message rows, no trailing spaces; and
// cellText (src/report/table.ts), which remembers the sizes it formatted.

import assert from "node:assert/strict";
import {
  type Column as FigureColumn,
  COLUMNS as FIGURE_COLUMNS,
  resolveColumns,
} from "../../src/report/columns.ts";
import { type Column, formatBytes, renderTable } from "../../src/report/format.ts";
import { cellText } from "../../src/report/table.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

Deno.test("formatBytes: zero is a bare 0, bytes below 1 KiB are whole bytes", () => {
  assert.equal(formatBytes(0), "0");
  assert.equal(formatBytes(1), "1 B");
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(1023), "1023 B");
});

Deno.test("formatBytes: binary units, two decimals below 10, one decimal from 10 on", () => {
  assert.equal(formatBytes(KiB), "1.00 KiB");
  assert.equal(formatBytes(1536), "1.50 KiB");
  assert.equal(formatBytes(4 * KiB), "4.00 KiB");
  assert.equal(formatBytes(10 * KiB), "10.0 KiB");
  assert.equal(formatBytes(640 * KiB), "640.0 KiB");
  assert.equal(formatBytes(1.25 * MiB), "1.25 MiB");
  assert.equal(formatBytes(40.5 * MiB), "40.5 MiB");
  assert.equal(formatBytes(3 * GiB), "3.00 GiB");
  assert.equal(formatBytes(1024 * GiB), "1.00 TiB");
  assert.equal(formatBytes(2 ** 50), "1.00 PiB");
});

Deno.test("formatBytes: negative sizes (differences) keep their sign", () => {
  assert.equal(formatBytes(-1536), "-1.50 KiB");
  assert.equal(formatBytes(-100), "-100 B");
});

Deno.test("formatBytes: rounding up to 1024 moves to the next unit", () => {
  // 1 MiB - 1 B is 1023.999 KiB: printed with one decimal it must not read "1024.0 KiB".
  assert.equal(formatBytes(MiB - 1), "1.00 MiB");
  assert.equal(formatBytes(GiB - 1), "1.00 GiB");
});

Deno.test("formatBytes: rounding up to 10 switches to one decimal", () => {
  // 9.999 KiB has three significant digits as "10.0 KiB", not "10.00 KiB".
  assert.equal(formatBytes(10 * KiB - 1), "10.0 KiB");
});

Deno.test("formatBytes: the unit and precision follow the rounded text at each boundary", () => {
  // 10234 B = 9.994 KiB rounds to "9.99"; 10235 B = 9.995 KiB to "10.00", so one decimal.
  assert.equal(formatBytes(10234), "9.99 KiB");
  assert.equal(formatBytes(10235), "10.0 KiB");
  // 1048524 B = 1023.949 KiB; 1048525 B = 1023.950 KiB rounds to "1024.0": the next unit.
  assert.equal(formatBytes(1048524), "1023.9 KiB");
  assert.equal(formatBytes(1048525), "1.00 MiB");
  assert.equal(formatBytes(-1048525), "-1.00 MiB");
  // The last unit takes whatever is left.
  assert.equal(formatBytes(2 ** 60), "1024.0 PiB");
});

Deno.test("formatBytes: exact mode prints whole bytes", () => {
  assert.equal(formatBytes(0, { exact: true }), "0");
  assert.equal(formatBytes(4096, { exact: true }), "4096");
  assert.equal(formatBytes(1365.4, { exact: true }), "1365");
  assert.equal(formatBytes(1365.5, { exact: true }), "1366");
  assert.equal(formatBytes(17 * GiB, { exact: true }), "18253611008");
  assert.equal(formatBytes(2 ** 53, { exact: true }), "9007199254740992");
});

const COLUMNS: Column[] = [
  { header: "PID", align: "right" },
  { header: "NAME", align: "left" },
  { header: "USS", align: "right" },
];

Deno.test("renderTable: right columns pad left, left columns pad right, two spaces apart", () => {
  const table = renderTable(COLUMNS, [
    ["1", "init", "4.00 KiB"],
    ["12345", "deno", "120.5 MiB"],
  ]);
  assert.equal(
    table,
    [
      "  PID  NAME        USS",
      "    1  init   4.00 KiB",
      "12345  deno  120.5 MiB",
    ].join("\n"),
  );
});

Deno.test("renderTable: a wide cell widens its column for every row", () => {
  const table = renderTable(COLUMNS, [
    ["7", "kworker/u8:2-events_unbound", "0"],
    ["8", "sh", "12.0 KiB"],
  ]);
  const lines = table.split("\n");
  const ussEnd = lines[0].length;
  assert.equal(lines[0], "PID  NAME                              USS");
  for (const line of lines) assert.equal(line.length, ussEnd, JSON.stringify(line));
  assert.equal(lines[2], "  8  sh                           12.0 KiB");
});

Deno.test("renderTable: a left-aligned last column is not padded, no line ends in a space", () => {
  const columns: Column[] = [
    { header: "PID", align: "right" },
    { header: "COMMAND", align: "left" },
  ];
  const table = renderTable(columns, [["1", "init"], ["22", "a much longer command"], ["3", ""]]);
  assert.equal(
    table,
    ["PID  COMMAND", "  1  init", " 22  a much longer command", "  3"].join("\n"),
  );
  for (const line of table.split("\n")) assert.doesNotMatch(line, /\s$/);
});

Deno.test("renderTable: a message fills the row from the first column without a cell", () => {
  const table = renderTable(COLUMNS, [
    ["1", "init", "4.00 KiB"],
    { cells: ["4242", "gone"], message: "exited while being measured" },
    { cells: ["7"], message: "permission denied" },
  ]);
  const lines = table.split("\n");
  assert.equal(lines[2], "4242  gone  exited while being measured");
  assert.equal(lines[3], "   7  permission denied");
  // The message starts where its column starts in the header.
  assert.equal(lines[2].indexOf("exited"), "4242  init  ".length);
  assert.equal(lines[3].indexOf("permission"), "4242  ".length);
  for (const line of lines) assert.doesNotMatch(line, /\s$/);
});

Deno.test("renderTable: a message row with no cells starts at the left margin", () => {
  const table = renderTable(COLUMNS, [{ cells: [], message: "no process matched" }]);
  assert.equal(table, "PID  NAME  USS\nno process matched");
});

Deno.test("renderTable: without rows only the header is printed", () => {
  assert.equal(renderTable(COLUMNS, []), "PID  NAME  USS");
});

Deno.test("cellText: a size prints the same whether formatted before or not, in either mode", () => {
  const [uss] = resolveColumns(FIGURE_COLUMNS.process, ["uss"]);
  const column = uss as FigureColumn<unknown>;
  // Alternating modes on one value: the remembered text of one mode never
  // answers for the other.
  for (let round = 0; round < 2; round++) {
    assert.equal(cellText(column, 8 * KiB, false), "8.00 KiB");
    assert.equal(cellText(column, 8 * KiB, true), "8192");
  }
  // More distinct sizes than are remembered, then the first again.
  for (let bytes = 0; bytes < 10_000; bytes++) {
    assert.equal(cellText(column, bytes * KiB, false), formatBytes(bytes * KiB));
  }
  assert.equal(cellText(column, 8 * KiB, false), "8.00 KiB");
  assert.equal(cellText(column, -8 * KiB, false), "-8.00 KiB");
});
