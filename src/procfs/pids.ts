/**
 * The list of processes: the numeric entries of the procfs root.
 *
 * @module
 */

import { listProcDir } from "./files.ts";

/**
 * Lists the PIDs present under `procRoot`, ascending.
 *
 * @throws {ProcError} when the directory cannot be listed.
 * @example
 * ```ts
 * const pids = listPids("/proc"); // [1, 2, 3, …]
 * ```
 */
export function listPids(procRoot: string): number[] {
  const pids: number[] = [];
  for (const name of listProcDir(procRoot)) {
    const code = name.charCodeAt(0);
    if (code >= 0x30 && code <= 0x39 && /^[0-9]+$/.test(name)) pids.push(Number(name));
  }
  return pids.sort((a, b) => a - b);
}
