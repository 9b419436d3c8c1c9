/**
 * End-to-end: memory cgroups (`--by cgroup`, `--cgroup PATH`,
 * `--cgroup-hierarchy v1|v2`) on cgroups this test creates and fills with its
 * own stopped fixtures (tests/fixtures/workers.c, "cow" trees, which share no
 * frame outside their region, so group figures are predictable to the page).
 *
 * Layout, below the test process's own cgroups (read from /proc/self/cgroup;
 * nothing outside them is touched):
 *   - v2 (unified hierarchy, wherever cgroup2 is mounted):
 *       OWN/uss-cgN.scope          tree A, started inside it
 *       OWN/uss-cgN.scope-b.scope  tree B, moved in (PIDs written to
 *                                  cgroup.procs) after it stopped itself; its
 *                                  name begins with A's, so `--cgroup A` must
 *                                  not take it for a descendant
 *   - v1 memory controller, where the machine has one:
 *       OWN/uss-cgN.slice                   tree A, started inside it
 *       OWN/uss-cgN.slice/uss-cgN-b.scope   tree B, started inside it
 *     (started inside so that the pages are charged there: charges stay with
 *     the cgroup that first touched a page, and move_charge_at_immigrate is
 *     gone from recent kernels).
 *
 * Checked: `--by cgroup --cgroup-hierarchy v2|v1` and the default hierarchy
 * (v1's memory controller where it exists, else v2) give each created cgroup
 * as one group with exactly its tree, exact group figures against the model
 * of the tree's frames and the members' own figures (an independent `uss
 * --json PID...` run), the readable name in `group` and the table, the full
 * path in `path` and in the Prometheus labels; `--cgroup PATH` selects exactly
 * the processes in PATH or below it; the kernel's charges are the figures of
 * the cgroup's own files (read by the test around the run) where the
 * hierarchy has a memory controller, null where it has none (v2 on a hybrid
 * machine; on a pure v2 machine with the controller enabled they must be
 * numbers). Every cgroup is removed at the end, also on failure (processes
 * moved out and killed first).
 *
 * Without root, or without a cgroup hierarchy it can write, the test is
 * skipped with a message (a failure under USS_TEST_STRICT=1).
 *
 * @module
 */

import assert from "node:assert/strict";
import { IS_ROOT, runUss, runUssJson, skipOrFail, STRICT } from "../helpers.ts";
import {
  assertExactGroup,
  cowFrames,
  GROUP_KEYS,
  type GroupJson,
  type ListingJson,
  measureEach,
  startWorkers,
  uniqueName,
  type Workers,
} from "./workers_support.ts";

/** A group of `--by cgroup`: a group object with the cgroup's keys. */
interface CgroupJson extends GroupJson {
  path: string;
  hierarchy: "v1" | "v2";
  charge: number | null;
  charge_anon: number | null;
  charge_file: number | null;
}

/** The keys a cgroup group adds to a group's, last, in this order (README, json.ts). */
const CGROUP_KEYS = ["path", "hierarchy", "charge", "charge_anon", "charge_file"];

type Hierarchy = "v1" | "v2";

/** Where a hierarchy is mounted and where this test process sits in it. */
interface Place {
  hierarchy: Hierarchy;
  /** The mount point and the cgroup it shows at its top (mountinfo field 4). */
  mountPoint: string;
  mountRoot: string;
  /** The test process's own cgroup path in this hierarchy. */
  own: string;
}

/** The test process's cgroups, read here from /proc/self/{cgroup,mountinfo}. */
function findPlaces(): { v1: Place | null; v2: Place | null } {
  const own: Partial<Record<Hierarchy, string>> = {};
  for (const line of Deno.readTextFileSync("/proc/self/cgroup").split("\n")) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    if (match[1] === "0" && match[2] === "") own.v2 = match[3];
    else if (match[2].split(",").includes("memory")) own.v1 = match[3];
  }
  const mounts: Partial<Record<Hierarchy, { mountPoint: string; mountRoot: string }>> = {};
  for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
    const fields = line.split(" ");
    const dash = fields.indexOf("-");
    if (dash < 0) continue;
    const type = fields[dash + 1];
    const superOptions = (fields[dash + 3] ?? "").split(",");
    const mount = { mountPoint: fields[4], mountRoot: fields[3] };
    if (type === "cgroup2") mounts.v2 ??= mount;
    if (type === "cgroup" && superOptions.includes("memory")) mounts.v1 ??= mount;
  }
  const place = (hierarchy: Hierarchy): Place | null => {
    const path = own[hierarchy];
    const mount = mounts[hierarchy];
    return path === undefined || mount === undefined ? null : { hierarchy, ...mount, own: path };
  };
  return { v1: place("v1"), v2: place("v2") };
}

/** The directory of cgroup `path` under `place`'s mount, or null when the mount does not show it. */
function directoryOf(place: Place, path: string): string | null {
  const root = place.mountRoot === "/" ? "" : place.mountRoot;
  if (root !== "" && path !== root && !path.startsWith(`${root}/`)) return null;
  const relative = path.slice(root.length);
  return `${place.mountPoint}${relative === "/" ? "" : relative}`;
}

/** `parent/name` as a cgroup path. */
function child(parent: string, name: string): string {
  return `${parent === "/" ? "" : parent}/${name}`;
}

/**
 * Creates the cgroup directory of `path` under `place` and lists it in
 * `created` (the cgroups to remove, deepest last).
 */
function makeCgroup(created: string[], place: Place, path: string): string {
  const dir = directoryOf(place, path);
  if (dir === null) {
    throw new Deno.errors.NotFound(`${place.hierarchy} ${path} is not under its mount`);
  }
  Deno.mkdirSync(dir);
  created.push(dir);
  return dir;
}

/**
 * Removes the cgroups in `created`, deepest first; retries for a while (a
 * killed process leaves its cgroup a moment after the kill). Returns what
 * could not be removed.
 */
async function removeCgroups(created: readonly string[]): Promise<string[]> {
  const left: string[] = [];
  for (const dir of [...created].reverse()) {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        Deno.removeSync(dir); // rmdir: a cgroup directory is removed empty
        break;
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) break;
        if (Date.now() > deadline) {
          left.push(`${dir}: ${(error as Error).message}`);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }
  return left;
}

/** Writes `pid` into the cgroup in `dir` (moves the whole process). */
function moveInto(dir: string, pid: number): void {
  Deno.writeTextFileSync(`${dir}/cgroup.procs`, String(pid));
}

/** `/proc/PID/cgroup` of `pid`: its v2 path and v1 memory path. */
function membershipOf(pid: number): Partial<Record<Hierarchy, string>> {
  const membership: Partial<Record<Hierarchy, string>> = {};
  for (const line of Deno.readTextFileSync(`/proc/${pid}/cgroup`).split("\n")) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    if (match[1] === "0" && match[2] === "") membership.v2 = match[3];
    else if (match[2].split(",").includes("memory")) membership.v1 = match[3];
  }
  return membership;
}

/** What the kernel charges the cgroup in `dir`, from its own files; null where absent. */
function kernelCharge(dir: string, hierarchy: Hierarchy) {
  const read = (name: string): string | null => {
    try {
      return Deno.readTextFileSync(`${dir}/${name}`);
    } catch {
      return null;
    }
  };
  const current = read(hierarchy === "v2" ? "memory.current" : "memory.usage_in_bytes");
  const stat = new Map<string, number>();
  for (const line of (read("memory.stat") ?? "").split("\n")) {
    const [key, value] = line.split(" ");
    if (value !== undefined) stat.set(key, Number(value));
  }
  const [anon, file] = hierarchy === "v2" ? ["anon", "file"] : ["total_rss", "total_cache"];
  return {
    charge: current === null ? null : Number(current.trim()),
    charge_anon: stat.get(anon) ?? null,
    charge_file: stat.get(file) ?? null,
  };
}

type Charge = ReturnType<typeof kernelCharge>;

/** Asserts a group's charge equals the kernel's, as read just before or just after the run. */
function assertCharge(group: CgroupJson, before: Charge, after: Charge, what: string): void {
  for (const key of ["charge", "charge_anon", "charge_file"] as const) {
    const low = Math.min(before[key]!, after[key]!);
    const high = Math.max(before[key]!, after[key]!);
    const value = group[key];
    assert.ok(
      Number.isInteger(value) && value! >= low && value! <= high,
      `${what}: ${key} ${value} is not the kernel's ${low === high ? low : `${low}..${high}`}`,
    );
  }
}

/** Runs `uss --by cgroup --json ARGS` and returns its groups. */
async function cgroupGroups(args: string[]): Promise<CgroupJson[]> {
  const { code, json, stderr } = await runUssJson<CgroupJson[]>(["--by", "cgroup", ...args]);
  assert.equal(code, 0, `uss --by cgroup ${args.join(" ")}: ${stderr}`);
  for (const group of json) {
    const keys = Object.keys(group);
    for (const key of GROUP_KEYS) assert.ok(keys.includes(key), `${group.path}: no key ${key}`);
    assert.deepEqual(keys.slice(-CGROUP_KEYS.length), CGROUP_KEYS, `keys of ${group.path}`);
  }
  return json;
}

/** The one group of `json` whose path is `path`, checked to be labelled `label`. */
function groupAt(json: CgroupJson[], path: string, hierarchy: Hierarchy, label: string) {
  const found = json.filter((group) => group.path === path);
  assert.equal(found.length, 1, `one group with path ${path} in ${json.map((g) => g.path)}`);
  const [group] = found;
  assert.equal(group.hierarchy, hierarchy, `${path}: hierarchy`);
  assert.equal(group.group, label, `${path}: the readable name`);
  return group;
}

/** The PIDs `uss --json --cgroup PATH ARGS` lists. */
async function selected(path: string, args: string[] = []): Promise<number[]> {
  const { code, json, stderr } = await runUssJson<ListingJson>(["--cgroup", path, ...args]);
  assert.equal(code, 0, `uss --cgroup ${path}: ${stderr}`);
  return json.processes.map((process) => process.pid).sort((a, b) => a - b);
}

/** Reads a charge before and after `body`, retrying until both agree (the cgroup is quiet). */
async function bracketed<T>(
  dirs: string[],
  hierarchy: Hierarchy,
  body: () => Promise<T>,
): Promise<{ result: T; before: Charge[]; after: Charge[] }> {
  let last: { result: T; before: Charge[]; after: Charge[] } | null = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = dirs.map((dir) => kernelCharge(dir, hierarchy));
    const result = await body();
    const after = dirs.map((dir) => kernelCharge(dir, hierarchy));
    last = { result, before, after };
    if (JSON.stringify(before) === JSON.stringify(after)) break;
  }
  return last!;
}

Deno.test({
  name: "memory cgroups (root): --by cgroup v1/v2, --cgroup PATH, charges, on created cgroups",
  // Not root: nothing to create; under USS_TEST_STRICT=1 it runs and fails.
  ignore: !IS_ROOT && !STRICT,
  async fn(t) {
    if (!IS_ROOT) return skipOrFail("creating cgroups needs root");
    const places = findPlaces();
    if (places.v2 === null && places.v1 === null) {
      return skipOrFail("no cgroup hierarchy here (no cgroup2 mount, no v1 memory controller)");
    }
    const tag = `uss-cg${Deno.pid.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const created: string[] = [];
    const trees: Workers[] = [];
    /** Where the fixtures go back before they are killed. */
    const homes: string[] = [];
    let left: string[] = [];
    try {
      // --- create the cgroups (skip when the hierarchy cannot be written) ---
      const v2 = places.v2 && {
        place: places.v2,
        a: child(places.v2.own, `${tag}.scope`),
        b: child(places.v2.own, `${tag}.scope-b.scope`),
        labels: [`${tag}.scope`, `${tag}.scope-b.scope`],
        dirs: [] as string[],
      };
      const v1 = places.v1 && {
        place: places.v1,
        a: child(places.v1.own, `${tag}.slice`),
        b: child(child(places.v1.own, `${tag}.slice`), `${tag}-b.scope`),
        labels: [`${tag}.slice`, `${tag}-b.scope`],
        dirs: [] as string[],
      };
      try {
        for (const side of [v2, v1]) {
          if (!side) continue;
          side.dirs = [
            makeCgroup(created, side.place, side.a),
            makeCgroup(created, side.place, side.b),
          ];
          homes.push(directoryOf(side.place, side.place.own)!);
        }
      } catch (error) {
        if (
          error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotFound ||
          /read-only file system/i.test((error as Error).message)
        ) {
          return skipOrFail(`cannot create cgroups here: ${(error as Error).message}`);
        }
        throw error;
      }
      console.log(`created: ${created.join(" ")}`);

      // --- start the fixtures: A inside v2 A and v1 A, B inside v1 B, then moved to v2 B ---
      const enter = (files: string[]) =>
        files.length === 0 ? undefined : [
          "sh",
          "-c",
          'for f in $0; do echo $$ > "$f" || exit 1; done; exec "$@"',
          files.join(" "),
        ];
      const a = await startWorkers(["cow", "2", "64", "16"], 3, {
        name: uniqueName("cga"),
        wrapper: enter([
          ...(v2 ? [`${v2.dirs[0]}/cgroup.procs`] : []),
          ...(v1 ? [`${v1.dirs[0]}/cgroup.procs`] : []),
        ]),
      });
      trees.push(a);
      const b = await startWorkers(["cow", "3", "48", "8"], 4, {
        name: uniqueName("cgb"),
        wrapper: enter(v1 ? [`${v1.dirs[1]}/cgroup.procs`] : []),
      });
      trees.push(b);
      // Moved while stopped (moving a stopped process is fine).
      if (v2) { for (const pid of b.pids) moveInto(v2.dirs[1], pid); }
      const page = a.parent.page;

      // The kernel agrees the fixtures are where they were put.
      for (const [tree, v2Path, v1Path] of [[a, v2?.a, v1?.a], [b, v2?.b, v1?.b]] as const) {
        for (const pid of tree.pids) {
          const membership = membershipOf(pid);
          if (v2Path) assert.equal(membership.v2, v2Path, `${pid} in v2 ${v2Path}`);
          if (v1Path) assert.equal(membership.v1, v1Path, `${pid} in v1 ${v1Path}`);
        }
      }
      const ownA = await measureEach(a.pids);
      const ownB = await measureEach(b.pids);
      const all = [...a.pids, ...b.pids].sort((x, y) => x - y);

      if (v2) {
        await t.step(
          "--by cgroup --cgroup-hierarchy v2: one group per created cgroup",
          async () => {
            // Whether the kernel charges these cgroups at all: the memory
            // controller enabled for the parent's children.
            const parent = directoryOf(v2.place, v2.place.own)!;
            const charged = Deno.readTextFileSync(`${parent}/cgroup.subtree_control`)
              .split(/\s+/).includes("memory");
            const { result: json, before, after } = await bracketed(
              v2.dirs,
              "v2",
              () => cgroupGroups(["--cgroup-hierarchy", "v2"]),
            );
            const groupA = groupAt(json, v2.a, "v2", v2.labels[0]);
            const groupB = groupAt(json, v2.b, "v2", v2.labels[1]);
            console.log(assertExactGroup(groupA, ownA, cowFrames(a), page, "v2 A"));
            console.log(assertExactGroup(groupB, ownB, cowFrames(b), page, "v2 B"));
            for (const group of json) {
              if (group !== groupA && group !== groupB) {
                for (const pid of all) {
                  assert.ok(!group.members.includes(pid), `${pid} in ${group.path}`);
                }
              }
            }
            for (const [index, group] of [groupA, groupB].entries()) {
              if (charged) {
                assertCharge(group, before[index], after[index], `v2 ${group.path}`);
              } else {
                // No memory controller in this cgroup: the kernel offers no charge.
                assert.equal(kernelCharge(v2.dirs[index], "v2").charge, null, "no memory.current");
                assert.equal(group.charge, null, `${group.path}: charge`);
                assert.equal(group.charge_anon, null, `${group.path}: charge_anon`);
                assert.equal(group.charge_file, null, `${group.path}: charge_file`);
              }
            }
            if (charged) {
              assert.ok(groupA.charge! > 0, "A was started inside: its pages are charged");
            }
            console.log(
              `v2 charges ${charged ? "" : "null: no memory controller"} ` +
                `${JSON.stringify([groupA, groupB].map(({ charge }) => charge))}`,
            );
          },
        );

        await t.step(
          "--cgroup PATH --cgroup-hierarchy v2: exactly the processes in it",
          async () => {
            assert.deepEqual(await selected(v2.a, ["--cgroup-hierarchy", "v2"]), a.pids);
            // B's cgroup name begins with A's: not a descendant.
            assert.deepEqual(await selected(v2.b, ["--cgroup-hierarchy", "v2"]), b.pids);
            const json = await cgroupGroups(["--cgroup-hierarchy", "v2", "--cgroup", v2.a]);
            assert.deepEqual(json.map((group) => group.path), [v2.a]);
          },
        );
      }

      if (v1) {
        await t.step("--by cgroup --cgroup-hierarchy v1: nested cgroups, charges", async () => {
          const { result: json, before, after } = await bracketed(
            v1.dirs,
            "v1",
            () => cgroupGroups(["--cgroup-hierarchy", "v1"]),
          );
          const groupA = groupAt(json, v1.a, "v1", v1.labels[0]);
          const groupB = groupAt(json, v1.b, "v1", v1.labels[1]);
          console.log(assertExactGroup(groupA, ownA, cowFrames(a), page, "v1 A"));
          console.log(assertExactGroup(groupB, ownB, cowFrames(b), page, "v1 B"));
          for (const group of json) {
            if (group !== groupA && group !== groupB) {
              for (const pid of all) {
                assert.ok(!group.members.includes(pid), `${pid} in ${group.path}`);
              }
            }
          }
          assertCharge(groupA, before[0], after[0], `v1 ${v1.a}`);
          assertCharge(groupB, before[1], after[1], `v1 ${v1.b}`);
          for (const group of [groupA, groupB]) {
            assert.ok(group.charge! > 0, `${group.path}: pages were charged to it`);
            assert.ok(group.charge_anon! > 0, `${group.path}: anonymous pages charged`);
          }
          // v1 charges include the descendants': A's covers B's.
          assert.ok(groupA.charge! >= groupB.charge!, "the parent's charge covers the child's");
          // Each tree was started inside its cgroup and shares no frame outside
          // it, so the kernel's anonymous charge is the tree's exact anonymous
          // group USS, give or take the per-CPU batches the kernel folds into
          // memory.stat lazily (64 pages per CPU).
          const slack = 64 * navigator.hardwareConcurrency * page;
          const anonOfA = groupA.charge_anon! - groupB.charge_anon!;
          for (
            const [charged, group, what] of [
              [groupB.charge_anon!, groupB, "B"],
              [anonOfA, groupA, "A (its charge less B's)"],
            ] as const
          ) {
            assert.ok(
              Math.abs(charged - group.uss_anon!) <= slack,
              `${what}: anonymous charge ${charged} vs group uss_anon ${group.uss_anon} ` +
                `(allowed ${slack})`,
            );
          }
          console.log(
            `v1 charges: A ${groupA.charge} (anon ${groupA.charge_anon}), ` +
              `B ${groupB.charge} (anon ${groupB.charge_anon})`,
          );
        });

        await t.step("--cgroup PATH (v1): the cgroup and below it", async () => {
          assert.deepEqual(await selected(v1.a, ["--cgroup-hierarchy", "v1"]), all);
          assert.deepEqual(await selected(v1.b, ["--cgroup-hierarchy", "v1"]), b.pids);
          const json = await cgroupGroups(["--cgroup-hierarchy", "v1", "--cgroup", v1.a]);
          assert.deepEqual(json.map((group) => group.path).sort(), [v1.a, v1.b].sort());
        });
      }

      const fallback = v1 ?? v2!;
      await t.step(`default hierarchy: ${fallback.place.hierarchy} here`, async () => {
        const json = await cgroupGroups([]);
        const hierarchy = fallback.place.hierarchy;
        const groupA = groupAt(json, fallback.a, hierarchy, fallback.labels[0]);
        const groupB = groupAt(json, fallback.b, hierarchy, fallback.labels[1]);
        assert.deepEqual(groupA.members, a.pids);
        assert.deepEqual(groupB.members, b.pids);
        // --cgroup without --cgroup-hierarchy names a path of the same hierarchy.
        assert.deepEqual(await selected(fallback.b), b.pids);
      });

      await t.step("table: the readable name, not the path; Prometheus: the path", async () => {
        const side = fallback;
        const args = ["--by", "cgroup", "--cgroup", side.a];
        const table = await runUss(args);
        assert.equal(table.code, 0, table.stderr);
        assert.equal(table.stderr, "", "no note as root");
        const lines = table.stdout.trimEnd().split("\n");
        assert.match(lines[0], /^GROUP\s+PROCS\s+USS\s.*\bCHARGE\b/);
        const names = lines.slice(1).map((line) => line.trim().split(/\s{2,}/)[0]);
        // v1: B is below A; v2: B is A's sibling.
        const labels = side === v1 ? side.labels : side.labels.slice(0, 1);
        assert.deepEqual([...names].sort(), [...labels].sort(), table.stdout);
        if (side.place.own !== "/") assert.ok(!table.stdout.includes(side.place.own), "no path");

        const text = await runUss([...args, "--format", "prometheus"]);
        assert.equal(text.code, 0, text.stderr);
        const json = await cgroupGroups(["--cgroup", side.a]);
        assert.ok(json.length > 0, "the cgroup's groups");
        for (const group of json) {
          const sample = `uss_group_uss_bytes{by="cgroup",group="${group.path}"} ${group.uss}`;
          assert.ok(text.stdout.includes(`${sample}\n`), `${sample} in:\n${text.stdout}`);
          const charge = `uss_group_charge_bytes{by="cgroup",group="${group.path}"} `;
          assert.equal(text.stdout.includes(charge), group.charge !== null, charge);
        }
      });

      await t.step("--cgroup PATH/ and PATH//: the same cgroup (as shells complete)", async () => {
        assert.deepEqual(await selected(`${fallback.b}/`), b.pids);
        assert.deepEqual(await selected(fallback.b.replace(/\/([^/]*)$/, "//$1")), b.pids);
      });
    } finally {
      // Back home, killed, then the cgroups removed (deepest first).
      for (const tree of trees) {
        for (const pid of tree.pids) {
          for (const home of homes) {
            try {
              moveInto(home, pid);
            } catch { /* gone, or the kill below will do */ }
          }
        }
        await tree.kill();
      }
      left = await removeCgroups(created);
      if (left.length > 0) console.error(`cgroups left behind: ${left.join("; ")}`);
    }
    assert.deepEqual(left, [], "every created cgroup removed");
  },
});
