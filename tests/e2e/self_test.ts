// Measuring must not change the answer: frames that only the target and the
// measuring tool map are unique to the target. The test copies the Deno binary,
// has a fixture map and read every page of that copy, and measures the fixture
// with uss running from the copy (so the tool maps the same frames) and from the
// original (so it maps none of them): both must say every page is unique, as the
// kernel does when no tool runs.

import assert from "node:assert/strict";
import {
  buildFixture,
  IS_ROOT,
  PAGE_SIZE,
  readRollup,
  runUssJson,
  startFixture,
} from "../helpers.ts";

interface Mapping {
  start: string;
  uss: number;
  rss: number;
  pss: number;
}

Deno.test({
  name: "frames shared only with uss itself count as unique (root only)",
  ignore: !IS_ROOT,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "uss-self-" });
    try {
      const copy = `${dir}/deno`;
      await Deno.copyFile(Deno.execPath(), copy);
      await Deno.chmod(copy, 0o755);
      const binary = await buildFixture("mapfile");
      await using fixture = await startFixture<{ region: string; pages: number }>(
        binary,
        [copy],
        1,
      );
      const [{ pid, region, pages }] = fixture.processes;
      const expected = pages * PAGE_SIZE;
      const rollupBefore = await readRollup(pid);
      for (const deno of [copy, Deno.execPath()]) {
        const { code, json } = await runUssJson<{ method: string; mappings: Mapping[] }>(
          ["maps", String(pid)],
          { deno },
        );
        assert.equal(code, 0);
        assert.equal(json.method, "kpagecount");
        const row = json.mappings.find((mapping) => mapping.start === region);
        assert.ok(row, `the mapping at ${region}`);
        const from = deno === copy ? "the copy uss runs from" : "the original binary";
        assert.equal(row.rss, expected, `every page resident (uss from ${from})`);
        assert.equal(row.uss, expected, `every page unique (uss from ${from})`);
        assert.equal(row.pss, expected, `PSS counts no sharing (uss from ${from})`);
      }
      // The kernel agrees when no uss is running.
      const rollupAfter = await readRollup(pid);
      assert.deepEqual(rollupAfter, rollupBefore);
      // (A fresh copy's page cache may still be dirty: Private_Dirty, not _Clean.)
      assert.ok(rollupAfter.Private_Clean + rollupAfter.Private_Dirty >= expected);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
