/**
 * Result and option types of the measuring API.
 *
 * @module
 */

import type { Usage } from "../accounting/usage.ts";
import type { Vma } from "../procfs/maps.ts";

/**
 * How figures were obtained: `kpagecount` walks pagemap and `/proc/kpagecount`
 * (exact, needs root); `smaps` uses the kernel's per-VMA accounting.
 */
export type Method = "kpagecount" | "smaps";

/** Method requested by the caller: `auto` picks `kpagecount` when it can. */
export type MethodChoice = Method | "auto";

/** Outcome of measuring one PID. */
export type ProcessState =
  | "ok"
  | "no-such-process"
  | "permission-denied"
  | "kernel-thread"
  | "zombie"
  | "exited"
  | "error";

/** One mapping's share of a process's figures. */
export interface MappingReport {
  /** The mapping, as `/proc/PID/maps` describes it. */
  vma: Vma;
  /**
   * Its share of the process's figures: RSS and PSS per entry; a frame's RAM in
   * the mapping of its first entry, its USS in that of the entry that completes
   * its count.
   */
  usage: Usage;
}

/**
 * A process's mappings, in order: an array, or rows made one at a time on
 * demand from compact figures (a JVM has 100,000 mappings; objects for all of
 * them would cost more than the measurement). Read it by index (`at`, never
 * `[index]`) or iterate it; `[...list]` makes an array.
 */
export interface MappingList extends Iterable<MappingReport> {
  /** Number of mappings. */
  readonly length: number;
  /** The mapping at `index` (made anew on each call when the list is compact). */
  at(index: number): MappingReport | undefined;
  /**
   * The usage of the mapping at `index` (0 ≤ index < length), without making
   * its VMA, when the list can: ordering by a figure reads nothing else.
   */
  usageAt?(index: number): Usage;
}

/** The measurement of one process. */
export interface ProcessReport {
  /** The process ID. */
  pid: number;
  /** Command name from `/proc/PID/stat`, null when the process could not be read. */
  name: string | null;
  /** Effective user ID (the owner `ps` shows), null when unknown. */
  uid: number | null;
  /** Parent PID, when the process could be read. */
  ppid?: number;
  /** Start time in clock ticks after boot (with the PID it names the process). */
  startTime: number | null;
  /** Virtual size in bytes (`VmSize`), when the process could be read. */
  vss?: number;
  /** Whether it was measured, and if not, why. */
  state: ProcessState;
  /** Why the process could not be measured; null when `state` is "ok". */
  error: string | null;
  /** How the figures were obtained; null when there are none. */
  method: Method | null;
  /** The figures; null unless `state` is "ok". */
  usage: Usage | null;
  /** Figures of `usage` that could not be known (shown as null or "-"), if any. */
  unknown?: (keyof Usage)[];
  /** Per-mapping figures, when asked for; they add up to `usage` exactly. */
  mappings?: MappingList;
  /** Things the reader should know about these figures (e.g. frames kept moving). */
  notes: string[];
}

/** Options of {@link measureProcesses}. */
export interface MeasureOptions {
  /** Where procfs is mounted (default `/proc`). */
  procRoot?: string;
  /** How to measure (default `auto`). */
  method?: MethodChoice;
  /** Also return per-mapping figures. */
  mappings?: boolean;
  /**
   * Trust pagemap bit 56 (mapped once) where it cannot be a PMD mapping, skipping
   * kpagecount for those frames (default true). Off, every frame is counted:
   * slower, and a check that the shortcut changes nothing.
   */
  exclusiveShortcut?: boolean;
  /** Processes read at once (default: the CPU count, from 2 to 8). */
  jobs?: number;
}
