/**
 * An unprivileged user (uid/gid 65534, no groups, no capabilities): the exact
 * method is impossible (kpagecount is 0400 root), so `auto` falls back to the
 * kernel's smaps, says so once in table mode and not at all in JSON mode, and
 * reports the kernel's own figures. Another user's process is "permission
 * denied" without hiding the rest; forcing kpagecount is an environment error.
 *
 * Root-only: it needs setpriv to become 65534.
 */

import assert from "node:assert/strict";
import type { ProcessJson } from "../json_schema.ts";
import { IS_ROOT, PAGE_SIZE, runUss, runUssJson } from "../helpers.ts";
import {
  AS_NOBODY,
  assertMatchesRollup,
  assertOneLine,
  measureAgainstRollup,
  NOBODY_ID,
  prepareNobody,
  startIdle,
} from "./env_support.ts";

const EXIT_PARTIAL = 1;
const EXIT_ENVIRONMENT = 3;

/**
 * One-page mappings of the fixture shared with two helpers: each adds 4096/3
 * bytes of PSS, which smaps prints per mapping floored to a KiB, so a figure
 * summed from smaps lines misses 1/3 KiB per mapping (5 KiB here) that the
 * kernel's rollup keeps. It also gives USS something to leave out.
 */
const SHARED_PAGES = 16;

/** The row of `pid` in a process table. */
function rowOf(table: string, pid: number): string {
  const row = table.split("\n").find((line) => line.trimStart().startsWith(`${pid} `));
  assert.ok(row, `no row for ${pid} in:\n${table}`);
  return row;
}

Deno.test({
  name: "unprivileged (uid 65534): smaps fallback, kernel figures, per-process denial",
  ignore: !IS_ROOT,
  async fn(t) {
    await using nobody = await prepareNobody();
    await using own = await startIdle({ mib: 3, shared: SHARED_PAGES, wrapper: AS_NOBODY });
    await using rootOwned = await startIdle({ mib: 1 });
    const [{ pid }] = own.processes;
    const [{ pid: rootPid }] = rootOwned.processes;
    const options = nobody.options;
    console.log(
      nobody.copiedSources
        ? "uid 65534 cannot read the repository: running a world-readable copy of the sources"
        : "uid 65534 runs the repository's main.ts",
    );

    await t.step("JSON: method smaps, no note, figures equal smaps_rollup", async () => {
      const comparison = await measureAgainstRollup(pid, async () => {
        const { code, json, stderr } = await runUssJson<ProcessJson[]>([String(pid)], options);
        assert.equal(code, 0, stderr);
        assert.equal(stderr, "", "JSON mode must not print the fallback note");
        assert.equal(json.length, 1);
        return json[0];
      });
      const { report, before, quiet } = comparison;
      assert.equal(report.pid, pid);
      assert.equal(report.name, "idle");
      assert.equal(report.uid, NOBODY_ID);
      assert.equal(report.state, "ok");
      assert.equal(report.method, "smaps");
      assert.deepEqual(report.notes, []);
      assert.ok(report.uss! >= 3 << 20, `uss ${report.uss}`);
      assert.ok(
        report.rss! - report.uss! >= SHARED_PAGES * PAGE_SIZE,
        "shared pages are not in USS",
      );
      const rollupNote = quiet ? "" : " (the machine was never quiet)";
      console.log(
        `65534: uss ${report.uss} pss ${report.pss} rss ${report.rss}; kernel rollup Pss ` +
          `${before.rollup.Pss}, sum of per-mapping Pss ${before.smapsPssSum}${rollupNote}`,
      );
      // USS = Private_Clean + Private_Dirty, RSS = Rss exactly; PSS within 1 KiB.
      // (Summing the per-mapping Pss lines of smaps, which the kernel floors to a
      // KiB each, loses up to 1 KiB per mapping: smaps_rollup has the exact sum.)
      assertMatchesRollup(comparison, 1024);
    });

    await t.step("table: exactly one note line about the fallback", async () => {
      const run = await runUss([String(pid)], options);
      assert.equal(run.code, 0, run.stderr);
      assertOneLine(run.stderr, /^uss: note: /, /kpagecount/, /root/, /smaps/);
      assert.match(rowOf(run.stdout, pid), /\bidle\b.*\bsmaps\s*$/);
    });

    await t.step("--method smaps: what auto falls back to, without a note", async () => {
      const run = await runUss(["--method", "smaps", String(pid)], options);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, "", "a chosen method needs no note");
      assert.match(rowOf(run.stdout, pid), /\bsmaps\s*$/);
      const forced = await runUssJson<ProcessJson[]>(["--method", "smaps", String(pid)], options);
      const auto = await runUssJson<ProcessJson[]>([String(pid)], options);
      assert.equal(forced.code, 0, forced.stderr);
      assert.equal(auto.code, 0, auto.stderr);
      const { uss, rss, method } = forced.json[0];
      assert.deepEqual({ uss, rss, method }, {
        uss: auto.json[0].uss,
        rss: auto.json[0].rss,
        method: auto.json[0].method,
      });
    });

    await t.step(
      "a root-owned process: permission denied, exit 1, the other still measured",
      async () => {
        const { code, json, stderr } = await runUssJson<ProcessJson[]>(
          [String(pid), String(rootPid)],
          options,
        );
        assert.equal(code, EXIT_PARTIAL, stderr);
        assert.equal(stderr, "");
        assert.deepEqual(json.map((report) => report.pid), [pid, rootPid]);
        const [mine, theirs] = json;
        assert.equal(mine.state, "ok");
        assert.equal(mine.method, "smaps");
        assert.ok(mine.uss! >= 3 << 20);
        assert.equal(theirs.state, "permission-denied");
        assert.match(theirs.error ?? "", /permission denied/);
        assert.equal(theirs.uss, null);
        assert.equal(theirs.method, null);

        const table = await runUss([String(rootPid), String(pid)], options);
        assert.equal(table.code, EXIT_PARTIAL, table.stderr);
        assertOneLine(table.stderr, /^uss: note: /);
        assert.match(rowOf(table.stdout, rootPid), /permission denied/);
        assert.match(rowOf(table.stdout, pid), /\bsmaps\s*$/);
      },
    );

    await t.step("--method kpagecount: exit 3 with the reason", async () => {
      for (const args of [[String(pid)], ["--json", String(pid)]]) {
        const run = await runUss(["--method", "kpagecount", ...args], options);
        assert.equal(run.code, EXIT_ENVIRONMENT, `${run.stdout}${run.stderr}`);
        assert.equal(run.stdout, "");
        assertOneLine(run.stderr, /kpagecount/, /root/);
      }
    });
  },
});
