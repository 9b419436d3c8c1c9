/**
 * Which processes a view covers: every PID, narrowed by user, name or PID list,
 * or a process tree. Reads only the cheap files (`stat`, `status`, `cmdline`),
 * and only what the filters need.
 *
 * @module
 */

import { ProcError } from "../procfs/files.ts";
import { listPids } from "../procfs/pids.ts";
import { readCmdline, readStat, readStatus } from "../procfs/process_info.ts";
import type { ProcessIdentity } from "./aggregate.ts";
import {
  EnvironmentError,
  type MeasureContext,
  rethrowSandbox,
  sandboxMessage,
} from "./context.ts";

/** Narrows the process list; absent fields do not filter. */
export interface ProcessFilter {
  /** Effective UID. */
  uid?: number;
  /** Matches the command name or the full command line. */
  name?: RegExp;
  /** Only these PIDs. */
  pids?: readonly number[];
}

/** A per-process read failed: fatal only when the sandbox refused it or it is not a procfs error. */
function skipUnreadable(error: unknown, context: MeasureContext): void {
  rethrowSandbox(error, context.procRoot);
  if (!(error instanceof ProcError) && !(error instanceof SyntaxError)) throw error;
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
      if (error.kind === "sandbox") {
        throw new EnvironmentError(sandboxMessage(error.path, context.procRoot));
      }
      throw new EnvironmentError(error.message);
    }
    throw error;
  }
}

/**
 * The PIDs that pass `filter`, ascending. The tool itself and kernel threads are
 * left out; processes that vanish while being checked are dropped (they would be
 * reported as gone by the measurement anyway).
 *
 * @throws {EnvironmentError} when the sandbox refuses procfs.
 */
export function selectPids(context: MeasureContext, filter: ProcessFilter): number[] {
  const wanted = filter.pids ? new Set(filter.pids) : null;
  const selected: number[] = [];
  for (const pid of allPids(context)) {
    if (pid === context.selfPid || (wanted && !wanted.has(pid))) continue;
    if (filter.uid === undefined && filter.name === undefined) {
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
      selected.push(pid);
    } catch (error) {
      skipUnreadable(error, context);
    }
  }
  return selected;
}

/**
 * `root` and all its descendants (by parent PID), ascending; `[root]` alone when
 * it has none, and `[]` when it does not exist.
 *
 * @throws {EnvironmentError} when the sandbox refuses procfs.
 */
export function treePids(context: MeasureContext, root: number): number[] {
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
      skipUnreadable(error, context);
    }
  }
  if (!found) return [];
  const tree: number[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    if (pid !== context.selfPid) tree.push(pid);
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
      skipUnreadable(error, context);
    }
  }
  return identities;
}
