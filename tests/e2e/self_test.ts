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
  REPO_ROOT,
  runCommand,
  runUssJson,
  startFixture,
} from "../helpers.ts";

interface Mapping {
  start: string;
  uss: number;
  rss: number;
  pss: number;
}

/** Runs `fn` with a copy of the Deno binary (another file, so other page cache frames). */
async function withDenoCopy(fn: (copy: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "uss-self-" });
  try {
    const copy = `${dir}/deno`;
    await Deno.copyFile(Deno.execPath(), copy);
    await Deno.chmod(copy, 0o755);
    await fn(copy);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "frames shared only with uss itself count as unique (root only)",
  ignore: !IS_ROOT,
  async fn() {
    await withDenoCopy(async (copy) => {
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
    });
  },
});

type Figures = Record<"uss" | "uss_file" | "rss" | "ram", number>;

// The tool's own entries on a frame are matched by the first process whose scan
// leaves its count to be read, and looked at again once the count is read (uss
// faults in pages of its binary as it runs); later processes mapping the same
// frames reuse the count. Two fixtures share the copy's pages: every figure must
// be the same whether uss maps those pages too (running from the copy) or not
// (running from the original), one process at a time or in parallel.
Deno.test({
  name: "frames several targets share with uss itself: the same figures as when uss maps none",
  ignore: !IS_ROOT,
  async fn() {
    await withDenoCopy(async (copy) => {
      const binary = await buildFixture("mapfile");
      await using first = await startFixture<{ pages: number }>(binary, [copy], 1);
      await using second = await startFixture<{ pages: number }>(binary, [copy], 1);
      const pids = [first.processes[0].pid, second.processes[0].pid];
      const shared = first.processes[0].pages * PAGE_SIZE;
      // PSS is left out: the vDSO's share moves as the machine starts processes.
      const pick = (row: Figures): Figures => ({
        uss: row.uss,
        uss_file: row.uss_file,
        rss: row.rss,
        ram: row.ram,
      });
      const seen = new Map<string, unknown>();
      for (const deno of [Deno.execPath(), copy]) {
        for (const jobs of ["1", "2"]) {
          const listed = await runUssJson<Figures[]>(["--jobs", jobs, ...pids.map(String)], {
            deno,
          });
          assert.equal(listed.code, 0, listed.stderr);
          const grouped = await runUssJson<Figures[]>(
            ["--jobs", jobs, "--group", pids.join(",")],
            { deno },
          );
          assert.equal(grouped.code, 0, grouped.stderr);
          const figures = { processes: listed.json.map(pick), group: pick(grouped.json[0]) };
          const how = `uss from the ${deno === copy ? "copy" : "original"}, --jobs ${jobs}`;
          // The copy's pages are shared by the two: in neither's USS, in the group's.
          assert.ok(figures.group.uss_file >= shared, `${how}: ${JSON.stringify(figures.group)}`);
          for (const row of figures.processes) assert.ok(row.uss_file < shared, how);
          seen.set(how, figures);
        }
      }
      const [reference, ...others] = [...seen.entries()];
      for (const [how, figures] of others) {
        assert.deepEqual(figures, reference[1], `${how} against ${reference[0]}`);
      }
    });
  },
});

// `deno task start` (the README's command) runs uss under a `deno task` process
// that maps the same Deno binary. Its entries are subtracted as the tool's are:
// the pages a fixture shares only with uss and its launcher are the fixture's.
Deno.test({
  name: "frames shared only with uss and the deno task that launched it count as unique",
  ignore: !IS_ROOT,
  async fn() {
    await withDenoCopy(async (copy) => {
      const binary = await buildFixture("mapfile");
      await using fixture = await startFixture<{ pages: number }>(binary, [copy], 1);
      const [{ pid, pages }] = fixture.processes;
      const direct = await runUssJson<Figures[]>([String(pid)]);
      assert.equal(direct.code, 0, direct.stderr);
      // The copy's `deno task` runs `deno run` with the copy itself.
      const launched = await runCommand([copy, "task", "--quiet", "start", "--json", String(pid)], {
        cwd: REPO_ROOT,
        env: { NO_COLOR: "1" },
      });
      assert.equal(launched.code, 0, launched.stderr);
      const [row] = JSON.parse(launched.stdout) as Figures[];
      assert.ok(direct.json[0].uss_file >= pages * PAGE_SIZE, "every page of the copy is its own");
      assert.equal(row.uss_file, direct.json[0].uss_file, "the launcher shares nothing with it");
      assert.equal(row.uss, direct.json[0].uss);
    });
  },
});
