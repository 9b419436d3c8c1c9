/**
 * The standalone binary (`deno task compile`, here into a temporary directory):
 * it must start and give the same figures as `deno run -A main.ts`.
 *
 * `deno compile` needs the `denort` runtime, downloaded from dl.deno.land unless
 * DENORT_BIN names a local copy. On a machine without internet and without
 * DENORT_BIN, the test prints `compile test skipped: <reason>` and passes; any
 * other compile failure fails it. (DENORT_BIN must be a real denort: the plain
 * deno binary produces an executable that runs the deno CLI instead.)
 */

import assert from "node:assert/strict";
import denoConfig from "../../deno.json" with { type: "json" };
import type { ProcessJson } from "../json_schema.ts";
import { REPO_ROOT, runCommand, runUssJson } from "../helpers.ts";
import { assertSameWhenQuiet, figuresOf, startIdle } from "./env_support.ts";

/** Bound on the compile step (type check, bundling, and a denort download attempt). */
const COMPILE_TIMEOUT_MS = 45_000;

/**
 * Why compiling failed for want of the denort download, or null for any other
 * failure (which fails the test). Only a failed request for denort counts, and
 * only while DENORT_BIN is unset.
 */
function downloadFailure(stderr: string, timedOut: boolean): string | null {
  if (Deno.env.get("DENORT_BIN")) return null;
  if (!/dl\.deno\.land|denort/.test(stderr)) return null;
  if (timedOut) return "downloading denort timed out (no DENORT_BIN)";
  const cause = stderr.split("\n").map((line) => line.trim())
    .find((line) => /error sending request|dns error|failed to lookup address/i.test(line));
  if (cause === undefined) return null;
  return `cannot download denort and DENORT_BIN is unset (${cause.replace(/^\d+: /, "")})`;
}

Deno.test("compile: the standalone binary runs and measures like deno run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "uss-env-compile-" });
  try {
    const binary = `${dir}/uss`;
    const signal = AbortSignal.timeout(COMPILE_TIMEOUT_MS);
    const compile = await runCommand(
      [Deno.execPath(), "compile", "-A", "--output", binary, "main.ts"],
      { cwd: REPO_ROOT, env: { NO_COLOR: "1" }, signal },
    );
    if (compile.code !== 0) {
      const skip = downloadFailure(compile.stderr, signal.aborted);
      if (skip === null) {
        assert.fail(
          `deno compile failed (exit ${compile.code}${
            signal.aborted ? ", timed out" : ""
          }):\n${compile.stdout}${compile.stderr}`,
        );
      }
      console.log(`compile test skipped: ${skip}`);
      return;
    }

    const version = await runCommand([binary, "--version"]);
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), `uss ${denoConfig.version}`);

    await using idle = await startIdle({ mib: 2 });
    const [{ pid }] = idle.processes;
    const { figures, quiet } = await assertSameWhenQuiet(
      async () => {
        const { code, json, stderr } = await runUssJson<ProcessJson[]>([String(pid)]);
        assert.equal(code, 0, stderr);
        return figuresOf(json[0]);
      },
      async () => {
        const run = await runCommand([binary, "--json", String(pid)], { env: { NO_COLOR: "1" } });
        assert.equal(run.code, 0, run.stderr);
        const json: ProcessJson[] = JSON.parse(run.stdout);
        assert.equal(json.length, 1);
        assert.equal(json[0].pid, pid);
        return figuresOf(json[0]);
      },
      "compiled binary vs deno run -A",
    );
    assert.equal(figures.state, "ok");
    assert.ok(figures.uss! >= 2 << 20, `uss ${figures.uss}`);
    console.log(
      `compiled: uss ${figures.uss} pss ${figures.pss} rss ${figures.rss}` +
        (quiet ? "" : " (busy machine: PSS compared within the references' range)"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
