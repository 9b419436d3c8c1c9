/**
 * End-to-end: the tool's own memory does not grow with the processes it
 * measures. A parent with a 512 MiB copy-on-write region forks 8, then 32
 * workers (tests/fixtures/workers.c, `cow`): 32 workers hold four times the
 * page-table entries of 8 (~4 M more, all pointing at shared frames). The peak
 * RSS of `uss --json` (every process) and `uss --by name --json` with 32 workers
 * must stay within 16 MiB of the peak with 8. Peak RSS is the kernel's
 * ru_maxrss of the finished uss process, read through Python's getrusage
 * (python3 is on every machine; uss itself spawns nothing).
 *
 * Not a timed test: only memory is compared.
 *
 * @module
 */

import assert from "node:assert/strict";
import { IS_ROOT, REPO_ROOT } from "../helpers.ts";
import { startWorkers, uniqueName } from "./workers_support.ts";

const PAGES = 131_072; // 512 MiB with 4 KiB pages
const WRITTEN = 1024;
const TOLERANCE_MIB = 16;

/** The peak RSS (KiB) of one `uss ARGS` run, which must exit 0. */
async function peakKiB(args: string[]): Promise<number> {
  const script = "import resource, subprocess, sys\n" +
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n" +
    "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)";
  const output = await new Deno.Command("python3", {
    args: ["-c", script, Deno.execPath(), "run", "--quiet", "-A", `${REPO_ROOT}/main.ts`, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const [code, kib] = new TextDecoder().decode(output.stdout).trim().split(" ").map(Number);
  assert.equal(code, 0, `uss ${args.join(" ")} failed: ${new TextDecoder().decode(output.stderr)}`);
  return kib;
}

/** The smaller of two runs' peaks: another test's processes may come and go meanwhile. */
async function steadyPeakKiB(args: string[]): Promise<number> {
  return Math.min(await peakKiB(args), await peakKiB(args));
}

Deno.test({
  name: "peak memory with 32 forked workers stays within 16 MiB of 8 (root: exact method)",
  ignore: !IS_ROOT,
  async fn() {
    const peaks: Record<string, Record<number, number>> = { listing: {}, "by name": {} };
    for (const workers of [8, 32]) {
      const name = uniqueName(`mem${workers}`);
      await using _tree = await startWorkers(
        ["cow", String(workers), String(PAGES), String(WRITTEN)],
        workers + 1,
        { name },
      );
      peaks.listing[workers] = await steadyPeakKiB(["--json"]);
      peaks["by name"][workers] = await steadyPeakKiB(["--json", "--by", "name"]);
    }
    for (const [view, byWorkers] of Object.entries(peaks)) {
      const grown = (byWorkers[32] - byWorkers[8]) / 1024;
      console.log(
        `${view}: peak RSS ${(byWorkers[8] / 1024).toFixed(1)} MiB with 8 workers, ` +
          `${(byWorkers[32] / 1024).toFixed(1)} MiB with 32 (${grown.toFixed(1)} MiB more)`,
      );
      assert.ok(
        grown <= TOLERANCE_MIB,
        `${view}: 24 more workers (${24 * PAGES} more entries) cost ${grown.toFixed(1)} MiB`,
      );
    }
  },
});
