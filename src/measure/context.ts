/**
 * What the measuring process may do here: where procfs is, the page size, which
 * PID the tool itself has, and whether the exact method is possible (kpagecount
 * readable, PFNs visible). Decided once, before any target is read.
 *
 * @module
 */

import { ProcError, readProcLink, readProcText } from "../procfs/files.ts";
import { type KpagecountFile, openKpagecount } from "../procfs/kpagecount.ts";
import { readMaps } from "../procfs/maps.ts";
import { openPagemap, readPagemap } from "../procfs/pagemap.ts";
import { pfnOf, PRESENT } from "../procfs/pagemap_bits.ts";
import { readPageSize } from "../procfs/process_info.ts";
import type { MeasureOptions, Method, MethodChoice } from "./types.ts";

/** The environment makes measuring impossible (no procfs, sandbox, forced method unavailable). */
export class EnvironmentError extends Error {
  /** Creates the error with a one-line, actionable message. */
  constructor(message: string) {
    super(message);
    this.name = "EnvironmentError";
  }
}

/** Everything a measurement needs to know about the measuring side. */
export interface MeasureContext {
  /** Where procfs is mounted. */
  procRoot: string;
  /** Bytes per page. */
  pageSize: number;
  /** The tool's own PID as seen in `procRoot`, null if it is not visible there. */
  selfPid: number | null;
  /** The method every process gets unless it shows hidden PFNs. */
  method: Method;
  /** Whether the caller forced the method. */
  forced: boolean;
  /** Why `auto` fell back to smaps (one line), null when it did not. */
  fallbackReason: string | null;
  /** Open kpagecount when `method` is kpagecount. */
  kpagecount: KpagecountFile | null;
  /** Trust pagemap bit 56 where it cannot lie (see `MeasureOptions`). */
  exclusiveShortcut: boolean;
  /** Releases open files. */
  close(): void;
}

/** Explains a sandbox refusal and how to grant access. */
export function sandboxMessage(path: string, procRoot: string): string {
  return procRoot === "/proc"
    ? `Deno refused to read ${path}: run with -A (Deno guards /proc unless all permissions are granted), or mount procfs elsewhere and use --proc-root DIR with --allow-read=DIR`
    : `Deno refused to read ${path}: grant --allow-read=${procRoot} (or -A)`;
}

function environmentFailure(error: unknown, procRoot: string): never {
  if (error instanceof ProcError) {
    if (error.kind === "sandbox") throw new EnvironmentError(sandboxMessage(error.path, procRoot));
    if (error.kind === "not-found") {
      throw new EnvironmentError(`${procRoot} is not a procfs mount (${error.path} is missing)`);
    }
    throw new EnvironmentError(`cannot read ${error.path}: ${error.message}`);
  }
  throw error;
}

/**
 * Whether the kernel shows this process real PFNs: without CAP_SYS_ADMIN in the
 * initial user namespace (root in a rootless container) every PFN reads 0. The
 * top of the tool's own stack is surely present, so it decides.
 */
function pfnsVisible(procRoot: string, pageSize: number): boolean {
  const stack = readMaps(procRoot, "self", pageSize).find((vma) => vma.path === "[stack]");
  if (!stack) return true;
  const pages = Math.min(16, stack.endPage - stack.startPage);
  const buffer = new Uint8Array(pages * 8);
  const pagemap = openPagemap(procRoot, "self");
  try {
    const entries = readPagemap(pagemap, stack.endPage - pages, buffer);
    const words = new Uint32Array(buffer.buffer, 0, entries * 2);
    let present = 0;
    for (let i = 0; i < entries; i++) {
      if ((words[2 * i + 1] & PRESENT) === 0) continue;
      present++;
      if (pfnOf(words[2 * i], words[2 * i + 1]) !== 0) return true;
    }
    return present === 0;
  } finally {
    pagemap.file.close();
  }
}

/**
 * Probes the environment and decides the method.
 *
 * @throws {EnvironmentError} when procfs is missing, the sandbox refuses it, or
 * a forced `kpagecount` is impossible.
 * @example
 * ```ts
 * const context = openContext({ method: "auto" });
 * try { … } finally { context.close(); }
 * ```
 */
export function openContext(options: MeasureOptions = {}): MeasureContext {
  const procRoot = (options.procRoot ?? "/proc").replace(/(.)\/+$/, "$1");
  const choice: MethodChoice = options.method ?? "auto";
  let pageSize: number;
  let selfPid: number | null = null;
  try {
    readProcText(`${procRoot}/self/stat`);
    pageSize = readPageSize(procRoot);
  } catch (error) {
    environmentFailure(error, procRoot);
  }
  try {
    selfPid = Number(readProcLink(`${procRoot}/self`));
  } catch {
    selfPid = null;
  }

  let kpagecount: KpagecountFile | null = null;
  let problem: string | null = null;
  if (choice !== "smaps") {
    try {
      kpagecount = openKpagecount(procRoot);
    } catch (error) {
      if (error instanceof ProcError && error.kind === "permission") {
        problem = `${procRoot}/kpagecount is readable by root only`;
      } else {
        environmentFailure(error, procRoot);
      }
    }
    if (kpagecount) {
      let visible: boolean;
      try {
        visible = pfnsVisible(procRoot, pageSize);
      } catch (error) {
        kpagecount.file.close();
        environmentFailure(error, procRoot);
      }
      if (!visible) {
        problem =
          "the kernel hides physical frame numbers from this process (no CAP_SYS_ADMIN in the initial user namespace, e.g. root in a container)";
        kpagecount.file.close();
        kpagecount = null;
      }
    }
    if (problem && choice === "kpagecount") {
      throw new EnvironmentError(`cannot use --method kpagecount: ${problem}`);
    }
  }
  const method: Method = kpagecount ? "kpagecount" : "smaps";
  return {
    procRoot,
    pageSize,
    selfPid,
    method,
    forced: choice !== "auto",
    fallbackReason: choice === "auto" && problem ? problem : null,
    kpagecount,
    exclusiveShortcut: options.exclusiveShortcut ?? true,
    close() {
      kpagecount?.file.close();
      kpagecount = null;
    },
  };
}
