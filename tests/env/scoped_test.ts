/**
 * Scoped mode: a procfs mounted at DIR is an ordinary path to Deno, so
 * `--proc-root DIR` works with `--allow-read=DIR,/etc/passwd` and no other
 * permission, and gives the same figures as `-A` on /proc. Also: every way the
 * environment can refuse procfs ends in exit 3 and one actionable line.
 */

import assert from "node:assert/strict";
import type { ProcessJson } from "../json_schema.ts";
import { IS_ROOT, runUss, runUssJson } from "../helpers.ts";
import {
  assertOneLine,
  assertSameWhenQuiet,
  figuresOf,
  literal,
  startIdle,
  withProcMount,
} from "./env_support.ts";

const EXIT_ENVIRONMENT = 3;

async function measureOne(args: string[], permissions?: string[]): Promise<ProcessJson> {
  const { code, json, stderr } = await runUssJson<ProcessJson[]>(args, { permissions });
  assert.equal(code, 0, `uss ${args.join(" ")} exited ${code}: ${stderr}`);
  assert.equal(stderr, "", `uss ${args.join(" ")} wrote to stderr`);
  assert.equal(json.length, 1);
  return json[0];
}

Deno.test({
  name: "scoped: --proc-root DIR with --allow-read=DIR,/etc/passwd equals -A on /proc",
  ignore: !IS_ROOT,
  async fn() {
    await using idle = await startIdle({ mib: 4 });
    const [{ pid }] = idle.processes;
    await withProcMount(async (dir) => {
      const scoped = [`--allow-read=${dir},/etc/passwd`];
      const { figures, quiet } = await assertSameWhenQuiet(
        async () => figuresOf(await measureOne([String(pid)])),
        async () => {
          const report = await measureOne(["--proc-root", dir, String(pid)], scoped);
          assert.equal(report.pid, pid);
          assert.equal(report.name, "idle");
          assert.equal(report.uid, 0);
          return figuresOf(report);
        },
        "scoped run vs -A run",
      );
      console.log(
        `scoped = -A: uss ${figures.uss} pss ${figures.pss} rss ${figures.rss}` +
          (quiet ? "" : " (busy machine: PSS compared within the references' range)"),
      );
      assert.equal(figures.method, "kpagecount");
      assert.equal(figures.state, "ok");
      // 4 MiB written by the fixture are its own: USS holds them, RSS at least USS.
      assert.ok(figures.uss! >= 4 << 20, `uss ${figures.uss}`);
      assert.ok(figures.rss! >= figures.uss!, `rss ${figures.rss} < uss ${figures.uss}`);
      assert.ok(figures.pss! >= figures.uss! && figures.pss! <= figures.rss!);

      // A trailing slash names the same mount.
      const slash = await measureOne(["--proc-root", `${dir}/`, String(pid)], scoped);
      assert.equal(slash.method, "kpagecount");
      assert.equal(slash.uss, figures.uss);

      // The table works in scoped mode too, with no note (the exact method is available).
      const table = await runUss(["--proc-root", dir, String(pid)], { permissions: scoped });
      assert.equal(table.code, 0, table.stderr);
      assert.equal(table.stderr, "");
      const row = table.stdout.split("\n").find((line) => line.trimStart().startsWith(`${pid} `));
      assert.ok(row, `no row for ${pid} in:\n${table.stdout}`);
      assert.match(row, /\bidle\b.*\bkpagecount\s*$/);
      assert.match(
        table.stdout.split("\n")[0],
        /\bPID\b.*\bNAME\b.*\bUSS\b.*\bPSS\b.*\bRSS\b.*\bMETHOD\b/,
      );
    });
  },
});

Deno.test({
  name: "scoped: without read permission for DIR: exit 3 naming the grant",
  ignore: !IS_ROOT,
  async fn() {
    await withProcMount(async (dir) => {
      for (const permissions of [["--no-prompt", "--allow-read=/etc/passwd"], ["--no-prompt"]]) {
        const run = await runUss(["--proc-root", dir, String(Deno.pid)], { permissions });
        assert.equal(run.code, EXIT_ENVIRONMENT, `${permissions}: ${run.stdout}${run.stderr}`);
        assert.equal(run.stdout, "");
        assertOneLine(run.stderr, /refused/, new RegExp(`--allow-read=${literal(dir)}(\\s|$)`));
      }
    });
  },
});

Deno.test("scoped: /proc without -A: exit 3, one line that says -A", async () => {
  for (
    const permissions of [
      ["--no-prompt", "--allow-read"],
      ["--no-prompt", "--allow-read=/proc,/etc/passwd"],
      ["--no-prompt"],
    ]
  ) {
    for (const args of [[String(Deno.pid)], ["--json", String(Deno.pid)], []]) {
      const run = await runUss(args, { permissions });
      const what = `${permissions.join(" ")} uss ${args.join(" ")}`;
      assert.equal(run.code, EXIT_ENVIRONMENT, `${what}: ${run.stdout}${run.stderr}`);
      assert.equal(run.stdout, "", what);
      assertOneLine(run.stderr, /(^|\s)-A\b/, /--proc-root/);
    }
  }
});

Deno.test("scoped: --proc-root that is not a procfs: exit 3, one line", async () => {
  const plain = await Deno.makeTempDir({ prefix: "uss-env-plain-" });
  try {
    for (const root of ["/nonexistent", plain, `${plain}/`]) {
      for (const args of [["--proc-root", root, "1"], ["--json", "--proc-root", root]]) {
        const run = await runUss(args);
        const what = `uss ${args.join(" ")}`;
        assert.equal(run.code, EXIT_ENVIRONMENT, `${what}: ${run.stdout}${run.stderr}`);
        assert.equal(run.stdout, "", what);
        const shown = root.replace(/\/$/, "");
        assertOneLine(run.stderr, /not a procfs/, new RegExp(literal(shown)));
      }
    }
  } finally {
    await Deno.remove(plain, { recursive: true });
  }
});
