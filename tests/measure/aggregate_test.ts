// Covers the pure views of src/measure/aggregate.ts and src/report/order.ts:
// grouping reports by user or name, inexact groups without frame-level scans,
// merging mappings by file, and ordering rows.

import assert from "node:assert/strict";
import { emptyUsage, type Usage } from "../../src/accounting/usage.ts";
import {
  buildGroups,
  groupSpecsBy,
  mappingLabel,
  usageByFile,
} from "../../src/measure/aggregate.ts";
import type { Measurement } from "../../src/measure/measure.ts";
import type { ProcessReport } from "../../src/measure/types.ts";
import type { Vma } from "../../src/procfs/maps.ts";
import { orderRows } from "../../src/report/order.ts";

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

const REPORTS: ProcessReport[] = [
  report(10, "nginx", 0, { uss: 100, pss: 150, rss: 300 }),
  report(11, "nginx", 33, { uss: 40, pss: 60, rss: 200 }),
  report(12, "nginx", 33, { uss: 50, pss: 70, rss: 200 }),
  report(13, "bash", 1000, { uss: 5, pss: 9, rss: 20 }),
  { ...report(14, "gone", 1000, {}), state: "exited", usage: null, error: "exited" },
];

Deno.test("groupSpecsBy: by name and by user, in order of first appearance, failures left out", () => {
  assert.deepEqual(groupSpecsBy(REPORTS, "name", String), [
    { name: "nginx", pids: [10, 11, 12] },
    { name: "bash", pids: [13] },
  ]);
  const names = new Map([[0, "root"], [33, "www-data"]]);
  assert.deepEqual(groupSpecsBy(REPORTS, "user", (uid) => names.get(uid) ?? String(uid)), [
    { name: "root", pids: [10] },
    { name: "www-data", pids: [11, 12] },
    { name: "1000", pids: [13] },
  ]);
});

Deno.test("buildGroups: without frame-level scans a group is the sum, flagged inexact", () => {
  const measurement: Measurement = { reports: REPORTS, groupFigures: () => null };
  const [nginx, withGone] = buildGroups(measurement, [
    { name: "nginx", pids: [10, 11, 12] },
    { name: "bash", pids: [13, 14] },
  ]);
  assert.equal(nginx.exact, false);
  assert.deepEqual(nginx.members, [10, 11, 12]);
  assert.equal(nginx.usage.uss, 190);
  assert.equal(nginx.ussSum, 190);
  assert.equal(nginx.usage.pss, 280);
  assert.equal(nginx.method, "smaps");
  assert.deepEqual(withGone.members, [13]); // the exited member is not a member
});

Deno.test("buildGroups: exact figures come from the measurement when it has them", () => {
  const exact = usage({ uss: 999, rss: 1000 });
  const measurement: Measurement = {
    reports: REPORTS,
    groupFigures: (pids) => pids.length === 2 ? { usage: exact, ussSum: 90 } : null,
  };
  const [group] = buildGroups(measurement, [{ name: "www", pids: [11, 12] }]);
  assert.equal(group.exact, true);
  assert.equal(group.usage.uss, 999);
  assert.equal(group.ussSum, 90);
});

Deno.test("usageByFile: merges mappings per path, keeps (deleted), names anonymous memory", () => {
  const withMaps = (pid: number, mappings: [Vma, Partial<Usage>][]): ProcessReport => ({
    ...report(pid, "p", 0, {}),
    mappings: mappings.map(([v, u]) => ({ vma: v, usage: usage(u) })),
  });
  const files = usageByFile([
    withMaps(1, [
      [vma("/lib/libc.so", 1), { uss: 1, rss: 10 }],
      [vma("/lib/libc.so", 2), { uss: 2, rss: 20 }],
      [vma("", 3), { uss: 4 }],
    ]),
    withMaps(2, [[vma("/lib/libc.so", 1), { rss: 10 }], [vma("/tmp/x", 4, true), { uss: 8 }]]),
  ]);
  const byName = new Map(files.map((file) => [file.file, file]));
  assert.deepEqual(byName.get("/lib/libc.so")?.pids, [1, 2]);
  assert.equal(byName.get("/lib/libc.so")?.mappings, 3);
  assert.equal(byName.get("/lib/libc.so")?.usage.rss, 40);
  assert.equal(byName.get("/lib/libc.so")?.usage.uss, 3);
  assert.equal(byName.get("[anon]")?.usage.uss, 4);
  assert.equal(byName.get("/tmp/x (deleted)")?.usage.uss, 8);
  assert.equal(mappingLabel({ vma: vma("[heap]", 9), usage: usage({}) }), "[heap]");
});

Deno.test("orderRows: sizes largest first, pid and name ascending, reverse, limit, failures last", () => {
  const fields = {
    usage: (r: ProcessReport) => r.usage,
    id: (r: ProcessReport) => r.pid,
    name: (r: ProcessReport) => r.name ?? "",
  };
  const pids = (
    sort: "uss" | "pss" | "rss" | "pid" | "name",
    reverse = false,
    limit: number | null = null,
  ) => orderRows(REPORTS, { sort, reverse, limit }, fields).map((r) => r.pid);
  assert.deepEqual(pids("uss"), [10, 12, 11, 13, 14]);
  assert.deepEqual(pids("rss"), [10, 11, 12, 13, 14]); // ties broken by PID
  assert.deepEqual(pids("pid", true), [14, 13, 12, 11, 10]);
  assert.deepEqual(pids("name"), [13, 14, 10, 11, 12]);
  assert.deepEqual(pids("pss", false, 2), [10, 12]);
});
