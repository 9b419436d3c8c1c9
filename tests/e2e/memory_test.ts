/**
 * End-to-end: the tool's own memory does not grow with the processes it
 * measures. Two shapes of copy-on-write trees (tests/fixtures/workers.c,
 * `cow`):
 *   - many entries: a parent with a 512 MiB region forks 8, then 32 workers
 *     (32 hold ~4 M more page-table entries, all pointing at shared frames);
 *   - many processes: a parent with an 8 MiB region forks 16, then 160 workers
 *     (what leaked per process, a batch left to the garbage collector, showed
 *     here: +0.37 MiB per process). Thousands of workers would show smaller
 *     leaks (each finished process's scan, kept to the end, cost 22 MiB more
 *     from 200 to 2,000), but the peak then varies by ±5 MiB under the other
 *     tests' load, and other tests' machine-wide runs would measure them too.
 * The peak RSS of `uss --json` and `uss --by name --json`, both selecting the
 * tree by `--name`, with the larger tree must stay within 10 MiB of the peak
 * with the smaller. Peak RSS is the kernel's ru_maxrss of the finished uss
 * process, read through Python's getrusage (python3 is on every machine; uss
 * itself spawns nothing).
 *
 * A third shape is one process: 300, then 12,000 small mappings beside 16 GiB
 * reserved and never touched, as a JVM or a browser reserves address space
 * (tests/fixtures/layouts.c, `reserved`): `uss --json PID` must stay within 16
 * MiB (it was read through its smaps, whose text was held whole: 36 MiB more),
 * and `uss maps` by the smaps method within 24 MiB (52 MiB more, before the
 * smaps were parsed as they are read; 12 now).
 *
 * Not a timed test: only memory is compared.
 *
 * @module
 */

import assert from "node:assert/strict";
import { buildFixture, IS_ROOT, REPO_ROOT, startFixture } from "../helpers.ts";
import { startWorkers, uniqueName } from "./workers_support.ts";

/**
 * The two shapes: pages of the region, pages each worker writes, fewer and more
 * workers, and how much more memory (MiB) the larger tree may cost.
 */
const SHAPES = [
  { what: "many entries", pages: 131_072, written: 1024, workers: [8, 32], tolerance: 10 },
  { what: "many processes", pages: 2048, written: 8, workers: [16, 160], tolerance: 10 },
] as const;

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

for (const shape of SHAPES) {
  const [fewer, more] = shape.workers;
  Deno.test({
    name: `peak memory, ${shape.what}: ${more} forked workers stay within ` +
      `${shape.tolerance} MiB of ${fewer} (root: exact method)`,
    ignore: !IS_ROOT,
    async fn() {
      const peaks: Record<string, Record<number, number>> = { listing: {}, "by name": {} };
      for (const workers of shape.workers) {
        const name = uniqueName(`mem${workers}`);
        await using _tree = await startWorkers(
          ["cow", String(workers), String(shape.pages), String(shape.written)],
          workers + 1,
          { name },
        );
        // Only the tree is measured (every PID is still looked at): other tests'
        // processes, a browser among them, would move the peak by themselves.
        const only = ["--name", `^${name}$`];
        peaks.listing[workers] = await steadyPeakKiB(["--json", ...only]);
        peaks["by name"][workers] = await steadyPeakKiB(["--json", "--by", "name", ...only]);
      }
      for (const [view, byWorkers] of Object.entries(peaks)) {
        const grown = (byWorkers[more] - byWorkers[fewer]) / 1024;
        console.log(
          `${shape.what}, ${view}: peak RSS ${(byWorkers[fewer] / 1024).toFixed(1)} MiB with ` +
            `${fewer} workers, ${(byWorkers[more] / 1024).toFixed(1)} MiB with ${more} ` +
            `(${grown.toFixed(1)} MiB more)`,
        );
        assert.ok(
          grown <= shape.tolerance,
          `${view}: ${more - fewer} more workers of ${shape.pages} pages cost ${
            grown.toFixed(1)
          } MiB`,
        );
      }
    },
  });
}

/**
 * Views of one process beside a reservation, and how much more (MiB) 12,000
 * mappings may cost than 300: `uss PID` (read through pagemap), and `uss maps`
 * by the smaps method (as without root: the kernel's smaps, 8.6 MB of text for
 * 12,000 mappings, parsed as it is read). Not more mappings: other tests'
 * machine-wide runs measure this process too while it exists.
 */
const RESERVED_VIEWS = [
  { args: ["--json"], tolerance: 16 },
  { args: ["maps", "--method", "smaps", "--json"], tolerance: 24 },
];

for (const view of RESERVED_VIEWS) {
  const command = `uss ${view.args.join(" ")} PID`;
  Deno.test({
    name: `peak memory, ${command} beside a 16 GiB reservation: 12,000 mappings stay within ` +
      `${view.tolerance} MiB of 300 (root: the fixture's pages are read exactly)`,
    ignore: !IS_ROOT,
    async fn() {
      const binary = await buildFixture("layouts");
      const peaks: Record<number, number> = {};
      for (const vmas of [300, 12_000]) {
        await using fixture = await startFixture<{ pid: number }>(
          binary,
          ["reserved", String(vmas), "16"],
          1,
        );
        peaks[vmas] = await steadyPeakKiB([...view.args, String(fixture.processes[0].pid)]);
      }
      const grown = (peaks[12_000] - peaks[300]) / 1024;
      console.log(
        `reserved, ${command}: peak RSS ${(peaks[300] / 1024).toFixed(1)} MiB with 300 ` +
          `mappings, ${(peaks[12_000] / 1024).toFixed(1)} MiB with 12,000 (${
            grown.toFixed(1)
          } MiB more)`,
      );
      assert.ok(grown <= view.tolerance, `11,700 more mappings cost ${grown.toFixed(1)} MiB`);
    },
  });
}
