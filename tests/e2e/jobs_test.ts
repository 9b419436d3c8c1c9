/**
 * End-to-end: how many processes are read at once (`--jobs`) changes nothing
 * but the time. Stopped fixtures (statically linked: they share no frame with
 * anything that could change between two runs) are measured with `--jobs 1`
 * and `--jobs 4`, as processes, as a tree, by name and per mapping; the JSON
 * figures must be byte-identical (PSS aside when other processes never stop
 * coming and going: see `bothWays`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { buildFixture, IS_ROOT, runUssJson, startFixture } from "../helpers.ts";
import { startWorkers, uniqueName } from "./workers_support.ts";

/** One run of `uss --json --jobs JOBS ARGS`, as JSON text. */
async function jsonText(jobs: string, args: string[]): Promise<string> {
  const run = await runUssJson(["--jobs", jobs, ...args]);
  assert.ok(
    run.code === 0,
    `uss --jobs ${jobs} ${args.join(" ")}: exit ${run.code}: ${run.stderr}`,
  );
  return JSON.stringify(run.json);
}

/**
 * `args` measured with `--jobs 1` and `--jobs 4`. Every process maps the
 * [vdso], whose frame's count (so the PSS of every process) moves whenever any
 * process on the machine starts or exits, as other test files' processes do:
 * the pair is measured again until both runs saw a quiet machine (up to 20
 * times). If it never is, PSS is left out and every other figure must still
 * agree. Returns the two texts to compare.
 */
async function bothWays(args: string[]): Promise<[string, string]> {
  let last: [string, string] = ["", ""];
  for (let attempt = 0; attempt < 20; attempt++) {
    last = [await jsonText("1", args), await jsonText("4", args)];
    if (last[0] === last[1]) return last;
  }
  console.log(`${args.join(" ")}: never quiet in 20 attempts; PSS left out of the comparison`);
  const withoutPss = (text: string) => text.replace(/"pss":[0-9]+/g, '"pss":0');
  return [withoutPss(last[0]), withoutPss(last[1])];
}

Deno.test({
  name: "--jobs 1 and --jobs 4 give byte-identical figures (root: exact method)",
  ignore: !IS_ROOT,
  async fn(t) {
    const name = uniqueName("jobs");
    await using cow = await startWorkers(["cow", "5", "2048", "128"], 6, { name });
    await using shared = await startWorkers(["shared", "3", "512"], 4, { name });
    const layouts = await buildFixture("layouts");
    await using double = await startFixture(layouts, ["double", "64"], 1);
    const pids = [...cow.pids, ...shared.pids, double.processes[0].pid];

    await t.step("processes given by PID", async () => {
      const [one, four] = await bothWays(pids.map(String));
      assert.equal(four, one);
      const reports = JSON.parse(one) as { state: string; uss: number }[];
      assert.equal(reports.length, pids.length);
      assert.ok(reports.every((report) => report.state === "ok"), one);
    });

    await t.step("a tree, and the fixtures grouped by name", async () => {
      for (const args of [["--tree", String(cow.parent.pid)], ["--by", "name", "--name", name]]) {
        const [one, four] = await bothWays(args);
        assert.equal(four, one, args.join(" "));
      }
    });

    await t.step("per mapping", async () => {
      const [one, four] = await bothWays(["maps", String(double.processes[0].pid)]);
      assert.equal(four, one);
    });
  },
});
