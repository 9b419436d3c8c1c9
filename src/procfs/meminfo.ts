/**
 * `/proc/meminfo`: the machine's memory, to put a process table's PSS total in
 * context.
 *
 * @module
 */

import { readProcText } from "./files.ts";

/** The `/proc/meminfo` fields `uss` uses, in bytes. */
export interface MemInfo {
  /** MemTotal. */
  total: number;
  /** MemAvailable: what can be had without swapping. */
  available: number;
  /** SwapTotal − SwapFree: swap slots in use, by processes, shmem or the swap cache. */
  swapUsed: number;
}

/**
 * Parses `/proc/meminfo` (kB → bytes).
 *
 * @example
 * ```ts
 * import { parseMeminfo } from "./meminfo.ts";
 * const info = parseMeminfo("MemTotal:  1024 kB\nMemAvailable:  512 kB\n");
 * info; // { total: 1048576, available: 524288, swapUsed: 0 }
 * ```
 */
export function parseMeminfo(text: string): MemInfo {
  const fields = new Map<string, number>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) fields.set(line.slice(0, colon), parseInt(line.slice(colon + 1), 10) * 1024);
  }
  const get = (name: string) => fields.get(name) ?? 0;
  return {
    total: get("MemTotal"),
    available: get("MemAvailable"),
    swapUsed: get("SwapTotal") - get("SwapFree"),
  };
}

/**
 * Memory in use as `free(1)` (procps 4) counts it: total − available.
 *
 * @example
 * ```ts
 * import { parseMeminfo, usedMemory } from "./meminfo.ts";
 * usedMemory(parseMeminfo("MemTotal: 1000 kB\nMemAvailable: 600 kB\n")); // 409600
 * ```
 */
export function usedMemory(info: MemInfo): number {
  return info.total - info.available;
}

/**
 * Reads `ROOT/meminfo`.
 *
 * @throws {ProcError} when it cannot be read.
 */
export function readMeminfo(procRoot: string): MemInfo {
  return parseMeminfo(readProcText(`${procRoot}/meminfo`));
}
