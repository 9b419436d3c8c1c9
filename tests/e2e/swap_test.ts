/**
 * End-to-end: swap, on a swap file of the test's own (root only).
 *
 * The fixture (tests/fixtures/swapper.c) builds, with MADV_PAGEOUT, four
 * regions of N pages in a parent and its child: `shared` (paged out before the
 * fork: both reference the same slots), `rewritten` (each process pages out its
 * own copy: N slots each), `private` (parent only, written after the fork and
 * paged out) and `readback` (parent only: paged out and read back, resident
 * again). Checked against the kernel (each region's Swap and SwapPss
 * in /proc/PID/smaps, the process's smaps_rollup and VmSwap) and against that
 * model:
 *   - per mapping, `swap` = smaps Swap, `swap_pss` = SwapPss, and `swap_uss`
 *     counts only slots nothing else references (0, N, N, 0 pages);
 *   - per process, measured alone: swap = VmSwap, swap_pss = SwapPss,
 *     swap_uss = its own slots (the sibling's references to the shared slots
 *     are found although it was not asked for);
 *   - as a group (`--group`): parent and child hold 4N distinct slots, all the
 *     group's own; the parent alone as a group owns 2N of its 3N;
 *   - the default table shows the swap columns once there is swap.
 *
 * The swap file is written in a temporary directory, `swapon`ed, and always
 * `swapoff`ed and removed at the end (the fixture is killed first, so that
 * swapoff has nothing to read back). Without root the test is ignored (and
 * strict_test.ts fails a USS_TEST_STRICT=1 run without root); without
 * mkswap/swapon, or a filesystem that takes swap files, it is skipped with a
 * message (a failure under USS_TEST_STRICT=1).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  buildFixture,
  IS_ROOT,
  runCommand,
  runUss,
  runUssJson,
  skipOrFail,
  startFixture,
} from "../helpers.ts";
import type { GroupJson, MapsJson, ProcessJson } from "../json_schema.ts";

/** Pages per region. */
const PAGES = 512;
/** The swap file's size: room for the fixture's 3N pages and then some. */
const SWAP_FILE_BYTES = 64 << 20;

interface Announced {
  role: "parent" | "child";
  page: number;
  pages: number;
  shared: string;
  rewritten: string;
  private: string;
  readback: string;
}

const REGIONS = ["shared", "rewritten", "private", "readback"] as const;

/** Runs a program; its exit status and output, or null when it is not installed. */
async function run(
  program: string,
  args: string[],
): Promise<{ ok: boolean; output: string } | null> {
  try {
    const result = await runCommand([program, ...args]);
    return { ok: result.code === 0, output: result.stdout + result.stderr };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** Writes `bytes` of zeros (not fallocate: some filesystems refuse preallocated swap files). */
async function writeZeros(path: string, bytes: number): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true, truncate: true, mode: 0o600 });
  const chunk = new Uint8Array(1 << 20);
  for (let written = 0; written < bytes; written += chunk.length) {
    let offset = 0;
    while (offset < chunk.length) offset += await file.write(chunk.subarray(offset));
  }
}

/**
 * Enables a swap file for `body` and always disables and removes it afterwards.
 * Returns the reason it could not be enabled instead of running `body`.
 */
async function withSwapFile(body: () => Promise<void>): Promise<string | void> {
  const reasons: string[] = [];
  for (const parent of ["/var/tmp", "/tmp"]) {
    const dir = await Deno.makeTempDir({ dir: parent, prefix: "uss-swap-" });
    const path = `${dir}/swapfile`;
    let on = false;
    let off: { ok: boolean; output: string } | null = null;
    try {
      await writeZeros(path, SWAP_FILE_BYTES);
      const mkswap = await run("mkswap", [path]);
      if (mkswap === null) return "mkswap (util-linux) is not installed";
      if (!mkswap.ok) {
        reasons.push(`mkswap in ${parent}: ${mkswap.output.trim()}`);
        continue;
      }
      const swapon = await run("swapon", [path]);
      if (swapon === null) return "swapon (util-linux) is not installed";
      if (!swapon.ok) {
        reasons.push(`swapon in ${parent}: ${swapon.output.trim()}`);
        continue;
      }
      on = true;
      await body();
    } finally {
      if (on) off = await run("swapoff", [path]);
      await Deno.remove(dir, { recursive: true });
    }
    if (!off?.ok) throw new Error(`swapoff ${path} failed: ${off?.output}`);
    return;
  }
  return `no swap file could be enabled (${reasons.join("; ")})`;
}

/** Swap and SwapPss (bytes) of the mapping of /proc/PID/smaps that starts at `start`. */
async function smapsSwap(pid: number, start: string): Promise<{ swap: number; swapPss: number }> {
  const text = await Deno.readTextFile(`/proc/${pid}/smaps`);
  const at = text.indexOf(`\n${start}-`);
  const block = text.slice(at + 1).split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)[0];
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(block);
    assert.ok(at >= 0 && match, `smaps of ${pid} has ${name} for ${start}`);
    return Number(match[1]) * 1024;
  };
  return { swap: field("Swap"), swapPss: field("SwapPss") };
}

/** The `VmSwap` of /proc/PID/status, in bytes. */
async function vmSwap(pid: number): Promise<number> {
  const match = /^VmSwap:\s+(\d+) kB/m.exec(await Deno.readTextFile(`/proc/${pid}/status`));
  assert.ok(match, `VmSwap of ${pid}`);
  return Number(match[1]) * 1024;
}

/** Swap and SwapPss (bytes) of /proc/PID/smaps_rollup. */
async function rollupSwap(pid: number): Promise<{ swap: number; swapPss: number }> {
  const text = await Deno.readTextFile(`/proc/${pid}/smaps_rollup`);
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)![1]) * 1024;
  return { swap: field("Swap"), swapPss: field("SwapPss") };
}

Deno.test({
  name: "swap (root): swap, swap_pss and swap_uss per mapping, process and group against smaps",
  ignore: !IS_ROOT,
  async fn() {
    const binary = await buildFixture("swapper");
    const failure = await withSwapFile(async () => {
      await using fixture = await startFixture<Announced>(binary, [String(PAGES)], 2);
      const parent = fixture.processes.find((process) => process.role === "parent")!;
      const child = fixture.processes.find((process) => process.role === "child")!;
      const region = PAGES * parent.page;

      const pagedOut = await smapsSwap(parent.pid, parent.shared);
      if (pagedOut.swap < region) {
        return skipOrFail(
          `MADV_PAGEOUT swapped ${pagedOut.swap} of ${region} bytes (zswap or a full swap?)`,
        );
      }

      // Per mapping: each process measured alone, against its own smaps.
      const expected = {
        parent: {
          shared: [region, region / 2, 0],
          rewritten: [region, region, region],
          private: [region, region, region],
          readback: [0, 0, 0],
        },
        child: {
          shared: [region, region / 2, 0],
          rewritten: [region, region, region],
          private: [0, 0, 0],
          readback: [0, 0, 0],
        },
      };
      /** Each process's [swap, swap_uss]: the sums of its regions above. */
      const totals = { parent: [3 * region, 2 * region], child: [2 * region, region] };
      for (const process of [parent, child]) {
        const { code, json, stderr } = await runUssJson<MapsJson>(["maps", String(process.pid)]);
        assert.equal(code, 0, stderr);
        assert.equal(json.method, "kpagecount");
        for (const name of REGIONS) {
          const row = json.mappings.find((mapping) => mapping.start === process[name]);
          assert.ok(row, `${process.role} ${name}: a row of uss maps`);
          const kernel = await smapsSwap(process.pid, process[name]);
          const what = `${process.role} ${name}`;
          assert.equal(row.swap, kernel.swap, `${what}: swap = smaps Swap`);
          assert.equal(row.swap_pss, kernel.swapPss, `${what}: swap_pss = smaps SwapPss`);
          assert.deepEqual(
            [row.swap, row.swap_pss, row.swap_uss],
            expected[process.role][name],
            `${what}: [swap, swap_pss, swap_uss] against the model`,
          );
        }
        const readback = json.mappings.find((mapping) => mapping.start === process.readback)!;
        if (process.role === "parent") {
          assert.equal(readback.rss, region, "readback: resident again after the read");
          assert.equal(readback.uss, region, "readback: the parent's own frames");
        }
      }

      // Per process, each measured alone.
      for (const process of [parent, child]) {
        const { code, json, stderr } = await runUssJson<ProcessJson[]>([String(process.pid)]);
        assert.equal(code, 0, stderr);
        const [report] = json;
        const rollup = await rollupSwap(process.pid);
        assert.equal(report.swap, await vmSwap(process.pid), `${process.role}: swap = VmSwap`);
        assert.equal(report.swap, rollup.swap, `${process.role}: swap = smaps_rollup Swap`);
        assert.equal(report.swap_pss, rollup.swapPss, `${process.role}: swap_pss = SwapPss`);
        assert.deepEqual(
          [report.swap, report.swap_uss],
          totals[process.role],
          `${process.role}: [swap, swap_uss]: the shared slots are not its own`,
        );
      }

      // Groups: every slot once; the group's own slots.
      const both = await runUssJson<GroupJson[]>(["--group", `${parent.pid},${child.pid}`]);
      assert.equal(both.code, 0, both.stderr);
      const [group] = both.json;
      assert.deepEqual(group.members.toSorted(), [parent.pid, child.pid].toSorted());
      assert.equal(group.swap, 4 * region, "group: shared once, two rewritten copies, private");
      assert.equal(group.swap_uss, 4 * region, "group: every slot is referenced only inside");
      assert.equal(group.swap_pss, 4 * region, "group: swap_pss is the members' sum");
      const alone = await runUssJson<GroupJson[]>(["--group", String(parent.pid)]);
      assert.equal(alone.code, 0, alone.stderr);
      assert.equal(alone.json[0].swap, 3 * region, "parent as a group: its slots");
      assert.equal(
        alone.json[0].swap_uss,
        2 * region,
        "parent as a group: the child holds the shared slots",
      );

      // The kernel's own method cannot tell whose a slot is: swap_uss unknown.
      const smaps = await runUssJson<ProcessJson[]>(["--method", "smaps", String(parent.pid)]);
      assert.equal(smaps.code, 0, smaps.stderr);
      assert.deepEqual(
        [smaps.json[0].swap, smaps.json[0].swap_pss, smaps.json[0].swap_uss],
        [3 * region, 2.5 * region, null],
        "smaps method: swap and swap_pss from smaps_rollup, swap_uss null",
      );

      // The same figures in CSV and Prometheus text.
      const csv = await runUss([
        "--format",
        "csv",
        "-c",
        "pid,swap,swap_pss,swap_uss",
        String(parent.pid),
      ]);
      assert.equal(csv.code, 0, csv.stderr);
      assert.equal(
        csv.stdout.split("\r\n")[1],
        `${parent.pid},${3 * region},${2.5 * region},${2 * region}`,
        "CSV row",
      );
      const text = await runUss(["--format", "prometheus", String(parent.pid)]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(
        text.stdout,
        new RegExp(`^uss_process_swap_uss_bytes\\{pid="${parent.pid}"[^}]*\\} ${2 * region}$`, "m"),
      );

      // The table shows the swap columns once there is swap.
      const table = await runUss([String(parent.pid)]);
      assert.equal(table.code, 0, table.stderr);
      const header = table.stdout.split("\n")[0].trim().split(/\s+/);
      for (const column of ["SWAP", "SWAP_PSS", "SWAP_USS"]) {
        assert.ok(header.includes(column), `table header ${header.join(" ")} has ${column}`);
      }
      console.log(
        `swap: parent ${parent.pid} and child ${child.pid}, ${PAGES} pages per region: ` +
          `group swap ${group.swap} = swap_uss ${group.swap_uss}; parent swap_uss ${2 * region}`,
      );
    });
    if (failure) skipOrFail(failure);
  },
});
