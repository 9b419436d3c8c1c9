/**
 * The HTML report (`uss report`): one self-contained file with a zoomable
 * treemap (machine → groups → processes → mappings), a sortable table of the
 * rows shown, and a header saying where, when and how it was measured and what
 * could not be read.
 *
 * Everything is inline: the style sheet, the page's script (the squarified
 * layout is written here, no library) and the data, as JSON in a
 * `<script type="application/json">`. A Content-Security-Policy forbids any
 * request, so opening the file never touches the network. Text that comes from
 * processes (names, users, paths, command lines) only ever reaches the page as
 * JSON: the JSON is escaped so that no string can close its script element, and
 * the page's script puts text in with `textContent` and `setAttribute`, never as
 * HTML.
 *
 * The drawing can be checked from outside: every process rectangle carries
 * `data-pid`, `data-uss`, `data-pss` and `data-rss` (integer bytes), mapping
 * rectangles `data-kind` and the same figures, group rectangles `data-group`,
 * and the gap inside an exact group (memory shared only among its members)
 * `data-shared`. The page sets `data-drawn` on `<html>` and the performance mark
 * `uss-drawn` once its first layout is done.
 *
 * @module
 */

import type { Usage } from "../accounting/usage.ts";
import { formatBytes } from "./format.ts";
import { MEASURES } from "./measures.ts";
import type { Accounting, MachineMemory, MappingSummary, ReportResult } from "./result.ts";

/** The figures of every usage tuple in {@link ReportData}, in this order: the measures'. */
export const USAGE_FIELDS: readonly (keyof Usage)[] = MEASURES.map((measure) => measure.key);

/** Mapping kinds as numbers in {@link ReportData.mappings}. */
export const MAPPING_KINDS: readonly MappingSummary["kind"][] = ["anon", "file", "shmem"];

/** A group as the page gets it. */
export interface GroupData {
  /** The group's label (user, command name or cgroup). */
  name: string;
  /** True when `usage[0]` (USS) is the group's exact figure, not the members' sum. */
  exact: boolean;
  /** Figures in {@link USAGE_FIELDS} order. */
  usage: number[];
  /** The sum of the members' own USS. */
  ussSum: number;
  /** The measured members' PIDs. */
  members: number[];
  /** The members' method, null when they differ. */
  method: string | null;
  /** For groups by cgroup: the path and what the kernel charges it (bytes, null when unknown). */
  cgroup: {
    path: string;
    current: number | null;
    anon: number | null;
    file: number | null;
  } | null;
}

/** A measured process as the page gets it. */
export interface ProcessData {
  pid: number;
  name: string | null;
  user: string | null;
  ppid: number | null;
  method: string | null;
  /** Figures in {@link USAGE_FIELDS} order. */
  usage: number[];
  /** The command line, when the view read it. */
  command: string | null;
  notes: string[];
}

/** What `renderHtml` embeds as JSON: the report, compact (mappings as flat number rows). */
export interface ReportData {
  version: 1;
  host: string;
  kernel: string;
  time: string;
  method: string;
  by: string;
  notes: string[];
  memory: MachineMemory | null;
  /** The order of every usage tuple ({@link USAGE_FIELDS}). */
  fields: readonly string[];
  accounting: Omit<Accounting, "unmeasured"> & {
    unmeasured: {
      pid: number;
      name: string | null;
      user: string | null;
      state: string;
      error: string | null;
    }[];
  };
  groups: GroupData[];
  processes: ProcessData[];
  /** Mapping labels, each once; mapping rows refer to them by index. */
  labels: string[];
  /** The kind names of mapping rows ({@link MAPPING_KINDS}). */
  kinds: readonly string[];
  /**
   * PID → its mappings, flattened: per mapping the label's index, the kind's
   * index, the number of mappings merged into the row, then its usage tuple.
   */
  mappings: Record<string, number[]>;
}

/** Numbers in a row of {@link ReportData.mappings} per mapping. */
export const MAPPING_STRIDE = 3 + USAGE_FIELDS.length;

function tuple(usage: Usage): number[] {
  return USAGE_FIELDS.map((field) => Math.round(usage[field]));
}

/**
 * The data the page draws, from a report result: processes, groups, each
 * process's mappings (labels shared in one table), what could not be read.
 *
 * @example
 * ```ts
 * import { reportData } from "./html.ts";
 * import { emptyUsage } from "../accounting/usage.ts";
 * const usage = { ...emptyUsage(), uss: 8192, ussAnon: 8192, pss: 8192, rss: 12288 };
 * const data = reportData({
 *   kind: "report", by: "name", method: "kpagecount", notes: [], exitCode: 0, memory: null,
 *   groups: [{ group: "sh", members: [7], method: "kpagecount", exact: true, usage, ussSum: 8192 }],
 *   processes: [{ pid: 7, name: "sh", uid: 0, user: "root", startTime: 1, state: "ok",
 *     error: null, method: "kpagecount", usage, notes: [] }],
 *   mappings: new Map([[7, [{ label: "[heap]", kind: "anon", mappings: 1, usage }]]]),
 *   accounting: { scanned: 1, unreadable: 0, exited: 0, zombies: 0, kernelThreads: 0,
 *     failed: 0, unmeasured: [] },
 *   host: "box", kernel: "6.1.0", time: "2025-01-01T00:00:00.000Z",
 * });
 * data.processes[0].usage; // [8192, 8192, 0, 8192, 12288, 0, 0, 0, 0]
 * data.labels; // ["[heap]"]
 * data.mappings["7"]; // [0, 0, 1, 8192, 8192, 0, 8192, 12288, 0, 0, 0, 0]
 * ```
 */
export function reportData(result: ReportResult): ReportData {
  const labels: string[] = [];
  const labelIndex = new Map<string, number>();
  const mappings: Record<string, number[]> = {};
  const processes: ProcessData[] = [];
  for (const row of result.processes) {
    if (row.usage === null) continue;
    processes.push({
      pid: row.pid,
      name: row.name,
      user: row.user,
      ppid: row.ppid ?? null,
      method: row.method,
      usage: tuple(row.usage),
      command: row.command ?? null,
      notes: row.notes,
    });
    const summary = result.mappings.get(row.pid);
    if (!summary) continue;
    const flat: number[] = [];
    for (const mapping of summary) {
      let index = labelIndex.get(mapping.label);
      if (index === undefined) {
        index = labels.length;
        labels.push(mapping.label);
        labelIndex.set(mapping.label, index);
      }
      flat.push(
        index,
        MAPPING_KINDS.indexOf(mapping.kind),
        mapping.mappings,
        ...tuple(mapping.usage),
      );
    }
    mappings[row.pid] = flat;
  }
  const { unmeasured, ...counts } = result.accounting;
  return {
    version: 1,
    host: result.host,
    kernel: result.kernel,
    time: result.time,
    method: result.method,
    by: result.by,
    notes: result.notes,
    memory: result.memory,
    fields: USAGE_FIELDS,
    accounting: {
      ...counts,
      unmeasured: unmeasured.map((row) => ({
        pid: row.pid,
        name: row.name,
        user: row.user,
        state: row.state,
        error: row.error,
      })),
    },
    groups: result.groups.map((group) => ({
      name: group.group,
      exact: group.exact,
      usage: tuple(group.usage),
      ussSum: Math.round(group.ussSum),
      members: group.members,
      method: group.method,
      cgroup: group.cgroup
        ? {
          path: group.cgroup.path,
          current: group.cgroup.charge?.current ?? null,
          anon: group.cgroup.charge?.anon ?? null,
          file: group.cgroup.charge?.file ?? null,
        }
        : null,
    })),
    processes,
    labels,
    kinds: MAPPING_KINDS,
    mappings,
  };
}

/**
 * JSON that is safe inside a `<script>` element: every `<` is written `\u003c`
 * (so no string can close the element or open a comment), and the line and
 * paragraph separators are escaped too. `JSON.parse` reads it back unchanged.
 *
 * @example
 * ```ts
 * import { embedJson } from "./html.ts";
 * const text = embedJson({ name: "</script><b>x" });
 * text; // '{"name":"\\u003c/script>\\u003cb>x"}'
 * JSON.parse(text).name; // "</script><b>x"
 * ```
 */
export function embedJson(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll("<", "\\u003c")
    .replaceAll("\u2028", "\\u2028")
    .replaceAll("\u2029", "\\u2029");
}

const STYLE = String.raw`
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --panel: #ffffff; --fg: #1b2330; --muted: #566070; --line: #d6dbe2;
  --anon: #8db6ea; --file: #efc070; --shmem: #c6a3ec; --none: #c3c8d0;
  --group: #e2e6ec; --frame: #4f5968; --caption: rgba(255, 255, 255, 0.88);
  --hatch-a: #e2e6ec; --hatch-b: #b9c1cc; --edge: rgba(255, 255, 255, 0.95); --ink: #121821;
  --focus: #c2185b; --hl: #1f6feb;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #13161b; --panel: #1a1e25; --fg: #e3e7ed; --muted: #9ba5b3; --line: #2f3642;
    --anon: #34608e; --file: #87672a; --shmem: #6a4990; --none: #3a414c;
    --group: #222831; --frame: #a3adbb; --caption: rgba(19, 22, 27, 0.88);
    --hatch-a: #222831; --hatch-b: #3d4653; --edge: rgba(0, 0, 0, 0.6); --ink: #f2f5f9;
    --focus: #ff7ab2; --hl: #79b8ff;
  }
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--fg); }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
header { padding: 12px 16px 6px; }
h1 { font-size: 20px; margin: 0 0 4px; font-weight: 650; }
h2 { font-size: 15px; margin: 0 0 6px; font-weight: 600; }
.meta, .totals, .accounting { margin: 2px 0; color: var(--muted); }
.meta b, .totals b, .accounting b { color: var(--fg); font-weight: 600; }
.meta span + span::before, .totals span + span::before { content: " · "; color: var(--muted); }
details { margin: 2px 0; }
summary { cursor: pointer; color: var(--muted); }
summary b { color: var(--fg); }
.notes { margin: 4px 0; padding-left: 20px; color: var(--muted); }
.toolbar {
  display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center;
  padding: 6px 16px; border-top: 1px solid var(--line); border-bottom: 1px solid var(--line);
  background: var(--panel);
}
.crumbs { display: flex; flex-wrap: wrap; list-style: none; margin: 0; padding: 0; min-width: 0; }
.crumbs li { display: flex; align-items: center; min-width: 0; }
.crumbs li + li::before { content: "›"; margin: 0 6px; color: var(--muted); }
.crumbs button, .crumbs span {
  font: inherit; max-width: 32ch; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
}
.crumbs span { font-weight: 600; }
button.link {
  background: none; border: 0; padding: 0; color: var(--hl); cursor: pointer; text-align: left;
  text-decoration: underline; text-underline-offset: 2px; font: inherit;
}
.measures { display: inline-flex; border: 1px solid var(--line); border-radius: 6px; overflow: hidden; }
.measures button {
  font: inherit; border: 0; padding: 3px 12px; background: transparent; color: var(--fg); cursor: pointer;
}
.measures button + button { border-left: 1px solid var(--line); }
.measures button[aria-pressed="true"] { background: var(--fg); color: var(--bg); font-weight: 600; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 12px; color: var(--muted); font-size: 13px; }
.legend span { display: inline-flex; align-items: center; gap: 5px; }
.sw { width: 14px; height: 14px; border-radius: 3px; border: 1px solid var(--line); display: inline-block; }
.sw.anon { background: var(--anon); } .sw.file { background: var(--file); }
.sw.shmem { background: var(--shmem); }
.sw.shared, .rect.shared {
  background: repeating-linear-gradient(135deg, var(--hatch-a) 0 5px, var(--hatch-b) 5px 10px);
}
main {
  display: grid; grid-template-columns: minmax(0, 1fr) minmax(360px, 40%); gap: 12px; padding: 12px 16px 16px;
}
#map {
  position: relative; height: max(360px, calc(100vh - 200px)); min-width: 0; overflow: hidden;
  background: var(--panel); border: 1px solid var(--line); border-radius: 4px;
}
#map .empty { padding: 24px; color: var(--muted); }
.side { min-width: 0; display: flex; flex-direction: column; max-height: max(360px, calc(100vh - 200px)); }
.scroll { overflow: auto; min-height: 0; border: 1px solid var(--line); border-radius: 4px; background: var(--panel); }
.side p { margin: 0 0 6px; color: var(--muted); }
@media (max-width: 900px) {
  main { grid-template-columns: minmax(0, 1fr); }
  #map { height: max(320px, 62vh); }
  .side { max-height: none; }
  .scroll { max-height: 80vh; }
}
.rect {
  position: absolute; overflow: hidden; color: var(--ink); cursor: pointer;
  box-shadow: inset 0 0 0 1px var(--edge); font-size: 12px; line-height: 1.25;
}
.rect.anon { background: var(--anon); } .rect.file { background: var(--file); }
.rect.shmem { background: var(--shmem); } .rect.none { background: var(--none); }
.rect.mapping { cursor: default; }
.rect.group { background: var(--group); box-shadow: none; }
.rect.group::after {
  content: ""; position: absolute; inset: 0; border: 2px solid var(--frame); pointer-events: none; z-index: 2;
}
.caption {
  position: absolute; left: 0; top: 0; z-index: 3; max-width: 100%; max-height: 100%;
  padding: 0 6px; background: var(--caption); color: var(--fg); font-weight: 650; font-size: 12px;
  line-height: 17px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  border-right: 2px solid var(--frame); border-bottom: 2px solid var(--frame); border-bottom-right-radius: 4px;
}
.label { display: block; padding: 2px 4px; pointer-events: none; }
.label.under { padding-top: 19px; }
.label span { display: block; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.label .name { font-weight: 600; }
.rect:focus, .caption:focus { outline: none; }
.rect:focus-visible, .caption:focus-visible {
  outline: 3px solid var(--focus); outline-offset: -3px; z-index: 5;
  box-shadow: inset 0 0 0 5px var(--edge);
}
.rect.hl { box-shadow: inset 0 0 0 3px var(--hl); z-index: 4; }
table { border-collapse: collapse; width: 100%; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 5px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
td.num, th.num { text-align: right; }
td.text { max-width: 24ch; overflow: hidden; text-overflow: ellipsis; }
thead th { position: sticky; top: 0; background: var(--panel); z-index: 2; }
th:first-child, td:first-child { position: sticky; left: 0; background: var(--panel); z-index: 1; }
thead th:first-child { z-index: 3; }
tbody tr:hover td { background: var(--group); }
th button {
  font: inherit; font-weight: 600; color: var(--fg); background: none; border: 0; padding: 0; cursor: pointer;
}
th[aria-sort="descending"] button::after { content: " ▼"; font-size: 10px; }
th[aria-sort="ascending"] button::after { content: " ▲"; font-size: 10px; }
.swatch { display: inline-block; width: 9px; height: 9px; border-radius: 2px; margin-right: 5px; }
.swatch.anon { background: var(--anon); } .swatch.file { background: var(--file); }
.swatch.shmem { background: var(--shmem); } .swatch.none { background: var(--none); }
.swatch.shared { background: var(--hatch-b); }
#tip {
  position: fixed; z-index: 20; max-width: min(440px, 92vw); padding: 8px 10px; pointer-events: none;
  background: var(--panel); color: var(--fg); border: 1px solid var(--line); border-radius: 6px;
  box-shadow: 0 4px 18px rgba(0, 0, 0, 0.25); font-size: 13px;
}
#tip .title { font-weight: 650; overflow-wrap: anywhere; }
#tip .sub { color: var(--muted); overflow-wrap: anywhere; margin-bottom: 4px; }
#tip table { font-size: 12px; }
#tip td { border: 0; padding: 1px 6px 1px 0; }
#tip tr.current td { font-weight: 700; }
#tip .note { color: var(--muted); margin-top: 4px; white-space: normal; }
.visually-hidden {
  position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap;
}
`;

const MARKUP = String.raw`
<header>
  <h1>Memory on <span id="host"></span></h1>
  <p class="meta" id="meta"></p>
  <p class="totals" id="totals"></p>
  <details id="unmeasured"><summary id="accounting"></summary><table id="unmeasured-table"></table></details>
  <ul class="notes" id="notes" hidden></ul>
</header>
<div class="toolbar">
  <nav aria-label="Zoom level"><ol class="crumbs" id="crumbs"></ol></nav>
  <div class="measures" role="group" aria-label="Area shows" id="measures">
    <button type="button" data-measure="uss" aria-pressed="true" title="Unique set size: memory no other process maps">USS</button>
    <button type="button" data-measure="pss" aria-pressed="false" title="Proportional set size: shared pages divided among their mappers">PSS</button>
    <button type="button" data-measure="rss" aria-pressed="false" title="Resident set size: every resident page mapped">RSS</button>
  </div>
  <div class="legend" aria-label="Colours">
    <span><span class="sw anon"></span>anonymous</span>
    <span><span class="sw file"></span>file</span>
    <span><span class="sw shmem"></span>shared memory</span>
    <span><span class="sw shared"></span>shared inside the group</span>
  </div>
</div>
<main>
  <div id="map" role="region" aria-label="Treemap: Enter zooms in, Escape or Backspace goes up"></div>
  <section class="side" aria-labelledby="table-title">
    <h2 id="table-title"></h2>
    <p id="table-note"></p>
    <div class="scroll"><table id="table"><thead></thead><tbody></tbody></table></div>
  </section>
</main>
<div id="tip" role="tooltip" hidden></div>
<div id="status" class="visually-hidden" aria-live="polite"></div>
<noscript><p style="padding:16px">This report draws its treemap and table with JavaScript; the figures are in the JSON near the end of the file.</p></noscript>
`;

/*
 * The page's script. Plain JavaScript in a raw string: no backticks and no
 * dollar-brace sequences inside, but for the one substitution that brings in
 * formatBytes. Text from processes only goes through textContent, setAttribute
 * and the JSON parser.
 */
const SCRIPT = String.raw`
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("uss-data").textContent);
  var F = {};
  data.fields.forEach(function (name, index) { F[name] = index; });
  var STRIDE = 3 + data.fields.length;
  var $ = function (id) { return document.getElementById(id); };
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // --- Formatting: the command line's own function, its source put here ---
  var human = ${formatBytes.toString()};
  var grouping = new Intl.NumberFormat("en-US");
  function exact(bytes) { return grouping.format(Math.round(bytes)) + " bytes"; }
  // Control characters made visible as \xHH (the command line's printable also
  // names \n, \t and \r and doubles backslashes).
  function shown(text) {
    if (text === null || text === undefined) return "?";
    return String(text).replace(/[\x00-\x1f\x7f-\x9f]/g, function (c) {
      return "\\x" + c.charCodeAt(0).toString(16).padStart(2, "0");
    });
  }
  function basename(label) {
    if (label.charAt(0) !== "/") return label;
    var cut = label.lastIndexOf("/");
    return cut >= 0 && cut < label.length - 1 ? label.slice(cut + 1) : label;
  }

  // --- The model ---
  var processes = new Map();
  data.processes.forEach(function (p) {
    processes.set(p.pid, { pid: p.pid, name: p.name, user: p.user, ppid: p.ppid, method: p.method,
      usage: p.usage, command: p.command, notes: p.notes, group: null, mappings: null });
  });
  var groups = data.groups.map(function (g, index) {
    var members = [];
    g.members.forEach(function (pid) {
      var p = processes.get(pid);
      if (p && !p.group) { members.push(p); }
    });
    var group = { index: index, name: g.name, exact: g.exact, usage: g.usage, members: members,
      method: g.method, cgroup: g.cgroup };
    members.forEach(function (p) { p.group = group; });
    return group;
  });
  var orphans = [];
  processes.forEach(function (p) { if (!p.group) orphans.push(p); });
  if (orphans.length > 0) {
    var sum = data.fields.map(function () { return 0; });
    orphans.forEach(function (p) { p.usage.forEach(function (v, i) { sum[i] += v; }); });
    var extra = { index: groups.length, name: "(no group)", exact: false, usage: sum,
      members: orphans, method: null, cgroup: null };
    orphans.forEach(function (p) { p.group = extra; });
    groups.push(extra);
  }
  function mappingsOf(p) {
    if (p.mappings) return p.mappings;
    var flat = data.mappings[p.pid] || [];
    var rows = [];
    for (var i = 0; i + STRIDE <= flat.length; i += STRIDE) {
      rows.push({ index: rows.length, label: data.labels[flat[i]], kind: data.kinds[flat[i + 1]],
        count: flat[i + 2], usage: flat.slice(i + 3, i + STRIDE), process: p });
    }
    p.mappings = rows;
    return rows;
  }

  // --- Figures per view ---
  var state = { measure: "uss", group: null, pid: null };
  function figure(usage) { return usage[F[state.measure]]; }
  function membersSum(g, field) {
    var total = 0;
    g.members.forEach(function (p) { total += p.usage[field]; });
    return total;
  }
  // A group's USS: exact (frames no process outside it maps), else its members' sum.
  function groupUss(g) {
    return g.exact ? Math.max(g.usage[F.uss], membersSum(g, F.uss)) : membersSum(g, F.uss);
  }
  // A group's area: its USS; for PSS and RSS, its members' sum.
  function groupValue(g) {
    return state.measure === "uss" ? groupUss(g) : membersSum(g, F[state.measure]);
  }
  function sharedInside(g) {
    if (!g.exact) return 0;
    return Math.max(0, g.usage[F.uss] - membersSum(g, F.uss));
  }
  function processKind(p) {
    if (p.usage[F.uss] === 0) return "none";
    return p.usage[F.ussAnon] >= p.usage[F.ussFile] ? "anon" : "file";
  }
  function byValue(a, b) { return b.value - a.value || (a.order - b.order); }
  function processItem(p) {
    return { key: "p" + p.pid, type: "process", value: figure(p.usage), ref: p, order: p.pid };
  }
  function groupChildren(g) {
    var items = [];
    g.members.forEach(function (p) {
      var item = processItem(p);
      if (item.value > 0) items.push(item);
    });
    var shared = state.measure === "uss" ? sharedInside(g) : 0;
    if (shared > 0) {
      items.push({ key: "s" + g.index, type: "shared", value: shared, ref: g, order: -1 });
    }
    return items.sort(byValue);
  }
  function viewItems() {
    if (state.pid !== null) {
      return mappingsOf(processes.get(state.pid)).map(function (m) {
        return { key: "m" + m.index, type: "mapping", value: figure(m.usage), ref: m, order: m.index };
      }).filter(function (item) { return item.value > 0; }).sort(byValue);
    }
    if (state.group !== null) return groupChildren(groups[state.group]);
    return groups.map(function (g) {
      return { key: "g" + g.index, type: "group", value: groupValue(g), ref: g, order: g.index };
    }).filter(function (item) { return item.value > 0; }).sort(byValue);
  }

  // --- Squarified treemap (Bruls, Huizing, van Wijk) ---
  function worst(sum, min, max, side) {
    var side2 = side * side, sum2 = sum * sum;
    return Math.max(side2 * max / sum2, sum2 / (side2 * min));
  }
  function squarify(items, x, y, w, h) {
    var total = 0;
    items.forEach(function (item) { total += item.value; });
    if (!(total > 0) || !(w > 0) || !(h > 0)) {
      items.forEach(function (item) { item.x = x; item.y = y; item.w = 0; item.h = 0; });
      return;
    }
    var scale = w * h / total;
    var i = 0, n = items.length;
    while (i < n) {
      var side = Math.min(w, h);
      var first = items[i].value * scale;
      var sum = first, min = first, max = first;
      var ratio = worst(sum, min, max, side);
      var j = i + 1;
      while (j < n) {
        var area = items[j].value * scale;
        var next = worst(sum + area, Math.min(min, area), Math.max(max, area), side);
        if (next > ratio) break;
        sum += area;
        min = Math.min(min, area);
        max = Math.max(max, area);
        ratio = next;
        j++;
      }
      var last = j >= n;
      var k, along, size;
      if (w >= h) {
        var stripW = last ? w : sum / h;
        along = y;
        for (k = i; k < j; k++) {
          size = k === j - 1 ? y + h - along : items[k].value * scale / stripW;
          items[k].x = x; items[k].y = along; items[k].w = stripW; items[k].h = size;
          along += size;
        }
        x += stripW;
        w -= stripW;
      } else {
        var stripH = last ? h : sum / w;
        along = x;
        for (k = i; k < j; k++) {
          size = k === j - 1 ? x + w - along : items[k].value * scale / stripH;
          items[k].x = along; items[k].y = y; items[k].w = size; items[k].h = stripH;
          along += size;
        }
        y += stripH;
        h -= stripH;
      }
      i = j;
    }
  }

  // --- Drawing ---
  var map = $("map");
  var itemsByKey = new Map();
  var drawnSize = "";
  function describeShort(item) {
    var value = human(item.value) + " " + state.measure.toUpperCase();
    if (item.type === "group") return "Group " + shown(item.ref.name) + ", " + item.ref.members.length + " processes: " + value;
    if (item.type === "process") return shown(item.ref.name) + ", PID " + item.ref.pid + ": " + value;
    if (item.type === "shared") return "Shared inside the group " + shown(item.ref.name) + ": " + value;
    return shown(item.ref.label) + " (" + item.ref.kind + "): " + value;
  }
  function setFigures(node, usage) {
    node.setAttribute("data-uss", String(Math.round(usage[F.uss])));
    node.setAttribute("data-pss", String(Math.round(usage[F.pss])));
    node.setAttribute("data-rss", String(Math.round(usage[F.rss])));
  }
  function place(node, item) {
    var s = node.style;
    s.left = item.x + "px";
    s.top = item.y + "px";
    s.width = item.w + "px";
    s.height = item.h + "px";
  }
  function addLabel(node, item, name, under) {
    if (item.w < 34 || item.h < (under ? 34 : 15)) return;
    var label = el("span", under ? "label under" : "label");
    label.append(el("span", "name", name));
    if (item.h >= (under ? 48 : 30)) label.append(el("span", "size", human(item.value)));
    node.append(label);
  }
  function rectOf(item, under) {
    var node = el("div", "rect " + item.type);
    place(node, item);
    node.setAttribute("data-key", item.key);
    itemsByKey.set(item.key, item);
    var ref = item.ref;
    if (item.type === "group") {
      node.setAttribute("data-group", ref.name);
      node.setAttribute("data-exact", ref.exact ? "true" : "false");
      node.setAttribute("data-uss", String(Math.round(groupUss(ref))));
      node.setAttribute("data-pss", String(Math.round(membersSum(ref, F.pss))));
      node.setAttribute("data-rss", String(Math.round(membersSum(ref, F.rss))));
      var captionText = shown(ref.name) + "  " + human(item.value);
      var caption = el("div", "caption", captionText);
      caption.setAttribute("data-key", item.key);
      caption.setAttribute("tabindex", "0");
      caption.setAttribute("role", "button");
      caption.setAttribute("aria-label", describeShort(item));
      node.append(caption);
      var children = groupChildren(ref);
      squarify(children, 0, 0, item.w, item.h);
      // Labels of members under the caption start below it (its width estimated).
      var covered = Math.min(item.w, 16 + 7.5 * captionText.length);
      children.forEach(function (child) { node.append(rectOf(child, child.y < 1 && child.x < covered)); });
      return node;
    }
    node.setAttribute("tabindex", "0");
    node.setAttribute("aria-label", describeShort(item));
    if (item.type === "process") {
      node.classList.add(processKind(ref));
      node.setAttribute("role", "button");
      node.setAttribute("data-pid", String(ref.pid));
      setFigures(node, ref.usage);
      addLabel(node, item, shown(ref.name), under);
    } else if (item.type === "shared") {
      node.setAttribute("role", "button");
      node.setAttribute("data-shared", ref.name);
      node.setAttribute("data-uss", String(Math.round(item.value)));
      addLabel(node, item, "shared inside the group", under);
    } else {
      node.classList.add(ref.kind);
      node.setAttribute("role", "img");
      node.setAttribute("data-kind", ref.kind);
      node.setAttribute("data-label", ref.label);
      setFigures(node, ref.usage);
      var text = ref.label === "other" ? "other (" + ref.count + " mappings)" : basename(ref.label);
      addLabel(node, item, shown(text), false);
    }
    return node;
  }
  function viewName() {
    return state.pid !== null ? "process" : state.group !== null ? "group" : "machine";
  }
  function draw() {
    var width = map.clientWidth, height = map.clientHeight;
    drawnSize = width + "x" + height;
    var focused = document.activeElement && map.contains(document.activeElement)
      ? document.activeElement.getAttribute("data-key") : null;
    itemsByKey = new Map();
    var items = viewItems();
    squarify(items, 0, 0, width, height);
    var fragment = document.createDocumentFragment();
    items.forEach(function (item) { fragment.append(rectOf(item, false)); });
    if (items.length === 0) {
      fragment.append(el("p", "empty", state.pid !== null ? "No mapping holds any " +
        state.measure.toUpperCase() + "." : "Nothing to draw: no process holds any " +
        state.measure.toUpperCase() + "."));
    }
    map.replaceChildren(fragment);
    map.setAttribute("data-view", viewName());
    map.setAttribute("data-measure", state.measure);
    if (focused) focusKey(focused);
  }
  function focusKey(key) {
    var node = map.querySelector('[data-key="' + key + '"][tabindex]');
    if (node) node.focus({ preventScroll: true });
    return node;
  }
  function focusFirst() {
    var node = map.querySelector("[tabindex]");
    if (node) node.focus({ preventScroll: true });
  }

  // --- Breadcrumb, measure switch, status ---
  function crumbs() {
    var list = $("crumbs");
    list.replaceChildren();
    var levels = [{ text: (data.host ? shown(data.host) : "this machine") + ": all groups by " + data.by,
      go: function () { state.group = null; state.pid = null; } }];
    if (state.group !== null) {
      var g = groups[state.group];
      levels.push({ text: shown(g.name), go: function () { state.pid = null; } });
    }
    if (state.pid !== null) {
      var p = processes.get(state.pid);
      levels.push({ text: shown(p.name) + " (PID " + p.pid + ")", go: function () {} });
    }
    levels.forEach(function (level, index) {
      var li = el("li");
      if (index === levels.length - 1) {
        var current = el("span", "", level.text);
        current.setAttribute("aria-current", "location");
        li.append(current);
      } else {
        var button = el("button", "link", level.text);
        button.type = "button";
        button.addEventListener("click", function () {
          level.go();
          render();
          focusFirst();
        });
        li.append(button);
      }
      list.append(li);
    });
  }
  function announce() {
    var text = state.pid !== null
      ? "Mappings of " + shown(processes.get(state.pid).name) + ", PID " + state.pid
      : state.group !== null ? "Processes of the group " + shown(groups[state.group].name)
      : "All groups";
    $("status").textContent = text + ", area shows " + state.measure.toUpperCase();
  }
  document.querySelectorAll("#measures button").forEach(function (button) {
    button.addEventListener("click", function () {
      state.measure = button.getAttribute("data-measure");
      document.querySelectorAll("#measures button").forEach(function (other) {
        other.setAttribute("aria-pressed", other === button ? "true" : "false");
      });
      if (sort.column === "uss" || sort.column === "pss" || sort.column === "rss") {
        sort = { column: state.measure, descending: true };
      }
      render();
    });
  });

  // --- Zoom ---
  function zoom(item) {
    if (!item) return;
    if (item.type === "process") {
      state.group = item.ref.group.index;
      state.pid = item.ref.pid;
    } else if (item.type === "group" || item.type === "shared") {
      state.group = item.ref.index;
      state.pid = null;
    } else return;
    hideTip();
    render();
    focusFirst();
  }
  function up() {
    var back = null;
    if (state.pid !== null) {
      back = "p" + state.pid;
      state.pid = null;
    } else if (state.group !== null) {
      back = "g" + state.group;
      state.group = null;
    } else return false;
    hideTip();
    render();
    if (!focusKey(back)) focusFirst();
    return true;
  }
  function itemOf(node) {
    var keyed = node && node.closest ? node.closest("[data-key]") : null;
    return keyed && map.contains(keyed) ? itemsByKey.get(keyed.getAttribute("data-key")) : null;
  }
  map.addEventListener("click", function (event) { zoom(itemOf(event.target)); });
  map.addEventListener("keydown", function (event) {
    if ((event.key === "Enter" || event.key === " ") && !event.altKey && !event.ctrlKey && !event.metaKey) {
      var item = itemOf(event.target);
      if (item && item.type !== "mapping") {
        event.preventDefault();
        zoom(item);
      }
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key !== "Escape" && event.key !== "Backspace") return;
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    if (up()) event.preventDefault();
    else hideTip();
  });

  // --- Tooltip ---
  var tip = $("tip");
  function figureRows(usage, rows) {
    var current = F[state.measure];
    [["USS", F.uss], ["  anonymous", F.ussAnon], ["  file, shmem", F.ussFile], ["PSS", F.pss],
      ["RSS", F.rss], ["RAM", F.ram], ["Swap", F.swap], ["Hugetlb", F.hugetlb],
      ["Hugetlb USS", F.hugetlbUss]].forEach(function (row) {
      var value = usage[row[1]];
      if ((row[1] === F.hugetlb || row[1] === F.hugetlbUss || row[1] === F.swap ||
        row[1] === F.ram) && !value) return;
      rows.push({ name: row[0], value: value, current: row[1] === current });
    });
    return rows;
  }
  function tipContent(item) {
    var ref = item.ref, title, sub = [], rows = [], note = "";
    if (item.type === "group") {
      title = shown(ref.name);
      sub.push(ref.members.length + (ref.members.length === 1 ? " process" : " processes"));
      sub.push("grouped by " + data.by);
      rows.push({ name: ref.exact ? "USS of the group" : "USS (members' sum)", value: groupUss(ref),
        current: state.measure === "uss" });
      rows.push({ name: "  the members' own", value: membersSum(ref, F.uss) });
      if (ref.exact) rows.push({ name: "  shared inside the group", value: sharedInside(ref) });
      rows.push({ name: "PSS (members' sum)", value: membersSum(ref, F.pss), current: state.measure === "pss" });
      rows.push({ name: "RSS (members' sum)", value: membersSum(ref, F.rss), current: state.measure === "rss" });
      if (membersSum(ref, F.swap)) {
        rows.push({ name: "Swap (members' sum)", value: membersSum(ref, F.swap) });
      }
      if (ref.cgroup && ref.cgroup.current !== null) {
        rows.push({ name: "cgroup charge", value: ref.cgroup.current });
      }
      note = ref.exact
        ? "Group USS counts the frames no process outside the group maps: what exiting every member would free."
        : "No frame-level access: the group's USS is the sum of its members' own.";
      if (ref.cgroup) sub.push("cgroup " + shown(ref.cgroup.path));
    } else if (item.type === "process") {
      title = shown(ref.name);
      sub.push("PID " + ref.pid);
      if (ref.user !== null) sub.push("user " + shown(ref.user));
      sub.push("group " + shown(ref.group.name));
      if (ref.method) sub.push(ref.method);
      figureRows(ref.usage, rows);
      if (ref.command) note = shown(ref.command);
      if (ref.notes && ref.notes.length) note = (note ? note + " " : "") + ref.notes.map(shown).join(" ");
    } else if (item.type === "shared") {
      title = "Shared inside the group " + shown(ref.name);
      rows.push({ name: "USS", value: item.value, current: true });
      note = "Frames two or more of its processes map and no process outside it: freed only when they all exit.";
    } else {
      title = shown(ref.label);
      sub.push(ref.kind === "anon" ? "anonymous" : ref.kind === "shmem" ? "shared memory" : "file");
      if (ref.count > 1) sub.push(ref.count + " mappings merged");
      sub.push(shown(ref.process.name) + " (PID " + ref.process.pid + ")");
      figureRows(ref.usage, rows);
    }
    return { title: title, sub: sub.join(" · "), rows: rows, note: note };
  }
  function showTip(item, x, y, anchor) {
    if (!item) { hideTip(); return; }
    var content = tipContent(item);
    var table = el("table");
    content.rows.forEach(function (row) {
      var tr = el("tr", row.current ? "current" : "");
      tr.append(el("td", "", row.name), el("td", "num", human(row.value)), el("td", "num", exact(row.value)));
      table.append(tr);
    });
    tip.replaceChildren(el("div", "title", content.title));
    if (content.sub) tip.append(el("div", "sub", content.sub));
    tip.append(table);
    if (content.note) tip.append(el("div", "note", content.note));
    tip.hidden = false;
    var box = tip.getBoundingClientRect();
    var left, top;
    if (anchor) {
      var r = anchor.getBoundingClientRect();
      left = r.left + Math.min(r.width, 24);
      top = r.top + Math.min(r.height, 24);
    } else {
      left = x + 14;
      top = y + 14;
    }
    if (left + box.width > window.innerWidth - 4) left = Math.max(4, (anchor ? left : x) - box.width - 14);
    if (top + box.height > window.innerHeight - 4) top = Math.max(4, (anchor ? top : y) - box.height - 14);
    tip.style.left = left + "px";
    tip.style.top = top + "px";
  }
  function hideTip() { tip.hidden = true; }
  map.addEventListener("mousemove", function (event) { showTip(itemOf(event.target), event.clientX, event.clientY); });
  map.addEventListener("mouseleave", hideTip);
  // Focus by keyboard shows the figures; a click's own focus leaves that to the mouse.
  map.addEventListener("focusin", function (event) {
    var item = itemOf(event.target);
    if (item && event.target.matches(":focus-visible")) showTip(item, 0, 0, event.target);
  });
  map.addEventListener("focusout", hideTip);

  // --- Table ---
  var sort = { column: "uss", descending: true };
  function numeric(id, label, get, optional) {
    return { id: id, label: label, numeric: true, get: get, optional: !!optional };
  }
  function text(id, label, get) { return { id: id, label: label, numeric: false, get: get }; }
  function usageColumns(get) {
    return [numeric("uss", "USS", function (r) { return get(r)[F.uss]; }),
      numeric("anon", "Anon", function (r) { return get(r)[F.ussAnon]; }, true),
      numeric("file", "File", function (r) { return get(r)[F.ussFile]; }, true),
      numeric("pss", "PSS", function (r) { return get(r)[F.pss]; }),
      numeric("rss", "RSS", function (r) { return get(r)[F.rss]; }),
      numeric("swap", "Swap", function (r) { return get(r)[F.swap]; }, true)];
  }
  function tableModel() {
    if (state.pid !== null) {
      var p = processes.get(state.pid);
      return {
        title: "Mappings of " + shown(p.name) + " (PID " + p.pid + ")",
        note: "USS " + human(p.usage[F.uss]) + " in " + mappingsOf(p).length + " rows; " +
          "the largest mappings each, the rest merged into \u201cother\u201d.",
        rows: mappingsOf(p).map(function (m) { return { key: "m" + m.index, ref: m, kind: m.kind }; }),
        columns: [text("name", "Mapping", function (r) { return r.ref.label; }),
          text("kind", "Kind", function (r) { return r.ref.kind; }),
          numeric("count", "Maps", function (r) { return r.ref.count; })]
          .concat(usageColumns(function (r) { return r.ref.usage; })),
        zoomable: false,
      };
    }
    if (state.group !== null) {
      var g = groups[state.group];
      var shared = sharedInside(g);
      return {
        title: "Processes of " + shown(g.name),
        note: g.members.length + (g.members.length === 1 ? " process" : " processes") +
          (g.exact ? "; shared inside the group (USS of no single member): " + human(shared) +
            " (" + exact(shared) + ")" : "; group USS is the members' sum (no frame-level access)"),
        rows: g.members.map(function (p) { return { key: "p" + p.pid, ref: p, kind: processKind(p) }; }),
        columns: [text("name", "Process", function (r) { return r.ref.name || ""; }),
          numeric("pid", "PID", function (r) { return r.ref.pid; }),
          text("user", "User", function (r) { return r.ref.user || ""; })]
          .concat(usageColumns(function (r) { return r.ref.usage; })),
        zoomable: true,
      };
    }
    return {
      title: "Groups by " + data.by,
      note: groups.length + (groups.length === 1 ? " group, " : " groups, ") + processes.size +
        (processes.size === 1 ? " process" : " processes") + ". Group USS is exact where marked.",
      rows: groups.map(function (g) { return { key: "g" + g.index, ref: g, kind: "group" }; }),
      columns: [text("name", "Group", function (r) { return r.ref.name; }),
        numeric("count", "Procs", function (r) { return r.ref.members.length; }),
        numeric("uss", "USS", function (r) { return groupUss(r.ref); }),
        numeric("shared", "Shared in", function (r) { return sharedInside(r.ref); }, true),
        numeric("pss", "PSS", function (r) { return membersSum(r.ref, F.pss); }),
        numeric("rss", "RSS", function (r) { return membersSum(r.ref, F.rss); }),
        numeric("swap", "Swap", function (r) { return membersSum(r.ref, F.swap); }, true)],
      zoomable: true,
    };
  }
  function drawTable() {
    var model = tableModel();
    // Columns that are zero in every row (no swap, no file pages) only take room.
    model.columns = model.columns.filter(function (c) {
      return !c.optional || model.rows.some(function (row) { return c.get(row) !== 0; });
    });
    $("table-title").textContent = model.title;
    $("table-note").textContent = model.note;
    var column = model.columns.find(function (c) { return c.id === sort.column; });
    if (!column) {
      sort = { column: state.measure, descending: true };
      column = model.columns.find(function (c) { return c.id === sort.column; });
    }
    var rows = model.rows.slice();
    var direction = sort.descending ? -1 : 1;
    rows.sort(function (a, b) {
      var x = column.get(a), y = column.get(b);
      var order = column.numeric ? x - y : String(x).localeCompare(String(y));
      return direction * order || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    });
    var head = el("tr");
    model.columns.forEach(function (c) {
      var th = el("th", c.numeric ? "num" : "");
      th.setAttribute("scope", "col");
      if (c.id === sort.column) th.setAttribute("aria-sort", sort.descending ? "descending" : "ascending");
      var button = el("button", "", c.label);
      button.type = "button";
      button.addEventListener("click", function () {
        sort = sort.column === c.id ? { column: c.id, descending: !sort.descending }
          : { column: c.id, descending: c.numeric };
        drawTable();
        var again = document.querySelector('#table th[aria-sort] button');
        if (again) again.focus();
      });
      th.append(button);
      head.append(th);
    });
    var table = $("table");
    table.tHead.replaceChildren(head);
    var body = document.createDocumentFragment();
    rows.forEach(function (row) {
      var tr = el("tr");
      tr.setAttribute("data-key", row.key);
      model.columns.forEach(function (c, index) {
        var value = c.get(row);
        var td = el("td", c.numeric ? "num" : "text");
        if (index === 0) {
          var swatch = el("span", "swatch " + (row.kind === "group" ? "shared" : row.kind));
          swatch.setAttribute("aria-hidden", "true");
          td.append(swatch);
          var name = shown(value === "" ? "?" : value);
          if (model.zoomable) {
            var button = el("button", "link", name);
            button.type = "button";
            button.addEventListener("click", function () {
              var item = itemsByKey.get(row.key) || (row.kind === "group"
                ? { type: "group", ref: row.ref } : { type: "process", ref: row.ref });
              zoom(item);
            });
            td.append(button);
          } else td.append(document.createTextNode(name));
          td.title = String(value);
        } else if (c.numeric && c.id !== "count" && c.id !== "pid") {
          td.textContent = human(value);
          td.title = exact(value);
        } else td.textContent = String(value);
        tr.append(td);
      });
      body.append(tr);
    });
    table.tBodies[0].replaceChildren(body);
  }
  var lit = null;
  $("table").addEventListener("mouseover", function (event) {
    var tr = event.target.closest ? event.target.closest("tr[data-key]") : null;
    var node = tr ? map.querySelector('[data-key="' + tr.getAttribute("data-key") + '"]') : null;
    if (node === lit) return;
    if (lit) lit.classList.remove("hl");
    lit = node;
    if (lit) lit.classList.add("hl");
  });
  $("table").addEventListener("mouseleave", function () {
    if (lit) lit.classList.remove("hl");
    lit = null;
  });

  // --- Header ---
  // "2025-01-31 14:05:09 UTC+01:00": unambiguous in every locale.
  function localTime(iso) {
    var when = new Date(iso);
    if (isNaN(when.getTime())) return iso;
    var two = function (n) { return String(n).padStart(2, "0"); };
    var offset = -when.getTimezoneOffset();
    var sign = offset < 0 ? "-" : "+";
    offset = Math.abs(offset);
    return when.getFullYear() + "-" + two(when.getMonth() + 1) + "-" + two(when.getDate()) + " " +
      two(when.getHours()) + ":" + two(when.getMinutes()) + ":" + two(when.getSeconds()) +
      " UTC" + sign + two(Math.floor(offset / 60)) + ":" + two(offset % 60);
  }
  function header() {
    var host = data.host ? shown(data.host) : "this machine";
    $("host").textContent = host;
    var local = localTime(data.time);
    document.title = "uss report: " + host + ", " + local;
    var meta = $("meta");
    function item(parent, label, value, title) {
      var span = el("span");
      span.append(document.createTextNode(label + " "), el("b", "", value));
      if (title) span.title = title;
      parent.append(span);
    }
    item(meta, "measured", local, data.time);
    if (data.kernel) item(meta, "kernel", shown(data.kernel));
    item(meta, "method", data.method, data.method === "kpagecount"
      ? "exact: every frame's map count from /proc/kpagecount; group USS is exact"
      : "the kernel's smaps figures; group USS is the members' sum");
    item(meta, "grouped by", data.by);
    var totals = $("totals");
    var all = data.fields.map(function () { return 0; });
    processes.forEach(function (p) { p.usage.forEach(function (v, i) { all[i] += v; }); });
    item(totals, "processes", String(processes.size));
    item(totals, "USS", human(all[F.uss]), exact(all[F.uss]));
    item(totals, "PSS", human(all[F.pss]), exact(all[F.pss]));
    item(totals, "RSS", human(all[F.rss]), exact(all[F.rss]));
    if (all[F.swap]) item(totals, "swap", human(all[F.swap]), exact(all[F.swap]));
    if (data.memory) {
      item(totals, "machine", human(data.memory.used) + " used of " + human(data.memory.total) +
        ", " + human(data.memory.available) + " available");
    }
    var a = data.accounting;
    var summary = $("accounting");
    var skipped = a.unmeasured.length;
    summary.append(document.createTextNode("Not measured: "), el("b", "", String(skipped)),
      document.createTextNode(" of " + a.scanned + " processes looked at (unreadable " + a.unreadable +
        ", exited " + a.exited + ", zombies " + a.zombies + ", failed " + a.failed + "); " +
        a.kernelThreads + " kernel threads hold no user memory."));
    var table = $("unmeasured-table");
    if (skipped === 0) {
      var none = el("tr");
      none.append(el("td", "", "Every process looked at was measured."));
      table.append(none);
    } else {
      var head = el("tr");
      ["PID", "Name", "User", "State", "Why"].forEach(function (name) { head.append(el("th", "", name)); });
      table.append(head);
      a.unmeasured.forEach(function (row) {
        var tr = el("tr");
        [String(row.pid), shown(row.name), shown(row.user), row.state, shown(row.error || "")]
          .forEach(function (value) { tr.append(el("td", "", value)); });
        table.append(tr);
      });
    }
    var notes = $("notes");
    data.notes.forEach(function (note) { notes.append(el("li", "", shown(note))); });
    notes.hidden = data.notes.length === 0;
  }

  function render() {
    draw();
    crumbs();
    drawTable();
    announce();
  }

  header();
  render();
  map.getBoundingClientRect();
  document.documentElement.setAttribute("data-drawn", String(Math.round(performance.now())));
  performance.mark("uss-drawn");

  var pending = false;
  new ResizeObserver(function () {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () {
      pending = false;
      if (map.clientWidth + "x" + map.clientHeight !== drawnSize) {
        hideTip();
        draw();
      }
    });
  }).observe(map);
})();
`;

/** The page script's SHA-256 in base64, computed once. */
let scriptHash: Promise<string> | undefined;

async function sha256Base64(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/**
 * Renders the report as one self-contained HTML document: markup, style
 * sheet, script and data inline, no request of any kind. The script is
 * allowed by its hash in the Content-Security-Policy, so nothing else can run
 * even if markup got in.
 *
 * @example
 * ```ts
 * import { renderHtml } from "./html.ts";
 * const html = await renderHtml({
 *   kind: "report", by: "name", method: "kpagecount", notes: [], exitCode: 0, memory: null,
 *   groups: [], processes: [], mappings: new Map(),
 *   accounting: { scanned: 0, unreadable: 0, exited: 0, zombies: 0, kernelThreads: 0,
 *     failed: 0, unmeasured: [] },
 *   host: "</script><b>box", kernel: "6.1.0", time: "2025-01-01T00:00:00.000Z",
 * });
 * html.startsWith("<!DOCTYPE html>"); // true
 * html.includes("</script><b>"); // false: text from the machine stays inside the JSON
 * /\b(src|href)=/.test(html); // false: nothing is loaded
 * ```
 */
export async function renderHtml(result: ReportResult): Promise<string> {
  // No request of any kind (the file is the whole report), and no script but this one.
  scriptHash ??= sha256Base64(SCRIPT);
  const csp = `default-src 'none'; script-src 'sha256-${await scriptHash}'; ` +
    "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";
  return "<!DOCTYPE html>\n" +
    '<html lang="en"><head><meta charset="utf-8">\n' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
    `<meta http-equiv="Content-Security-Policy" content="${csp}">\n` +
    '<meta name="color-scheme" content="light dark">\n' +
    "<title>uss report</title>\n" +
    `<style>${STYLE}</style>\n</head>\n<body>${MARKUP}` +
    `<script type="application/json" id="uss-data">${embedJson(reportData(result))}</script>\n` +
    `<script>${SCRIPT}</script>\n</body></html>\n`;
}
