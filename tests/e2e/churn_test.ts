/**
 * End-to-end: the every-process listing (`uss --json`) while processes come and
 * go. A static C helper (tests/fixtures/churn.c) keeps forking children that
 * exit at once, sleepers it kills a moment later and sleepers that end by
 * themselves within 1.5 s; meanwhile `uss --json` runs several times in a row.
 * Every run must exit 0 with valid JSON, measure nothing it then reports with an
 * error, account for every PID it looked at (`processes` plus the counts equal
 * `scanned`), and list every process that lived through the whole run (or count
 * it unreadable when the test cannot read it either).
 *
 * @module
 */

import assert from "node:assert/strict";
import { buildFixture, runUssJson } from "../helpers.ts";
import { LISTING_KEYS } from "../json_schema.ts";
import { assertSizes, type ListingJson, listPids, statOf } from "./workers_support.ts";

/** PID -> start time of every process that is neither a kernel thread nor a zombie. */
function snapshot(): Map<number, number> {
  const alive = new Map<number, number>();
  for (const pid of listPids()) {
    const stat = statOf(pid);
    if (stat && !stat.kernelThread && stat.state !== "Z") alive.set(pid, stat.start);
  }
  return alive;
}

/** Whether the test itself can open the process's memory files (else it is unreadable). */
function readable(pid: number): boolean {
  try {
    Deno.openSync(`/proc/${pid}/maps`).close();
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.PermissionDenied) return false;
    return true; // gone: not a permission problem
  }
}

const RUNS = 6;

Deno.test("listing under churn: every run exits 0 with valid JSON and accounts for survivors", async () => {
  const churn = await buildFixture("churn");
  const spawner = new Deno.Command(churn, {
    args: ["60"],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const spawned: number[] = [];
  const reading = (async () => {
    let buffered = "";
    for await (const chunk of spawner.stdout.pipeThrough(new TextDecoderStream())) {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) spawned.push(Number(line));
    }
  })();
  const seen: string[] = [];
  try {
    // Let the churn get going.
    while (spawned.length < 20) await new Promise((resolve) => setTimeout(resolve, 10));
    let exitedSeen = 0;
    let churnListed = 0;
    for (let run = 0; run < RUNS; run++) {
      const spawnedBefore = spawned.length;
      const before = snapshot();
      const { code, json, stderr } = await runUssJson<ListingJson>([]);
      const after = snapshot();
      const during = spawned.slice(spawnedBefore);
      assert.equal(code, 0, `run ${run}: exit ${code}: ${stderr}`);
      assert.equal(stderr, "", `run ${run}: nothing on stderr in JSON mode`);
      assert.deepEqual(Object.keys(json), LISTING_KEYS);

      const listed = new Set<number>();
      for (const process of json.processes) {
        const what = `run ${run}: ${JSON.stringify(process)}`;
        assert.equal(process.state, "ok", what);
        assert.equal(process.error, null, what);
        assert.equal(process.method, json.method, what);
        assert.ok(Array.isArray(process.notes), what);
        assertSizes(process as unknown as Record<string, unknown>, what);
        assert.ok(!listed.has(process.pid), `run ${run}: ${process.pid} listed twice`);
        listed.add(process.pid);
      }
      assert.equal(json.total.processes, json.processes.length, `run ${run}: total.processes`);
      const counts = ["unreadable", "exited", "zombies", "kernel_threads", "failed"] as const;
      for (const key of counts) {
        assert.ok(Number.isInteger(json[key]) && json[key] >= 0, `run ${run}: ${key} ${json[key]}`);
      }
      // Every PID uss looked at is measured or in exactly one count.
      assert.equal(
        json.processes.length + counts.reduce((sum, key) => sum + json[key], 0),
        json.scanned,
        `run ${run}: processes and counts add up to the PIDs scanned`,
      );
      assert.equal(json.failed, 0, `run ${run}: no process failed with an error`);

      // Every process that lived through the whole run is listed or unreadable.
      const survivors = [...before].filter(([pid, start]) => after.get(pid) === start)
        .map(([pid]) => pid);
      const missing = survivors.filter((pid) => !listed.has(pid));
      const unreadable = missing.filter((pid) => !readable(pid));
      assert.deepEqual(
        missing.filter((pid) => !unreadable.includes(pid)),
        [],
        `run ${run}: processes alive before and after the run but not listed`,
      );
      assert.ok(
        unreadable.length <= json.unreadable,
        `run ${run}: ${unreadable.length} survivors unreadable to the test too, ` +
          `uss counted ${json.unreadable}`,
      );
      // The counts cover at least the survivors (the rest came or went during the run).
      assert.ok(
        json.processes.length + json.unreadable + json.exited + json.failed >= survivors.length,
        `run ${run}: counts below the ${survivors.length} survivors`,
      );
      const children = new Set(spawned);
      const churned = [...listed].filter((pid) => children.has(pid)).length;
      churnListed += churned;
      exitedSeen += json.exited;
      seen.push(
        `run ${run}: ${json.processes.length} listed, unreadable ${json.unreadable}, exited ` +
          `${json.exited}, failed ${json.failed}; ${survivors.length} survivors; ` +
          `${during.length} children spawned during the run, ${churned} children measured`,
      );
    }
    assert.ok(spawned.length > 100, `the helper kept spawning (${spawned.length} children)`);
    console.log(seen.join("\n"));
    console.log(
      `${spawned.length} children spawned; ${churnListed} churned processes measured, ` +
        `${exitedSeen} reported exited`,
    );
  } finally {
    try {
      Deno.kill(-spawner.pid, "SIGKILL"); // the helper and every child in its group
    } catch { /* already gone */ }
    try {
      spawner.kill("SIGKILL");
    } catch { /* already gone */ }
    await spawner.status;
    await reading.catch(() => {});
  }
});
