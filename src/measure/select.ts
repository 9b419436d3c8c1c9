/**
 * Which processes a view covers: every PID, narrowed by user, name or PID list,
 * or a process tree. Reads only the cheap files (`stat`, `status`, `cmdline`),
 * and only what the filters need.
 *
 * @module
 */

import { cgroupPath, type Hierarchy, memoryHierarchy, readCgroups } from "../procfs/cgroup.ts";
import { ProcError } from "../procfs/files.ts";
import { listPids } from "../procfs/pids.ts";
import { readCmdline, readStat, readStatus } from "../procfs/process_info.ts";
import type { ProcessIdentity } from "./aggregate.ts";
import {
  EnvironmentError,
  type MeasureContext,
  rethrowSandbox,
  skipUnreadable,
} from "./context.ts";

/** Narrows the process list; absent fields do not filter. */
export interface ProcessFilter {
  /** Effective UID. */
  uid?: number;
  /** Matches the command name or the full command line. */
  name?: RegExp;
  /** Only these PIDs. */
  pids?: readonly number[];
  /** Never these (the tool and its launchers). */
  exclude?: ReadonlySet<number>;
  /** Only processes in this cgroup (of this hierarchy) or below it. */
  cgroup?: { hierarchy: Hierarchy; path: string };
}

/**
 * Lists every PID of the procfs, ascending.
 *
 * @throws {EnvironmentError} when the procfs root cannot be listed.
 */
export function allPids(context: MeasureContext): number[] {
  try {
    return listPids(context.procRoot);
  } catch (error) {
    if (error instanceof ProcError) {
      rethrowSandbox(error, context.procRoot);
      throw new EnvironmentError(error.message);
    }
    throw error;
  }
}

/**
 * The PIDs that pass `filter`, ascending. Kernel threads are left out when a
 * filter reads the process; processes that vanish while being checked are
 * dropped (they would be reported as gone by the measurement anyway).
 *
 * @throws {EnvironmentError} when the sandbox refuses procfs.
 */
export function selectPids(context: MeasureContext, filter: ProcessFilter): number[] {
  const wanted = filter.pids ? new Set(filter.pids) : null;
  const selected: number[] = [];
  for (const pid of allPids(context)) {
    if (filter.exclude?.has(pid) || (wanted && !wanted.has(pid))) continue;
    if (filter.uid === undefined && filter.name === undefined && filter.cgroup === undefined) {
      selected.push(pid);
      continue;
    }
    try {
      const stat = readStat(context.procRoot, pid);
      if (stat.kernelThread) continue;
      if (filter.uid !== undefined && readStatus(context.procRoot, pid).uid !== filter.uid) {
        continue;
      }
      if (
        filter.name !== undefined && !filter.name.test(stat.name) &&
        !filter.name.test(readCmdline(context.procRoot, pid))
      ) continue;
      if (filter.cgroup !== undefined) {
        const { hierarchy, path } = filter.cgroup;
        const own = cgroupPath(readCgroups(context.procRoot, pid), hierarchy);
        if (own === null || !(path === "/" || own === path || own.startsWith(`${path}/`))) {
          continue;
        }
      }
      selected.push(pid);
    } catch (error) {
      skipUnreadable(error, context.procRoot);
    }
  }
  return selected;
}

/**
 * `root` and all its descendants (by parent PID), ascending, except `exclude`;
 * `[root]` alone when it has none, and `[]` when it does not exist.
 *
 * @throws {EnvironmentError} when the sandbox refuses procfs.
 */
export function treePids(
  context: MeasureContext,
  root: number,
  exclude: ReadonlySet<number> = new Set(),
): number[] {
  const children = new Map<number, number[]>();
  let found = false;
  for (const pid of allPids(context)) {
    try {
      const stat = readStat(context.procRoot, pid);
      if (pid === root) found = true;
      const siblings = children.get(stat.ppid);
      if (siblings) siblings.push(pid);
      else children.set(stat.ppid, [pid]);
    } catch (error) {
      skipUnreadable(error, context.procRoot);
    }
  }
  if (!found) return [];
  const tree: number[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    if (!exclude.has(pid)) tree.push(pid);
    pending.push(...(children.get(pid) ?? []));
  }
  return tree.sort((a, b) => a - b);
}

/**
 * Name and owner of each of `pids` (for grouping before measuring); kernel
 * threads and processes that cannot be read are left out (measuring reports them).
 *
 * @throws {EnvironmentError} when the sandbox refuses procfs.
 */
export function identify(context: MeasureContext, pids: readonly number[]): ProcessIdentity[] {
  const identities: ProcessIdentity[] = [];
  for (const pid of pids) {
    try {
      const stat = readStat(context.procRoot, pid);
      if (stat.kernelThread) continue;
      identities.push({ pid, name: stat.name, uid: readStatus(context.procRoot, pid).uid });
    } catch (error) {
      skipUnreadable(error, context.procRoot);
    }
  }
  return identities;
}

/**
 * The tool itself and the chain of launchers that started it (nearest first),
 * to leave out of every machine-wide view: `npx deno task start` makes three
 * processes that are not what anyone wants measured.
 *
 * @example
 * ```ts
 * import { openContext } from "./context.ts";
 * import { selfAndLaunchers } from "./select.ts";
 * const context = openContext();
 * try {
 *   selfAndLaunchers(context)[0] === Deno.pid; // true
 * } finally {
 *   context.close();
 * }
 * ```
 */
export function selfAndLaunchers(context: MeasureContext): number[] {
  return context.selfPid === null ? [] : [context.selfPid, ...context.launchers];
}

/**
 * Resolves thread IDs to their processes (every thread has a `/proc/TID`, whose
 * `Tgid` names its process), keeping the order and the first occurrence of
 * each process. PIDs that cannot be read stay as given (measuring reports them).
 *
 * @returns the PIDs, and for each thread given, its process.
 * @throws {EnvironmentError} when the sandbox refuses procfs.
 */
export function resolveThreads(
  context: MeasureContext,
  pids: readonly number[],
): { pids: number[]; threads: Map<number, number> } {
  const threads = new Map<number, number>();
  const resolved = new Set<number>();
  for (const pid of pids) {
    let process = pid;
    try {
      const tgid = readStatus(context.procRoot, pid).tgid;
      if (tgid > 0 && tgid !== pid) {
        threads.set(pid, tgid);
        process = tgid;
      }
    } catch (error) {
      skipUnreadable(error, context.procRoot);
    }
    resolved.add(process);
  }
  return { pids: [...resolved], threads };
}

/**
 * The hierarchy that names memory cgroups here: `forced`, else v1's memory
 * controller when the tool itself is in one (v1 and hybrid machines), else v2.
 *
 * @throws {EnvironmentError} when the sandbox refuses procfs.
 */
export function cgroupHierarchy(context: MeasureContext, forced: Hierarchy | null): Hierarchy {
  if (forced !== null) return forced;
  try {
    return memoryHierarchy(readCgroups(context.procRoot, "self"));
  } catch (error) {
    skipUnreadable(error, context.procRoot);
    return "v2";
  }
}

/**
 * The cgroup path in `hierarchy` of each of `pids` that can be read.
 *
 * @throws {EnvironmentError} when the sandbox refuses procfs.
 */
export function cgroupPaths(
  context: MeasureContext,
  pids: readonly number[],
  hierarchy: Hierarchy,
): Map<number, string> {
  const paths = new Map<number, string>();
  for (const pid of pids) {
    try {
      const path = cgroupPath(readCgroups(context.procRoot, pid), hierarchy);
      if (path !== null) paths.set(pid, path);
    } catch (error) {
      skipUnreadable(error, context.procRoot);
    }
  }
  return paths;
}
