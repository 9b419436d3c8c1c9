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
 * import { listPids } from "./pids.ts";
 * const pids = listPids("/proc"); // e.g. [1, 7, 42, …]
 * pids.includes(Deno.pid); // true
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
