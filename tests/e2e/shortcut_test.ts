// The bit-56 shortcut (frames mapped once are unique without reading
// kpagecount) must not change any figure. Measures stopped fixtures whose layouts
// make bit 56 true, false and wrong (PMD-mapped THP after a fork and a partial
// unmap) with the shortcut on and off, through the library, and compares every
// process's figures and every mapping's.

import assert from "node:assert/strict";
import { measureProcesses, type ProcessReport } from "../../src/mod.ts";
import { buildFixture, IS_ROOT, startFixture } from "./../helpers.ts";

const LAYOUTS: [string[], number][] = [
  [["private", "512"], 1],
  [["cow", "256"], 2],
  [["double", "64"], 1],
  [["thp", "3"], 2],
];

for (const [args, processes] of LAYOUTS) {
  Deno.test({
    name: `shortcut on and off agree exactly: ${args[0]} (root only)`,
    ignore: !IS_ROOT,
    async fn() {
      const binary = await buildFixture("layouts");
      await using fixture = await startFixture(binary, args, processes);
      const pids = fixture.processes.map((process) => process.pid);
      const options = { method: "kpagecount" as const, mappings: true };
      const figures = (reports: ProcessReport[]) =>
        reports.map((report) => ({
          state: report.state,
          usage: report.usage,
          mappings: report.mappings && Array.from(report.mappings, (mapping) => mapping.usage),
        }));
      // The fixtures are stopped, but libc pages they share with processes that
      // come and go can change between two runs: a real difference repeats.
      let fast, slow;
      for (let attempt = 0; attempt < 3; attempt++) {
        fast = figures(await measureProcesses(pids, { ...options, exclusiveShortcut: true }));
        slow = figures(await measureProcesses(pids, { ...options, exclusiveShortcut: false }));
        if (JSON.stringify(fast) === JSON.stringify(slow)) break;
      }
      assert.ok(fast!.every((report) => report.state === "ok"));
      assert.deepEqual(fast, slow);
    },
  });
}
