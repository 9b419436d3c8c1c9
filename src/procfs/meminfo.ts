/**
 * `/proc/meminfo`: the machine's memory, to put a process table's PSS total in
 * context.
 *
 * @module
 */

import { readProcText } from "./files.ts";

/** The `/proc/meminfo` fields `uss` uses, in bytes. */
export interface MemInfo {
  total: number;
  free: number;
  available: number;
  buffers: number;
  cached: number;
  reclaimableSlab: number;
}

/**
 * Parses `/proc/meminfo` (kB → bytes).
 *
 * @example
 * ```ts
 * parseMeminfo("MemTotal: 1024 kB\n").total; // 1048576
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
    free: get("MemFree"),
    available: get("MemAvailable"),
    buffers: get("Buffers"),
    cached: get("Cached"),
    reclaimableSlab: get("SReclaimable"),
  };
}

/**
 * Memory in use as `free(1)` counts it: total − free − buffers − page cache −
 * reclaimable slab.
 *
 * @example
 * ```ts
 * usedMemory(parseMeminfo(text));
 * ```
 */
export function usedMemory(info: MemInfo): number {
  return info.total - info.free - info.buffers - info.cached - info.reclaimableSlab;
}

/**
 * Reads `ROOT/meminfo`.
 *
 * @throws {ProcError} when it cannot be read.
 */
export function readMeminfo(procRoot: string): MemInfo {
  return parseMeminfo(readProcText(`${procRoot}/meminfo`));
}
