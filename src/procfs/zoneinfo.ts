/**
 * `/proc/zoneinfo`: where physical memory lies, to size tables indexed by frame
 * number (PFN) once instead of growing them.
 *
 * @module
 */

import { readProcText } from "./files.ts";

/**
 * One past the highest frame number any memory zone spans (`start_pfn +
 * spanned`), or 0 when the text names none.
 *
 * @example
 * ```ts
 * import { frameLimit } from "./zoneinfo.ts";
 * frameLimit("Node 0, zone Normal\n  spanned 512\n  start_pfn: 4096\n"); // 4608
 * ```
 */
export function frameLimit(zoneinfo: string): number {
  let limit = 0;
  let spanned = 0;
  for (const line of zoneinfo.split("\n")) {
    const trimmed = line.trimStart();
    if (trimmed.startsWith("Node ")) spanned = 0;
    else if (trimmed.startsWith("spanned ")) spanned = Number(trimmed.slice(8).trim()) || 0;
    else if (trimmed.startsWith("start_pfn:")) {
      const start = Number(trimmed.slice(10).trim());
      if (Number.isFinite(start)) limit = Math.max(limit, start + spanned);
    }
  }
  return limit;
}

/**
 * Reads `ROOT/zoneinfo` and returns {@link frameLimit}.
 *
 * @throws {ProcError} when it cannot be read.
 */
export function readFrameLimit(procRoot: string): number {
  return frameLimit(readProcText(`${procRoot}/zoneinfo`));
}
