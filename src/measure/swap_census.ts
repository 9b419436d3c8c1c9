/**
 * Who references each swap slot. The kernel counts a slot's references
 * (`swap_map`) but shows the count to nobody; pagemap shows, root only, which
 * slot each swapped-out page of a process uses. So before processes with swap
 * are accounted, every process of the machine that has swap entries (`VmSwap`
 * in its status, readable by all) is read for them, and each slot's references
 * are counted: a slot is a process's (group's) own when all its references are
 * its own entries. The census is exact when every such process could be read;
 * otherwise the swap USS of processes with swap is marked unknown.
 *
 * Slots referenced only by shared memory (tmpfs, shmem swapped out) or only by
 * the swap cache have no page-table entry: no process counts them, and none
 * frees them by exiting.
 *
 * @module
 */

import { createFrameTable, type FrameTable } from "../accounting/frame_table.ts";
import { countSwapSlots } from "../accounting/pagemap_scan.ts";
import { ProcError } from "../procfs/files.ts";
import { type MapRanges, readMapPieces } from "../procfs/maps.ts";
import { readMeminfo } from "../procfs/meminfo.ts";
import { openPagemap, readPagemap } from "../procfs/pagemap.ts";
import { readStatus } from "../procfs/process_info.ts";
import { type MeasureContext, rethrowSandbox } from "./context.ts";
import { planReads } from "./read_plan.ts";
import { CHUNK_PAGES, MAX_GAP_PAGES } from "./scan_process.ts";
import { allPids } from "./select.ts";

/** Every swap slot's references, as far as they could be read. */
export interface SwapCensus {
  /** Slot → `COUNT_BASE + references`, indexed as {@link swapSlot} numbers them. */
  table: FrameTable;
  /** Processes with swap entries that could not be read (their slots are not counted). */
  unreadable: number[];
}

/** A process's swapped-out bytes (`VmSwap`), 0 when it cannot be read. */
function swappedBytes(context: MeasureContext, pid: number): number {
  try {
    return readStatus(context.procRoot, pid).swap;
  } catch (error) {
    rethrowSandbox(error, context.procRoot);
    return 0;
  }
}

/** Whether any swap slot is in use on the machine; true when meminfo cannot tell. */
function swapInUse(context: MeasureContext): boolean {
  try {
    return readMeminfo(context.procRoot).swapUsed > 0;
  } catch (error) {
    rethrowSandbox(error, context.procRoot);
    return true;
  }
}

/** The table pieces of maps are read into, one process after another. */
const spare: MapRanges[] = [];

/** Counts the swap slots of one process into `table`; false when it cannot be read. */
function countProcess(
  context: MeasureContext,
  pid: number,
  table: FrameTable,
  buffer: Uint8Array,
): boolean {
  try {
    const pagemap = openPagemap(context.procRoot, pid);
    try {
      const words = new Int32Array(buffer.buffer);
      // A piece of maps at a time, in one table: nothing kept per VMA.
      for (const ranges of readMapPieces(context.procRoot, pid, context.pageSize, spare)) {
        const plan = planReads(ranges, null, CHUNK_PAGES, MAX_GAP_PAGES, context.pmdPages);
        for (let run = 0; run < plan.count; run++) {
          const view = buffer.subarray(0, plan.pages[run] * 8);
          const entries = readPagemap(pagemap, plan.firstPage[run], view);
          countSwapSlots(words, 0, entries, table);
        }
        spare.push(ranges);
      }
    } finally {
      pagemap.file.close();
    }
    return true;
  } catch (error) {
    rethrowSandbox(error, context.procRoot);
    if (error instanceof ProcError && (error.kind === "not-found" || error.kind === "gone")) {
      return true; // gone: it references nothing any more
    }
    return false;
  }
}

/**
 * Takes the census when one of `pids` has swap entries (else there is nothing
 * to account, and null is returned): every process of the machine with swap
 * entries is read for the slots it references. A machine with no swap in use
 * answers from `meminfo` alone, without a status read per process.
 *
 * @throws {EnvironmentError} when the sandbox refuses procfs.
 * @example
 * ```ts
 * import { openContext } from "./context.ts";
 * import { swapCensus } from "./swap_census.ts";
 * const context = openContext({ method: "smaps" });
 * try {
 *   swapCensus(context, [Deno.pid]); // null unless this process has swap
 * } finally {
 *   context.close();
 * }
 * ```
 */
export function swapCensus(context: MeasureContext, pids: readonly number[]): SwapCensus | null {
  if (!swapInUse(context)) return null;
  const swapped = allPids(context).filter((pid) => swappedBytes(context, pid) > 0);
  const withSwap = new Set(swapped);
  if (!pids.some((pid) => withSwap.has(pid))) return null;
  const table = createFrameTable(1 << 16);
  const unreadable: number[] = [];
  const buffer = new Uint8Array(CHUNK_PAGES * 8);
  for (const pid of swapped) {
    if (!countProcess(context, pid, table, buffer)) unreadable.push(pid);
  }
  return { table, unreadable };
}
