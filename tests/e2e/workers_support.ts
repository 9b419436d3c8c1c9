/**
 * Support for the end-to-end tests of groups, cgroups, views and churn: the
 * JSON shapes the CLI prints, the `workers` fixture (tests/fixtures/workers.c)
 * and a model of the frames its layouts create, the exact check of a group's
 * figures against that model and its members' own, and small readers of /proc
 * used as independent references (owners, kernel threads, start times).
 *
 * @module
 */

import assert from "node:assert/strict";
import { buildFixture, type Fixture, runUssJson, startFixture } from "../helpers.ts";

export {
  type FileJson,
  GROUP_KEYS,
  type GroupJson,
  type ListingJson,
  type MappingJson,
  type MapsJson,
  type MergedJson,
  type ProcessJson,
  SIZE_KEYS,
  type SizeKey,
  type Sizes,
} from "../json_schema.ts";
import {
  type GroupJson,
  type MappingJson,
  type MapsJson,
  type ProcessJson,
  SIZE_KEYS,
  type SizeKey,
} from "../json_schema.ts";

/** What a process of the workers fixture announces. */
export interface WorkerProcess {
  pid: number;
  ppid: number;
  page: number;
  name: string;
  role: "parent" | "worker" | "solo";
  mode: "cow" | "shared" | "solo" | "files";
  index?: number;
  workers?: number;
  region: string;
  end: string;
  second?: string;
  second_end?: string;
  pages: number;
  written?: number;
}

/** A started workers fixture with its processes by role. */
export interface Workers extends Fixture<WorkerProcess> {
  parent: WorkerProcess;
  /** Workers by index. */
  workers: WorkerProcess[];
  /** Every PID, ascending. */
  pids: number[];
}

/**
 * Starts `workers [-n NAME] ARGS` and waits for `expected` processes to stop.
 *
 * @example
 * ```ts
 * await using tree = await startWorkers(["cow", "3", "96", "16"], 4, { name: "gr-cow" });
 * ```
 */
export async function startWorkers(
  args: string[],
  expected: number,
  options: { name?: string; wrapper?: string[] } = {},
): Promise<Workers> {
  const binary = await buildFixture("workers");
  const fixture = await startFixture<WorkerProcess>(
    binary,
    [...(options.name ? ["-n", options.name] : []), ...args],
    expected,
    { wrapper: options.wrapper },
  );
  const parent = fixture.processes.find((process) => process.role !== "worker")!;
  const workers = fixture.processes.filter((process) => process.role === "worker")
    .sort((a, b) => a.index! - b.index!);
  return Object.assign(fixture, {
    parent,
    workers,
    pids: fixture.processes.map((process) => process.pid).sort((a, b) => a - b),
  });
}

/** The workers fixture's binary path (built once per test file). */
export function workersBinary(): Promise<string> {
  return buildFixture("workers");
}

/**
 * A command name (comm, at most 15 bytes) unique to this test process and
 * `what`, so that `--name` and `--by name` see no process of another test file.
 */
export function uniqueName(what: string): string {
  const name = `${what}${(Deno.pid % 100_000).toString(36)}`;
  assert.ok(name.length <= 15, `comm ${name} is longer than 15 bytes`);
  return name;
}

/** One frame of a fixture's region: which processes map it, and its kind. */
export interface Frame {
  mappers: number[];
  file: boolean;
}

/**
 * The frames of a `cow N PAGES WRITTEN` tree's region: each page's original
 * frame (the parent's, still mapped by every worker that did not write it) and
 * each worker's WRITTEN copies.
 */
export function cowFrames(tree: Workers): Frame[] {
  const { pages, written } = tree.parent as Required<WorkerProcess>;
  const frames: Frame[] = [];
  for (let page = 0; page < pages; page++) {
    const writer = Math.floor(page / written);
    const mappers = [tree.parent.pid];
    tree.workers.forEach((worker, index) => {
      if (index === writer) frames.push({ mappers: [worker.pid], file: false });
      else mappers.push(worker.pid);
    });
    frames.push({ mappers, file: false });
  }
  return frames;
}

/** The frames of a `shared N PAGES` tree's region: every member maps every page. */
export function sharedFrames(tree: Workers): Frame[] {
  const mappers = tree.pids;
  return Array.from({ length: tree.parent.pages }, () => ({ mappers, file: true }));
}

/** What the model says about one process's region row (pages; PSS in pages, fractional). */
export function memberModel(frames: readonly Frame[], pid: number) {
  let uss = 0, rss = 0, pss = 0;
  for (const { mappers } of frames) {
    if (!mappers.includes(pid)) continue;
    rss++;
    pss += 1 / mappers.length;
    if (mappers.length === 1) uss++;
  }
  return { uss, rss, pss };
}

/**
 * What the model says about a group (pages): frames shared only inside the
 * group (group USS minus the members' own USS), split anonymous / file, and
 * the frames more than one member maps (sum of the members' RAM minus group RAM).
 */
export function groupModel(frames: readonly Frame[], members: readonly number[]) {
  let sharedInside = 0, sharedInsideFile = 0, duplicates = 0;
  for (const { mappers, file } of frames) {
    const inside = mappers.filter((pid) => members.includes(pid)).length;
    if (inside > 1) duplicates += inside - 1;
    if (mappers.length > 1 && inside === mappers.length) {
      sharedInside++;
      if (file) sharedInsideFile++;
    }
  }
  return {
    sharedInside,
    sharedInsideFile,
    sharedInsideAnon: sharedInside - sharedInsideFile,
    duplicates,
  };
}

/** Sum of one key over processes (which must all be measured). */
export function sumOf(reports: readonly ProcessJson[], key: SizeKey): number {
  return reports.reduce((total, report) => {
    assert.ok(Number.isInteger(report[key]), `${key} of ${report.pid}: ${report[key]}`);
    return total + (report[key] as number);
  }, 0);
}

/**
 * The members' own figures: `uss --json PID...` of `pids`, one report per PID
 * in the PIDs' order, each measured (state "ok").
 *
 * @throws {AssertionError} when the run fails, a report is missing or out of
 * order, or a process could not be measured.
 */
export async function measureEach(pids: readonly number[]): Promise<ProcessJson[]> {
  const { code, json, stderr } = await runUssJson<ProcessJson[]>(pids.map(String));
  assert.equal(code, 0, stderr);
  assert.deepEqual(json.map((report) => report.pid), [...pids], "reports in the PIDs' order");
  for (const report of json) assert.equal(report.state, "ok", JSON.stringify(report));
  return json;
}

/**
 * Asserts a group's exact figures (bytes; `page` is the page size in bytes)
 * against the model of its members' frames and the members' own figures (from
 * {@link measureEach}): exactly these members, kpagecount, every size a
 * non-negative integer, group USS - uss_sum = the frames shared only inside
 * the group (anonymous and file parts each), RSS and PSS (±1 byte per member)
 * summed, RAM less the frames of several members, each swap slot once, no
 * hugetlb. A cgroup group of `--by cgroup` fits too (it only adds keys).
 * Returns what was compared, for the log.
 *
 * @throws {AssertionError} at the first figure that differs.
 */
export function assertExactGroup(
  group: GroupJson,
  members: readonly ProcessJson[],
  frames: readonly Frame[],
  page: number,
  what: string,
): string {
  const pids = members.map((member) => member.pid).sort((a, b) => a - b);
  const model = groupModel(frames, pids);
  assert.equal(group.processes, members.length, `${what}: processes`);
  assert.deepEqual([...group.members].sort((a, b) => a - b), pids, `${what}: members`);
  assert.equal(group.method, "kpagecount", `${what}: method`);
  assertSizes(group as unknown as Record<string, unknown>, what);

  const ussSum = sumOf(members, "uss");
  assert.equal(group.uss_sum, ussSum, `${what}: uss_sum is the members' USS added up`);
  assert.equal(
    group.uss! - group.uss_sum,
    model.sharedInside * page,
    `${what}: group USS - uss_sum = ${model.sharedInside} pages shared only inside the group ` +
      `(group ${JSON.stringify(group)}, members ${JSON.stringify(members)})`,
  );
  assert.equal(
    group.uss_anon! - sumOf(members, "uss_anon"),
    model.sharedInsideAnon * page,
    `${what}: anonymous part of the memory shared inside`,
  );
  assert.equal(
    group.uss_file! - sumOf(members, "uss_file"),
    model.sharedInsideFile * page,
    `${what}: file/shmem part of the memory shared inside`,
  );
  assert.equal(group.uss, group.uss_anon! + group.uss_file!, `${what}: uss = anon + file`);

  const rssSum = sumOf(members, "rss");
  assert.equal(group.rss, rssSum, `${what}: group RSS is the sum of the members' RSS`);
  const ramSum = sumOf(members, "ram");
  assert.ok(group.ram! <= ramSum, `${what}: group RAM ${group.ram} <= sum of RAM ${ramSum}`);
  assert.equal(
    ramSum - group.ram!,
    model.duplicates * page,
    `${what}: sum of RAM - group RAM = ${model.duplicates} region frames of several members`,
  );
  const pssSum = sumOf(members, "pss");
  assert.ok(
    Math.abs(group.pss - pssSum) <= members.length,
    `${what}: group PSS ${group.pss} = sum of members' PSS ${pssSum} (±1 byte per member)`,
  );
  const swapSum = sumOf(members, "swap");
  assert.ok(
    group.swap !== null && group.swap <= swapSum,
    `${what}: group swap ${group.swap} counts a slot once (sum ${swapSum}; swap_test.ts shares slots)`,
  );
  assert.equal(group.hugetlb, 0, `${what}: hugetlb`);
  assert.equal(group.hugetlb_uss, 0, `${what}: hugetlb_uss`);
  return `${what}: uss ${group.uss} = uss_sum ${group.uss_sum} + ${model.sharedInside} pages; ` +
    `ram ${group.ram} = ${ramSum} - ${model.duplicates} pages; pss ${group.pss} (sum ${pssSum})`;
}

/** The row of `uss maps --json PID` that starts at `start`. */
export function rowAt(maps: MapsJson, start: string): MappingJson {
  const row = maps.mappings.find((mapping) => mapping.start === start);
  assert.ok(row, `no mapping at ${start} in ${maps.mappings.map((m) => m.start).join(" ")}`);
  return row;
}

/** Asserts every size key of a figure object is a non-negative integer. */
export function assertSizes(object: Record<string, unknown>, what: string): void {
  for (const key of SIZE_KEYS) {
    const value = object[key];
    assert.ok(
      Number.isInteger(value) && (value as number) >= 0,
      `${what}: ${key} ${value} is not a non-negative integer`,
    );
  }
}

/** `/proc/PID/stat` fields: state, ppid, flags, start time; null when gone. */
export function statOf(
  pid: number,
): { state: string; ppid: number; kernelThread: boolean; start: number } | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return {
    state: fields[0],
    ppid: Number(fields[1]),
    kernelThread: (Number(fields[6]) & 0x0020_0000) !== 0,
    start: Number(fields[19]),
  };
}

/** The effective UID of a process (`Uid:` line, second field); null when gone. */
export function euidOf(pid: number): number | null {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const match = /^Uid:\s+\d+\s+(\d+)/m.exec(status);
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** Every PID in /proc now. */
export function listPids(): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (/^\d+$/.test(entry.name)) pids.push(Number(entry.name));
  }
  return pids.sort((a, b) => a - b);
}

/** PIDs of user processes (not kernel threads, not zombies) with effective UID `uid`. */
export function userPidsOf(uid: number): number[] {
  return listPids().filter((pid) => {
    const stat = statOf(pid);
    return stat !== null && !stat.kernelThread && stat.state !== "Z" && euidOf(pid) === uid;
  });
}

/** The UID of a user name in /etc/passwd. */
export function uidOfUser(user: string): number | null {
  for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
    const [name, , uid] = line.split(":");
    if (name === user) return Number(uid);
  }
  return null;
}

/** The user name of a UID in /etc/passwd. */
export function userOfUid(uid: number): string | null {
  for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
    const [name, , id] = line.split(":");
    if (id !== undefined && Number(id) === uid && name !== "") return name;
  }
  return null;
}
