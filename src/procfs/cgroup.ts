/**
 * Control groups: which memory cgroup a process is in (`/proc/PID/cgroup`),
 * where the cgroup filesystems are mounted (`/proc/self/mountinfo`), and what
 * the kernel charges a cgroup (`memory.current` and `memory.stat` on cgroup v2,
 * `memory.usage_in_bytes` and `memory.stat` on v1). Parsers are pure; the
 * readers are thin.
 *
 * @module
 */

import { ProcError, readProcText } from "./files.ts";

/** A cgroup hierarchy: the unified v2 one, or v1's memory controller. */
export type Hierarchy = "v1" | "v2";

/** A process's cgroups: its path in the v2 hierarchy and in v1's memory controller. */
export interface CgroupMembership {
  /** Path in the unified (v2) hierarchy ("0::PATH"), null when absent. */
  v2: string | null;
  /** Path in the v1 memory controller ("N:memory:PATH"), null when absent (pure v2). */
  v1: string | null;
}

/**
 * Parses `/proc/PID/cgroup`: `ID:CONTROLLERS:PATH` per line.
 *
 * @example
 * ```ts
 * import { parseCgroupFile } from "./cgroup.ts";
 * parseCgroupFile("4:memory:/a/b\n0::/c\n"); // { v2: "/c", v1: "/a/b" }
 * ```
 */
export function parseCgroupFile(text: string): CgroupMembership {
  const membership: CgroupMembership = { v2: null, v1: null };
  for (const line of text.split("\n")) {
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (line.slice(0, first) === "0" && controllers === "") membership.v2 = path;
    else if (controllers.split(",").includes("memory")) membership.v1 = path;
  }
  return membership;
}

/**
 * The path of a membership in `hierarchy`.
 *
 * @example
 * ```ts
 * import { cgroupPath } from "./cgroup.ts";
 * cgroupPath({ v2: "/c", v1: null }, "v1"); // null
 * ```
 */
export function cgroupPath(membership: CgroupMembership, hierarchy: Hierarchy): string | null {
  return hierarchy === "v2" ? membership.v2 : membership.v1;
}

/**
 * The hierarchy whose path names a process's memory cgroup: v1's memory
 * controller where it exists (v1 or hybrid machines), else the unified one.
 *
 * @example
 * ```ts
 * import { memoryHierarchy } from "./cgroup.ts";
 * memoryHierarchy({ v2: "/", v1: "/x" }); // "v1"
 * ```
 */
export function memoryHierarchy(membership: CgroupMembership): Hierarchy {
  return membership.v1 !== null ? "v1" : "v2";
}

/**
 * Reads `ROOT/PID/cgroup`.
 *
 * @throws {ProcError} when it cannot be read.
 */
export function readCgroups(procRoot: string, pid: number | "self"): CgroupMembership {
  return parseCgroupFile(readProcText(`${procRoot}/${pid}/cgroup`));
}

/** Where a cgroup hierarchy is mounted. */
export interface CgroupMount {
  hierarchy: Hierarchy;
  /** The mount point (e.g. `/sys/fs/cgroup` or `/sys/fs/cgroup/memory`). */
  mountPoint: string;
  /** The cgroup the mount shows at its top ("/" unless in a cgroup namespace or bind mount). */
  root: string;
}

/** Undoes mountinfo's octal escapes (`\040` for a space). */
function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, code) => String.fromCharCode(parseInt(code, 8)));
}

/**
 * Finds the cgroup v2 mounts and the v1 memory-controller mounts in the text of
 * `/proc/PID/mountinfo`.
 *
 * @example
 * ```ts
 * import { parseMountinfo } from "./cgroup.ts";
 * parseMountinfo("41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")[0].mountPoint;
 * // "/sys/fs/cgroup"
 * ```
 */
export function parseMountinfo(text: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    const dash = fields.indexOf("-");
    if (dash < 6) continue;
    const type = fields[dash + 1];
    const options = (fields[dash + 3] ?? "").split(",");
    const mount = { mountPoint: unescapeMount(fields[4]), root: unescapeMount(fields[3]) };
    if (type === "cgroup2") mounts.push({ hierarchy: "v2", ...mount });
    else if (type === "cgroup" && options.includes("memory")) {
      mounts.push({ hierarchy: "v1", ...mount });
    }
  }
  return mounts;
}

/**
 * Reads the cgroup mounts the tool sees (`ROOT/self/mountinfo`).
 *
 * @throws {ProcError} when it cannot be read.
 */
export function readCgroupMounts(procRoot: string): CgroupMount[] {
  return parseMountinfo(readProcText(`${procRoot}/self/mountinfo`));
}

/**
 * The directory of cgroup `path` under one of `mounts` of `hierarchy`, or null
 * when no mount shows it.
 *
 * @example
 * ```ts
 * import { cgroupDirectory } from "./cgroup.ts";
 * cgroupDirectory([{ hierarchy: "v1", mountPoint: "/sys/fs/cgroup/memory", root: "/" }], "v1", "/a");
 * // "/sys/fs/cgroup/memory/a"
 * ```
 */
export function cgroupDirectory(
  mounts: readonly CgroupMount[],
  hierarchy: Hierarchy,
  path: string,
): string | null {
  for (const mount of mounts) {
    if (mount.hierarchy !== hierarchy) continue;
    const root = mount.root === "/" ? "" : mount.root;
    if (path !== root && !path.startsWith(`${root}/`) && root !== "") continue;
    const relative = path.slice(root.length);
    return `${mount.mountPoint}${relative === "/" ? "" : relative}`;
  }
  return null;
}

/** What the kernel charges a memory cgroup (its descendants included), in bytes. */
export interface CgroupCharge {
  /** `memory.current` (v2) or `memory.usage_in_bytes` (v1). */
  current: number | null;
  /** Anonymous memory: `anon` (v2) or `total_rss` (v1). */
  anon: number | null;
  /** Page cache: `file` (v2) or `total_cache` (v1). */
  file: number | null;
}

/**
 * Parses `memory.stat` into the anonymous and file charges (v2 keys `anon` and
 * `file`; v1 keys `total_rss` and `total_cache`, which include descendants).
 *
 * @example
 * ```ts
 * import { parseMemoryStat } from "./cgroup.ts";
 * parseMemoryStat("anon 4096\nfile 8192\n", "v2"); // { anon: 4096, file: 8192 }
 * ```
 */
export function parseMemoryStat(
  text: string,
  hierarchy: Hierarchy,
): { anon: number | null; file: number | null } {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [key, value] = line.split(" ");
    if (value !== undefined && /^[0-9]+$/.test(value)) values.set(key, Number(value));
  }
  return hierarchy === "v2"
    ? { anon: values.get("anon") ?? null, file: values.get("file") ?? null }
    : { anon: values.get("total_rss") ?? null, file: values.get("total_cache") ?? null };
}

/**
 * Reads the kernel's charge of the cgroup in `directory`; figures the kernel
 * does not offer there (no memory controller on that hierarchy) are null.
 *
 * @throws {ProcError} when the directory is refused by the sandbox.
 */
export function readCharge(directory: string, hierarchy: Hierarchy): CgroupCharge {
  const read = (name: string): string | null => {
    try {
      return readProcText(`${directory}/${name}`);
    } catch (error) {
      // A sandbox refusal says nothing about the cgroup: the caller notes it.
      if (error instanceof ProcError && error.kind === "sandbox") throw error;
      return null;
    }
  };
  const current = read(hierarchy === "v2" ? "memory.current" : "memory.usage_in_bytes")?.trim();
  const stat = read("memory.stat");
  return {
    current: current !== undefined && /^[0-9]+$/.test(current) ? Number(current) : null,
    ...(stat === null ? { anon: null, file: null } : parseMemoryStat(stat, hierarchy)),
  };
}

const CONTAINER_ID = /^(?:docker|cri-containerd|crio|containerd|libpod)-([0-9a-f]{64})\.scope$/;
const POD = /pod([0-9a-f]{8})[-_0-9a-f]*(?:\.slice)?$/;

/**
 * A readable name for a cgroup path: a container's runtime and short ID, with
 * its Kubernetes pod when it has one; a systemd unit (service, scope, slice);
 * else the path itself.
 *
 * @example
 * ```ts
 * import { cgroupLabel } from "./cgroup.ts";
 * cgroupLabel("/system.slice/sshd.service"); // "sshd.service"
 * cgroupLabel("/system.slice/docker-" + "ab".repeat(32) + ".scope"); // "docker:abababababab"
 * ```
 */
export function cgroupLabel(path: string): string {
  const parts = path.split("/").filter((part) => part !== "");
  const last = parts.at(-1);
  if (last === undefined) return "/";
  const container = CONTAINER_ID.exec(last) ??
    (/^[0-9a-f]{64}$/.test(last) ? [last, last] : null);
  if (container) {
    const runtime = CONTAINER_ID.test(last) ? last.slice(0, last.indexOf("-")) : parts.at(-2);
    const pod = parts.map((part) => POD.exec(part)?.[1]).find((id) => id !== undefined);
    return `${pod ? `pod:${pod}/` : ""}${runtime ?? "container"}:${container[1].slice(0, 12)}`;
  }
  if (/\.(service|scope|slice|socket|mount)$/.test(last)) return last;
  return path;
}
