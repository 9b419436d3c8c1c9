// Covers the pure views of src/measure/aggregate.ts and src/report/order.ts:
// splitting processes into groups by user or by name (groupSpecsBy; the groups'
// figures are computed while measuring, see tests/accounting/group_test.ts),
// merging mappings by file (usageByFile, addFileMappings, fileReports,
// mappingLabel), and ordering rows (orderRows).

import assert from "node:assert/strict";
import { emptyUsage, type Usage } from "../../src/accounting/usage.ts";
import {
  addFileMappings,
  fileReports,
  type FileTotals,
  groupSpecsBy,
  mappingLabel,
  type ProcessIdentity,
  usageByFile,
} from "../../src/measure/aggregate.ts";
import type { ProcessReport } from "../../src/measure/types.ts";
import type { Vma } from "../../src/procfs/maps.ts";
import { orderRows, type SortKey } from "../../src/report/order.ts";

function usage(partial: Partial<Usage>): Usage {
  return { ...emptyUsage(), ...partial };
}

function vma(path: string, start: number, deleted = false): Vma {
  return {
    start: start.toString(16),
    end: (start + 1).toString(16),
    startPage: start,
    endPage: start + 1,
    perms: "r--p",
    offset: "0",
    device: "08:01",
    inode: path.startsWith("/") ? 7 : 0,
    path,
    deleted,
  };
}

function report(pid: number, name: string, uid: number, partial: Partial<Usage>): ProcessReport {
  return {
    pid,
    name,
    uid,
    startTime: 1,
    state: "ok",
    error: null,
    method: "smaps",
    usage: usage(partial),
    notes: [],
  };
}

function withMaps(pid: number, mappings: [Vma, Partial<Usage>][]): ProcessReport {
  return {
    ...report(pid, "p", 0, {}),
    mappings: mappings.map(([v, u]) => ({ vma: v, usage: usage(u) })),
  };
}

const REPORTS: ProcessReport[] = [
  report(10, "nginx", 0, { uss: 100, pss: 150, rss: 300, swap: 1 }),
  report(11, "nginx", 33, { uss: 40, pss: 60, rss: 200, swap: 7 }),
  report(12, "nginx", 33, { uss: 50, pss: 70, rss: 200 }),
  report(13, "bash", 1000, { uss: 5, pss: 9, rss: 20, swap: 3 }),
  { ...report(14, "gone", 1000, {}), state: "exited", usage: null, error: "exited" },
];

Deno.test("groupSpecsBy: by a key, in order of first appearance", () => {
  const processes: ProcessIdentity[] = [
    { pid: 10, name: "nginx", uid: 0 },
    { pid: 13, name: "bash", uid: 1000 },
    { pid: 11, name: "nginx", uid: 33 },
  ];
  assert.deepEqual(groupSpecsBy(processes, (process) => process.name), [
    { name: "nginx", pids: [10, 11] },
    { name: "bash", pids: [13] },
  ]);
});

Deno.test("groupSpecsBy: the caller names the groups (users by name)", () => {
  const names = new Map([[0, "root"], [33, "www-data"]]);
  const processes: ProcessIdentity[] = [
    { pid: 10, name: "nginx", uid: 0 },
    { pid: 11, name: "nginx", uid: 33 },
    { pid: 13, name: "bash", uid: 1000 },
    { pid: 12, name: "nginx", uid: 33 },
  ];
  const byUser = (process: ProcessIdentity) => names.get(process.uid ?? -1) ?? String(process.uid);
  assert.deepEqual(groupSpecsBy(processes, byUser), [
    { name: "root", pids: [10] },
    { name: "www-data", pids: [11, 12] },
    { name: "1000", pids: [13] },
  ]);
});

Deno.test("groupSpecsBy: processes without a key are left out", () => {
  const processes: ProcessIdentity[] = [
    { pid: 20, name: null, uid: null },
    { pid: 21, name: "sh", uid: 5 },
    { pid: 22, name: null, uid: null },
  ];
  assert.deepEqual(groupSpecsBy(processes, (process) => process.name), [
    { name: "sh", pids: [21] },
  ]);
  assert.deepEqual(groupSpecsBy(processes, (process) => process.name ?? "?"), [
    { name: "?", pids: [20, 22] },
    { name: "sh", pids: [21] },
  ]);
});

Deno.test("groupSpecsBy: no processes, no groups", () => {
  assert.deepEqual(groupSpecsBy([], (process) => process.name), []);
});

Deno.test("usageByFile: merges mappings per path, keeps (deleted), names anonymous memory", () => {
  const files = usageByFile([
    withMaps(1, [
      [vma("/lib/libc.so", 1), { uss: 1, rss: 10 }],
      [vma("/lib/libc.so", 2), { uss: 2, rss: 20 }],
      [vma("", 3), { uss: 4 }],
    ]),
    withMaps(2, [[vma("/lib/libc.so", 1), { rss: 10 }], [vma("/tmp/x", 4, true), { uss: 8 }]]),
  ]);
  const byName = new Map(files.map((file) => [file.file, file]));
  assert.deepEqual([...byName.keys()], ["/lib/libc.so", "[anon]", "/tmp/x (deleted)"]);
  assert.deepEqual(byName.get("/lib/libc.so")?.pids, [1, 2]);
  assert.equal(byName.get("/lib/libc.so")?.mappings, 3);
  assert.deepEqual(byName.get("/lib/libc.so")?.usage, usage({ uss: 3, rss: 40 }));
  assert.deepEqual(byName.get("[anon]")?.usage, usage({ uss: 4 }));
  assert.deepEqual(byName.get("/tmp/x (deleted)")?.pids, [2]);
});

Deno.test("usageByFile: processes without mappings add nothing", () => {
  assert.deepEqual(usageByFile([report(1, "p", 0, { uss: 5 })]), []);
});

Deno.test("addFileMappings adds process by process; fileReports lists PIDs ascending", () => {
  const totals: FileTotals = new Map();
  addFileMappings(totals, withMaps(9, [[vma("/bin/sh", 1), { uss: 1, pss: 2 }]]));
  addFileMappings(totals, withMaps(3, [[vma("/bin/sh", 1), { uss: 4, pss: 8 }]]));
  addFileMappings(totals, withMaps(9, [[vma("/bin/sh", 5), { rss: 16 }]]));
  assert.deepEqual(fileReports(totals), [
    { file: "/bin/sh", pids: [3, 9], mappings: 3, usage: usage({ uss: 5, pss: 10, rss: 16 }) },
  ]);
});

Deno.test("mappingLabel: the path, [anon] for unnamed memory, (deleted) kept", () => {
  const label = (v: Vma) => mappingLabel({ vma: v, usage: usage({}) });
  assert.equal(label(vma("[heap]", 9)), "[heap]");
  assert.equal(label(vma("[anon:v8]", 9)), "[anon:v8]");
  assert.equal(label(vma("", 9)), "[anon]");
  assert.equal(label(vma("/usr/lib/a b.so", 9, true)), "/usr/lib/a b.so (deleted)");
});

Deno.test("orderRows: sizes largest first, pid and name ascending, reverse, limit, failures last", () => {
  const fields = {
    usage: (r: ProcessReport) => r.usage,
    id: (r: ProcessReport) => r.pid,
    name: (r: ProcessReport) => r.name ?? "",
  };
  const pids = (sort: SortKey | null, reverse = false, limit: number | null = null) =>
    orderRows(REPORTS, { sort, reverse, limit }, fields).map((r) => r.pid);
  assert.deepEqual(pids("uss"), [10, 12, 11, 13, 14]);
  assert.deepEqual(pids("rss"), [10, 11, 12, 13, 14]); // ties broken by PID
  assert.deepEqual(pids("swap"), [11, 13, 10, 12, 14]);
  assert.deepEqual(pids("pid", true), [14, 13, 12, 11, 10]);
  assert.deepEqual(pids("name"), [13, 14, 10, 11, 12]);
  assert.deepEqual(pids("pss", false, 2), [10, 12]);
  assert.deepEqual(pids(null), [10, 11, 12, 13, 14]);
  assert.deepEqual(pids(null, true, 1), [14]);
});
