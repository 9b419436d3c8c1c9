/**
 * Root in a rootless container (`unshare -U -r`): uid 0 and /proc/kpagecount
 * readable, yet the kernel zeroes every PFN in pagemap (no CAP_SYS_ADMIN in the
 * initial user namespace). `auto` must notice and fall back to smaps instead of
 * counting every page as frame 0; `--method kpagecount` must refuse.
 *
 * The fixture is started by `unshare -U -r`, so it lives in the new user
 * namespace; the CLI joins that same namespace (`nsenter --user`) as root of the
 * "container". A process outside the namespace is not readable from inside, as
 * in a real container.
 *
 * Root-only: creating and entering user namespaces and comparing with the
 * exact method need it.
 */

import assert from "node:assert/strict";
import type { ProcessJson } from "../json_schema.ts";
import { IS_ROOT, runCommand, runUss, runUssJson } from "../helpers.ts";
import {
  assertMatchesRollup,
  assertOneLine,
  measureAgainstRollup,
  startIdle,
} from "./env_support.ts";

const EXIT_PARTIAL = 1;
const EXIT_ENVIRONMENT = 3;

/** What a process may see of its own pagemap and of kpagecount. */
interface Probe {
  uid: number;
  /** Present pages among the top pages of its stack. */
  present: number;
  /** Of those, how many show a non-zero PFN. */
  withPfn: number;
  kpagecountReadable: boolean;
}

const PROBE = `
const smaps = Deno.readTextFileSync("/proc/self/smaps");
const page = Number(/KernelPageSize:\\s+(\\d+) kB/.exec(smaps)[1]) * 1024;
const stack = Deno.readTextFileSync("/proc/self/maps").split("\\n").find((l) => l.endsWith("[stack]"));
const [start, end] = stack.split(" ")[0].split("-").map((hex) => parseInt(hex, 16));
const pages = Math.min(16, (end - start) / page);
const file = Deno.openSync("/proc/self/pagemap");
file.seekSync((end / page - pages) * 8, Deno.SeekMode.Start);
const buffer = new Uint8Array(pages * 8);
const got = file.readSync(buffer);
const view = new DataView(buffer.buffer);
let present = 0, withPfn = 0;
for (let i = 0; i < got / 8; i++) {
  const entry = view.getBigUint64(i * 8, true);
  if ((entry >> 63n) === 0n) continue;
  present++;
  if ((entry & ((1n << 55n) - 1n)) !== 0n) withPfn++;
}
let kpagecountReadable = false;
try {
  const kpc = Deno.openSync("/proc/kpagecount");
  kpagecountReadable = kpc.readSync(new Uint8Array(8)) === 8;
  kpc.close();
} catch { /* not readable */ }
console.log(JSON.stringify({ uid: Deno.uid(), present, withPfn, kpagecountReadable }));
`;

async function probe(wrapper: string[]): Promise<Probe> {
  const result = await runCommand([...wrapper, Deno.execPath(), "eval", PROBE], {
    env: { NO_COLOR: "1" },
  });
  assert.equal(result.code, 0, `probe failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

Deno.test({
  name: "container (unshare -U -r): PFNs hidden, auto falls back to smaps, kpagecount refused",
  ignore: !IS_ROOT,
  async fn(t) {
    await using idle = await startIdle({ mib: 3, wrapper: ["unshare", "-U", "-r"] });
    const [{ pid }] = idle.processes;
    const ownNamespace = await Deno.readLink(`/proc/self/ns/user`);
    const fixtureNamespace = await Deno.readLink(`/proc/${pid}/ns/user`);
    assert.notEqual(
      fixtureNamespace,
      ownNamespace,
      "the fixture should be in a new user namespace",
    );
    const inside = ["nsenter", `--user=/proc/${pid}/ns/user`];
    const options = { wrapper: inside };

    await t.step("the environment really hides PFNs (and only inside)", async () => {
      const host = await probe([]);
      assert.ok(host.present > 0 && host.withPfn === host.present, JSON.stringify(host));
      const container = await probe(inside);
      console.log(`probe: host ${JSON.stringify(host)}, container ${JSON.stringify(container)}`);
      assert.equal(container.uid, 0, "root inside the namespace");
      assert.ok(container.kpagecountReadable, "kpagecount is readable inside the namespace");
      assert.ok(container.present > 0, "the stack has present pages");
      assert.equal(container.withPfn, 0, "every present page reads PFN 0 inside");
    });

    await t.step("--json: method smaps, the kernel's figures, no note", async () => {
      const comparison = await measureAgainstRollup(pid, async () => {
        const { code, json, stderr } = await runUssJson<ProcessJson[]>([String(pid)], options);
        assert.equal(code, 0, stderr);
        assert.equal(stderr, "", "JSON mode must not print the fallback note");
        assert.equal(json.length, 1);
        return json[0];
      });
      const { report, before } = comparison;
      assert.equal(report.state, "ok");
      assert.equal(report.method, "smaps");
      assert.equal(report.name, "idle");
      assert.deepEqual(report.notes, []);
      assert.ok(report.uss! >= 3 << 20, `uss ${report.uss}`);
      // Not garbage: exactly the kernel's USS and RSS. PSS may only lose the
      // kernel's per-mapping rounding here (see unprivileged_test.ts for that).
      assertMatchesRollup(comparison, before.mappings * 1024);

      // And close to the exact figure root on the host gets for the same process.
      const host = await runUssJson<ProcessJson[]>([String(pid)]);
      assert.equal(host.code, 0, host.stderr);
      const [exact] = host.json;
      assert.equal(exact.method, "kpagecount");
      console.log(
        `container: uss ${report.uss} pss ${report.pss} rss ${report.rss}; ` +
          `host kpagecount: uss ${exact.uss} pss ${exact.pss} rss ${exact.rss}`,
      );
      assert.ok(Math.abs(exact.uss! - report.uss!) <= 64 << 10, "USS within 64 KiB of exact");
      assert.equal(exact.rss, report.rss);
    });

    await t.step("table: one note about hidden frame numbers", async () => {
      const run = await runUss([String(pid)], options);
      assert.equal(run.code, 0, run.stderr);
      assertOneLine(run.stderr, /^uss: note: /, /physical frame numbers/, /smaps/);
      const row = run.stdout.split("\n").find((line) => line.trimStart().startsWith(`${pid} `));
      assert.ok(row, run.stdout);
      assert.match(row, /\bsmaps\s*$/);
    });

    await t.step("a process outside the namespace: permission denied, exit 1", async () => {
      const { code, json } = await runUssJson<ProcessJson[]>(
        [String(pid), String(Deno.pid)],
        options,
      );
      assert.equal(code, EXIT_PARTIAL);
      assert.equal(json[0].state, "ok");
      assert.equal(json[1].state, "permission-denied");
    });

    await t.step("--method kpagecount: exit 3, hidden frame numbers", async () => {
      for (const args of [[String(pid)], ["--json", String(pid)]]) {
        const run = await runUss(["--method", "kpagecount", ...args], options);
        assert.equal(run.code, EXIT_ENVIRONMENT, `${run.stdout}${run.stderr}`);
        assert.equal(run.stdout, "");
        assertOneLine(run.stderr, /kpagecount/, /physical frame numbers/);
      }
    });
  },
});
