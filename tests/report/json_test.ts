// Covers resultJsonText (src/report/json.ts): the JSON of `maps PID`, made
// mapping by mapping, is the text JSON.stringify writes for the whole result,
// for no mapping, one, and every mapping of this test's own process.

import assert from "node:assert/strict";
import { emptyUsage } from "../../src/accounting/usage.ts";
import { parseMaps } from "../../src/procfs/maps.ts";
import { resultJson, resultJsonText } from "../../src/report/json.ts";
import type { MappingsResult } from "../../src/report/result.ts";

function mappingsResult(count: number): MappingsResult {
  const vmas = parseMaps(Deno.readTextFileSync("/proc/self/maps"), 4096).slice(0, count);
  return {
    kind: "mappings",
    process: {
      pid: Deno.pid,
      name: "deno",
      uid: 0,
      user: "root",
      startTime: 1,
      state: "ok",
      error: null,
      method: "kpagecount",
      usage: { ...emptyUsage(), uss: 4096, pss: 1365.5 },
      notes: ["a note"],
    },
    mappings: vmas.map((vma, index) => ({ vma, usage: { ...emptyUsage(), rss: index * 4096 } })),
    count: vmas.length,
    method: "kpagecount",
    notes: [],
    exitCode: 0,
    memory: null,
  };
}

Deno.test("resultJsonText: the mappings' JSON, piece by piece, is JSON.stringify's text", () => {
  const all = parseMaps(Deno.readTextFileSync("/proc/self/maps"), 4096).length;
  assert.ok(all > 10, `this process has ${all} mappings`);
  for (const count of [0, 1, all]) {
    const result = mappingsResult(count);
    const pieces = [...resultJsonText(result)];
    assert.equal(pieces.join("\n"), JSON.stringify(resultJson(result), null, 2), `${count}`);
    // One piece per mapping besides the head and the closing lines: none holds them
    // all. (The result's own count: this process's maps may change between reads.)
    if (result.count > 1) {
      assert.ok(pieces.length >= result.count, `${pieces.length} pieces, ${result.count} mappings`);
    }
  }
});
