/**
 * End-to-end: groups of processes (`--group`, `--tree`, `--by name`, `--by
 * user`, `--user`) on process trees with known sharing (tests/fixtures/workers.c).
 *
 * The fixture's processes share no frame with anyone outside their region (see
 * "Isolation" in workers.c), so whole-process group figures differ from the
 * members' own figures only by what the region layout predicts:
 *   - group USS - uss_sum = region frames mapped by two or more processes, all
 *     of them inside the group;
 *   - group RSS = the members' RSS added up (page-table entries, as the kernel
 *     counts them);
 *   - sum of the members' RAM (each their distinct frames) - group RAM (the
 *     group's distinct frames) = region frames mapped by more than one member;
 *   - group PSS = sum of the members' PSS, swap = sum of swap.
 * Predictions come from the fixture's parameters (a model of its frames), never
 * from uss output. Root-only tests say so in their names (the exact method).
 *
 * @module
 */

import assert from "node:assert/strict";
import { IS_ROOT, missingPids, PAGE_SIZE, runUss, runUssJson } from "../helpers.ts";
import { AS_NOBODY, NOBODY_ID, prepareNobody } from "../env/env_support.ts";
import {
  assertExactGroup,
  cowFrames,
  type Frame,
  GROUP_KEYS,
  type GroupJson,
  groupModel,
  type ListingJson,
  type MapsJson,
  measureEach,
  memberModel,
  type ProcessJson,
  rowAt,
  sharedFrames,
  startWorkers,
  sumOf,
  uniqueName,
  userOfUid,
  userPidsOf,
  type Workers,
} from "./workers_support.ts";

const PAGE = PAGE_SIZE;

/** The reports of `pids`, in that order. */
function byPids(reports: readonly ProcessJson[], pids: readonly number[]): ProcessJson[] {
  return pids.map((pid) => reports.find((report) => report.pid === pid)!);
}

/** Runs a group view (`--group` or `--tree`) in JSON and returns its one group. */
async function oneGroup(args: string[]): Promise<GroupJson> {
  const { code, json, stderr } = await runUssJson<GroupJson[]>(args);
  assert.equal(code, 0, `uss ${args.join(" ")}: ${stderr}`);
  assert.equal(json.length, 1, `one group: ${JSON.stringify(json)}`);
  const [group] = json;
  assert.deepEqual(Object.keys(group), GROUP_KEYS, "group keys");
  return group;
}

/** Asserts each member's region row of `uss maps --json PID` against the model. */
async function assertRegionRows(tree: Workers, frames: readonly Frame[]): Promise<string[]> {
  const seen: string[] = [];
  for (const process of tree.processes) {
    const { code, json, stderr } = await runUssJson<MapsJson>(["maps", String(process.pid)]);
    assert.equal(code, 0, stderr);
    const row = rowAt(json, process.region);
    assert.equal(row.end, process.end);
    const model = memberModel(frames, process.pid);
    const what = `${process.role} ${process.pid} region row ${JSON.stringify(row)}`;
    const file = frames.some((frame) => frame.file);
    assert.equal(row.uss, model.uss * PAGE, `${what}: USS ${model.uss} pages`);
    assert.equal(file ? row.uss_file : row.uss_anon, model.uss * PAGE, `${what}: USS side`);
    assert.equal(file ? row.uss_anon : row.uss_file, 0, `${what}: other side empty`);
    assert.equal(row.rss, model.rss * PAGE, `${what}: RSS ${model.rss} pages`);
    assert.ok(
      Math.abs(row.pss - model.pss * PAGE) <= 1,
      `${what}: PSS ${model.pss * PAGE} bytes (±1)`,
    );
    assert.equal(row.swap, 0);
    seen.push(`${process.role} ${process.pid}: uss ${row.uss} rss ${row.rss} pss ${row.pss}`);
  }
  return seen;
}

Deno.test({
  name: "cow tree (root): --tree and --group figures to the page, region rows per member",
  ignore: !IS_ROOT,
  async fn(t) {
    const N = 3, PAGES = 96, WRITTEN = 16;
    const name = uniqueName("gcow");
    await using tree = await startWorkers(
      ["cow", String(N), String(PAGES), String(WRITTEN)],
      N + 1,
      { name },
    );
    const frames = cowFrames(tree);
    const [w0, w1, w2] = tree.workers;
    const parent = tree.parent;
    const members = await measureEach(tree.pids);

    await t.step("region rows: workers own WRITTEN pages, the parent none", async () => {
      const rows = await assertRegionRows(tree, frames);
      // The model's numbers, spelled out for this layout.
      const worker = memberModel(frames, w0.pid);
      assert.equal(worker.uss, WRITTEN);
      assert.equal(worker.rss, PAGES);
      const pss = WRITTEN + (N - 1) * WRITTEN / N + (PAGES - N * WRITTEN) / (N + 1);
      assert.ok(Math.abs(worker.pss - pss) < 1e-9, `worker PSS ${worker.pss} pages`);
      assert.equal(memberModel(frames, parent.pid).uss, 0);
      console.log(rows.join("\n"));
    });

    await t.step("--tree PARENT: exactly the parent and its workers, group figures", async () => {
      const group = await oneGroup(["--tree", String(parent.pid)]);
      assert.equal(group.group, `tree:${parent.pid} (${name})`);
      assert.deepEqual(group.members, tree.pids, "members ascending: parent and workers");
      const model = groupModel(frames, tree.pids);
      // The layout's own arithmetic: the group owns PAGES + N*WRITTEN region frames,
      // the members' USS holds N*WRITTEN of them.
      assert.equal(model.sharedInside, PAGES);
      assert.equal(model.duplicates, (N + 1) * PAGES - (PAGES + N * WRITTEN));
      console.log(assertExactGroup(group, members, frames, PAGE, "tree"));
    });

    await t.step("--group of every member equals --tree", async () => {
      const shuffled = [w2.pid, parent.pid, w0.pid, w1.pid];
      const group = await oneGroup(["--group", shuffled.join(",")]);
      assert.equal(group.group, `group:${shuffled.join(",")}`);
      const tree = await oneGroup(["--tree", String(parent.pid)]);
      const { group: _a, members: _b, ...figures } = group;
      const { group: _c, members: _d, ...treeFigures } = tree;
      assert.deepEqual(figures, treeFigures);
      assertExactGroup(group, members, frames, PAGE, "group of all");
    });

    await t.step("--group parent + two workers: the third worker's slice is inside", async () => {
      const pids = [parent.pid, w0.pid, w1.pid];
      const group = await oneGroup(["--group", pids.join(",")]);
      assert.equal(groupModel(frames, pids).sharedInside, WRITTEN);
      console.log(assertExactGroup(group, byPids(members, pids), frames, PAGE, "parent+w0+w1"));
    });

    await t.step("--group of the workers alone: nothing shared only among them", async () => {
      const pids = tree.workers.map((worker) => worker.pid);
      const group = await oneGroup(["--group", pids.join(",")]);
      assert.equal(groupModel(frames, pids).sharedInside, 0);
      console.log(assertExactGroup(group, byPids(members, pids), frames, PAGE, "workers"));
    });

    await t.step("--group with a repeated PID counts it once", async () => {
      const group = await oneGroup(["--group", `${w0.pid},${w0.pid},${parent.pid}`]);
      assert.equal(group.processes, 2);
      assertExactGroup(group, byPids(members, [w0.pid, parent.pid]), frames, PAGE, "w0+parent");
    });

    await t.step("--tree of a worker: the worker alone", async () => {
      const group = await oneGroup(["--tree", String(w2.pid)]);
      assert.equal(group.group, `tree:${w2.pid} (${name})`);
      assert.deepEqual(group.members, [w2.pid]);
      assertExactGroup(group, byPids(members, [w2.pid]), frames, PAGE, "tree of w2");
    });

    await t.step("--group with a PID that does not exist: exit 1, the others grouped", async () => {
      const [missing] = missingPids();
      const { code, json } = await runUssJson<GroupJson[]>([
        "--group",
        `${parent.pid},${w0.pid},${missing}`,
      ]);
      assert.equal(code, 1, "a given PID could not be measured");
      assert.equal(json.length, 1);
      assert.deepEqual(
        [...json[0].members].sort((a, b) => a - b),
        [parent.pid, w0.pid].sort((a, b) => a - b),
      );
      assertExactGroup(
        json[0],
        byPids(members, [parent.pid, w0.pid]),
        frames,
        PAGE,
        "group with a missing PID",
      );
      const tree = await runUss(["--tree", String(missing)]);
      assert.equal(tree.code, 1);
      assert.match(tree.stderr, new RegExp(`^uss: ${missing}: no such process\n$`));
    });

    await t.step("a one-process group is the process itself", async () => {
      const group = await oneGroup(["--group", String(w1.pid)]);
      const [own] = byPids(members, [w1.pid]);
      assert.equal(group.uss, own.uss);
      assert.equal(group.uss_sum, own.uss);
      assert.equal(group.rss, own.rss);
      assert.equal(group.ram, own.ram);
      assert.equal(group.pss, own.pss);
    });
  },
});

Deno.test({
  name: "shared tree (root): shmem shared by all members is group USS on the file side",
  ignore: !IS_ROOT,
  async fn(t) {
    const N = 2, PAGES = 64;
    await using tree = await startWorkers(["shared", String(N), String(PAGES)], N + 1, {
      name: uniqueName("gshm"),
    });
    const frames = sharedFrames(tree);
    const members = await measureEach(tree.pids);

    await t.step("region rows: USS 0, RSS PAGES, PSS PAGES/(N+1) each", async () => {
      console.log((await assertRegionRows(tree, frames)).join("\n"));
    });

    await t.step("--tree PARENT: group USS - uss_sum = PAGES, all uss_file", async () => {
      const group = await oneGroup(["--tree", String(tree.parent.pid)]);
      assert.deepEqual(group.members, tree.pids);
      const model = groupModel(frames, tree.pids);
      assert.equal(model.sharedInside, PAGES);
      assert.equal(model.sharedInsideFile, PAGES);
      console.log(assertExactGroup(group, members, frames, PAGE, "shared tree"));
    });

    await t.step("--group of the workers alone: the parent still maps the region", async () => {
      const pids = tree.workers.map((worker) => worker.pid);
      const group = await oneGroup(["--group", pids.join(",")]);
      const own = members.filter((member) => pids.includes(member.pid));
      console.log(assertExactGroup(group, own, frames, PAGE, "shared workers"));
    });
  },
});

Deno.test({
  name: "file mapped twice by every member (root): page cache shared only inside the group",
  ignore: !IS_ROOT,
  async fn() {
    const PAGES = 24, K = 2;
    const dir = await Deno.makeTempDir({ prefix: "uss-groups-" });
    try {
      const path = `${dir}/shared.dat`;
      await Deno.writeFile(path, new Uint8Array(PAGES * PAGE).fill(7));
      await using tree = await startWorkers(["files", path, String(PAGES), String(K)], K + 1, {
        name: uniqueName("gfil"),
      });
      // Every member maps every frame twice: kpagecount 2*(K+1), no member owns one.
      const frames: Frame[] = Array.from({ length: PAGES }, () => ({
        mappers: tree.pids,
        file: true,
      }));
      const members = await measureEach(tree.pids);
      const group = await oneGroup(["--tree", String(tree.parent.pid)]);
      assert.deepEqual(group.members, tree.pids);
      console.log(assertExactGroup(group, members, frames, PAGE, "files tree"));
      const workers = tree.workers.map((worker) => worker.pid);
      const partial = await oneGroup(["--group", workers.join(",")]);
      console.log(
        assertExactGroup(partial, byPids(members, workers), frames, PAGE, "files workers"),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("--by name with --name: one group holding every instance of the fixture", async () => {
  const name = uniqueName("gnam");
  const N = 2, PAGES = 32, WRITTEN = 8;
  const args = ["cow", String(N), String(PAGES), String(WRITTEN)];
  await using first = await startWorkers(args, N + 1, { name });
  await using second = await startWorkers(args, N + 1, { name });
  const pids = [...first.pids, ...second.pids].sort((a, b) => a - b);

  const { code, json, stderr } = await runUssJson<GroupJson[]>([
    "--by",
    "name",
    "--name",
    `^${name}$`,
  ]);
  assert.equal(code, 0, stderr);
  assert.equal(json.length, 1, `one group: ${JSON.stringify(json)}`);
  const [group] = json;
  assert.deepEqual(Object.keys(group), GROUP_KEYS);
  assert.equal(group.group, name);
  assert.equal(group.processes, 2 * (N + 1));
  assert.deepEqual([...group.members].sort((a, b) => a - b), pids);

  const members = await measureEach(pids);
  assert.equal(group.uss_sum, sumOf(members, "uss"));
  if (IS_ROOT) {
    // Two separate trees: each keeps its own PAGES shared inside the group.
    const frames = [...cowFrames(first), ...cowFrames(second)];
    console.log(assertExactGroup(group, members, frames, PAGE, "by name"));
  } else {
    assert.equal(group.uss, null, "without privilege group USS is unknown");
    assert.equal(group.ram, null);
    assert.equal(group.method, "smaps");
  }
});

/** The JSON of a listing view run. */
async function listing(args: string[]): Promise<ListingJson> {
  const { code, json, stderr } = await runUssJson<ListingJson>(args);
  assert.equal(code, 0, `uss ${args.join(" ")}: ${stderr}`);
  return json;
}

/**
 * Asserts `pids` are exactly the processes of uid `uid` (effective): each of
 * them has that uid, and every process of that uid alive both before and after
 * the run is there (other test files may start and stop processes of the same
 * user meanwhile).
 */
function assertExactlyUser(pids: number[], uid: number, before: number[], after: number[]) {
  const stable = before.filter((pid) => after.includes(pid));
  for (const pid of stable) assert.ok(pids.includes(pid), `${pid} (uid ${uid}) is listed`);
  for (const pid of pids) {
    assert.ok(
      before.includes(pid) || after.includes(pid),
      `${pid} listed for uid ${uid} but is not one of its processes`,
    );
  }
}

Deno.test({
  name: "processes of another user (root): --by user, --user NAME and --user UID",
  ignore: !IS_ROOT,
  async fn(t) {
    const user = userOfUid(NOBODY_ID);
    assert.ok(user, `uid ${NOBODY_ID} has a name in /etc/passwd`);
    await using tree = await startWorkers(["cow", "2", "32", "8"], 3, {
      name: uniqueName("gusr"),
      wrapper: AS_NOBODY,
    });

    await t.step(`--by user: a group "${user}" with exactly its processes`, async () => {
      const before = userPidsOf(NOBODY_ID);
      const { code, json, stderr } = await runUssJson<GroupJson[]>(["--by", "user"]);
      const after = userPidsOf(NOBODY_ID);
      assert.equal(code, 0, stderr);
      const names = json.map((group) => group.group);
      assert.equal(new Set(names).size, names.length, `one group per user: ${names}`);
      const nobody = json.find((group) => group.group === user);
      assert.ok(nobody, `a group ${user} in ${names}`);
      for (const pid of tree.pids) assert.ok(nobody.members.includes(pid), `${pid} in ${user}`);
      assertExactlyUser(nobody.members, NOBODY_ID, before, after);
      assert.equal(nobody.processes, nobody.members.length);
      const root = json.find((group) => group.group === "root");
      assert.ok(root, "a root group");
      for (const pid of tree.pids) assert.ok(!root.members.includes(pid));
      if (nobody.members.length === tree.pids.length) {
        // No other process of that user right now: the group is exactly the tree.
        const frames = cowFrames(tree);
        console.log(
          assertExactGroup(nobody, await measureEach(tree.pids), frames, PAGE, "by user"),
        );
      }
      // Groups come largest USS first.
      const ussOf = (group: GroupJson) => group.uss ?? group.uss_sum; // inexact: the sum
      for (let i = 1; i < json.length; i++) assert.ok(ussOf(json[i - 1]) >= ussOf(json[i]));
    });

    await t.step("the effective UID decides, not the real one", async () => {
      await using euidOnly = await startWorkers(["solo", "4"], 1, {
        name: uniqueName("geid"),
        wrapper: ["setpriv", `--euid=${NOBODY_ID}`],
      });
      const { pid } = euidOnly.parent;
      const status = Deno.readTextFileSync(`/proc/${pid}/status`);
      assert.match(status, new RegExp(`^Uid:\\s+0\\s+${NOBODY_ID}\\s`, "m"));
      const nobody = await listing(["--user", String(NOBODY_ID)]);
      assert.ok(nobody.processes.some((process) => process.pid === pid), "listed for 65534");
      const root = await listing(["--user", "0", "--pid", String(pid)]);
      assert.deepEqual(root.processes, [], "not listed for its real UID 0");
      const { json } = await runUssJson<GroupJson[]>(["--by", "user", "--pid", String(pid)]);
      assert.deepEqual(json.map((group) => [group.group, group.members]), [[user, [pid]]]);
    });

    for (const selector of [user, String(NOBODY_ID)]) {
      await t.step(`--user ${selector}: exactly the processes of uid ${NOBODY_ID}`, async () => {
        const before = userPidsOf(NOBODY_ID);
        const json = await listing(["--user", selector]);
        const after = userPidsOf(NOBODY_ID);
        const pids = json.processes.map((process) => process.pid);
        for (const pid of tree.pids) assert.ok(pids.includes(pid), `${pid} listed`);
        assertExactlyUser(pids, NOBODY_ID, before, after);
        for (const process of json.processes) {
          assert.equal(process.uid, NOBODY_ID);
          assert.equal(process.user, user);
          assert.equal(process.state, "ok");
        }
        assert.equal(json.total.processes, json.processes.length);
      });
    }
  },
});

Deno.test("without privilege: --group and --tree give uss null and uss_sum, the table a note", async (t) => {
  // As root, both the fixture and the CLI run as uid 65534; otherwise as ourselves.
  await using nobody = IS_ROOT ? await prepareNobody() : null;
  const options = nobody?.options ?? {};
  await using tree = await startWorkers(["cow", "2", "32", "8"], 3, {
    name: uniqueName("gunp"),
    wrapper: IS_ROOT ? AS_NOBODY : undefined,
  });

  const { code, json: members, stderr } = await runUssJson<ProcessJson[]>(
    tree.pids.map(String),
    options,
  );
  assert.equal(code, 0, stderr);
  for (const member of members) assert.equal(member.method, "smaps", JSON.stringify(member));

  for (const view of [["--group", tree.pids.join(",")], ["--tree", String(tree.parent.pid)]]) {
    await t.step(`${view[0]}: uss null, uss_sum = members' USS, PSS summed`, async () => {
      const run = await runUssJson<GroupJson[]>(view, options);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.json.length, 1);
      const [group] = run.json;
      assert.deepEqual(Object.keys(group), GROUP_KEYS);
      // The group's own figures (distinct frames and swap slots) need frame-level access.
      for (const key of ["uss", "uss_anon", "uss_file", "ram", "swap", "swap_uss", "hugetlb_uss"]) {
        assert.equal(group[key as keyof GroupJson], null, `${key} is unknown without privilege`);
      }
      assert.equal(group.uss_sum, sumOf(members, "uss"), "uss_sum");
      assert.ok(Math.abs(group.pss - sumOf(members, "pss")) <= members.length, "pss");
      assert.equal(group.swap_pss, sumOf(members, "swap_pss"));
      assert.equal(group.method, "smaps");
      assert.equal(group.processes, 3);
      assert.deepEqual([...group.members].sort((a, b) => a - b), tree.pids);
      console.log(
        `${view[0]} as uid ${IS_ROOT ? NOBODY_ID : Deno.uid()}: ${JSON.stringify(group)}`,
      );
    });
  }

  await t.step("table: USS shown as -, a note line on stderr", async () => {
    const run = await runUss(["--group", tree.pids.join(",")], options);
    assert.equal(run.code, 0, run.stderr);
    const notes = run.stderr.trimEnd().split("\n");
    assert.ok(
      notes.some((line) => /^uss: note: exact group USS needs .*USS_SUM/.test(line)),
      `a note about group USS in:\n${run.stderr}`,
    );
    for (const line of notes) assert.match(line, /^uss: note: /, "only notes on stderr");
    const row = run.stdout.split("\n").find((line) => line.startsWith("group:"));
    assert.ok(row, `a group row in:\n${run.stdout}`);
    const cells = row.trim().split(/\s{2,}/);
    // GROUP PROCS USS USS_SUM ANON FILE PSS RSS RAM SWAP
    assert.equal(cells[1], "3");
    assert.equal(cells[2], "-", `USS is "-": ${row}`);
    assert.notEqual(cells[3], "-", `USS_SUM is known: ${row}`);
  });
});
