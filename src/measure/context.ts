/**
 * What the measuring process may do here: where procfs is, the page size, which
 * PID the tool itself has and which processes launched it, whether the exact
 * method is possible (kpagecount readable, PFNs visible), and the file mappings
 * of the tool and its launchers (whose entries are subtracted from every count).
 * Decided once, before any target is read.
 *
 * @module
 */

import { ProcError, readProcLink, readProcText } from "../procfs/files.ts";
import { type KpagecountFile, openKpagecount } from "../procfs/kpagecount.ts";
import { rangesOf, readMaps, type Vma } from "../procfs/maps.ts";
import { readMeminfo } from "../procfs/meminfo.ts";
import { openPagemap, type PagemapFile, readPagemap } from "../procfs/pagemap.ts";
import { pfnOf, PRESENT } from "../procfs/pagemap_bits.ts";
import { parseStatus, readArgv, readPageSize, readStat } from "../procfs/process_info.ts";
import { readFrameLimit } from "../procfs/zoneinfo.ts";
import type { MeasureOptions, Method, MethodChoice } from "./types.ts";

/** The environment makes measuring impossible (no procfs, sandbox, forced method unavailable). */
export class EnvironmentError extends Error {
  /** Creates the error with a one-line, actionable message. */
  constructor(message: string) {
    super(message);
    this.name = "EnvironmentError";
  }
}

/** A file-backed VMA of the tool itself or of a launcher, in pages. */
export interface SelfVma {
  /** First page (address / page size). */
  startPage: number;
  /** One past the last page. */
  endPage: number;
  /** Offset into the file. */
  offsetPage: number;
  /** The pagemap of the process that maps it. */
  pagemap: PagemapFile;
}

/**
 * The file-backed mappings of the measuring side, by file: the tool's own and
 * its launchers' (`deno task` maps the same Deno binary as the tool, and a Deno
 * target's pages of it would otherwise look shared with the launcher).
 */
export interface SelfMappings {
  /** `device:inode` → the VMAs of that file. */
  byFile: Map<string, SelfVma[]>;
  /** Inodes of those files, to rule out most target VMAs with one lookup. */
  inodes: Set<number>;
  /** The pagemaps of the tool and its launchers, open while the context is. */
  pagemaps: PagemapFile[];
}

/** Everything a measurement needs to know about the measuring side. */
export interface MeasureContext {
  /** Where procfs is mounted. */
  procRoot: string;
  /** Bytes per page. */
  pageSize: number;
  /** Pages one PMD maps (a page table holds `pageSize / 8` entries): 512 with 4 KiB pages. */
  pmdPages: number;
  /** The tool's own PID as seen in `procRoot`, null if it is not visible there. */
  selfPid: number | null;
  /**
   * The processes that launched the tool (`deno task`, npx, npm's shell),
   * nearest first: left out of machine-wide views, and their entries subtracted
   * from counts as the tool's own are.
   */
  launchers: number[];
  /** The tool's effective user ID (0: root), as its procfs status says. */
  selfUid: number;
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
  /** One past the highest frame number of the machine (a sizing hint). */
  frameLimit: number;
  /** The file mappings of the tool and its launchers, when the method is kpagecount and it sees itself. */
  self: SelfMappings | null;
  /** Processes read at once. */
  jobs: number;
  /** Releases open files. */
  close(): void;
}

/** Processes read at once by default: the CPUs, at least 2 (reads wait on the kernel), at most 8. */
function defaultJobs(): number {
  const cpus = navigator.hardwareConcurrency || 1;
  return Math.min(8, Math.max(2, cpus));
}

/** Explains a sandbox refusal and how to grant access. */
export function sandboxMessage(path: string, procRoot: string): string {
  return procRoot === "/proc"
    ? `Deno refused to read ${path}: run with -A (Deno guards /proc unless all permissions are granted), or mount procfs elsewhere and use --proc-root DIR with --allow-read=DIR`
    : `Deno refused to read ${path}: grant --allow-read=${procRoot} (or -A)`;
}

/**
 * Rethrows a sandbox refusal as an {@link EnvironmentError} (it concerns every
 * process, not one); returns for any other error.
 */
export function rethrowSandbox(error: unknown, procRoot: string): void {
  if (error instanceof ProcError && error.kind === "sandbox") {
    throw new EnvironmentError(sandboxMessage(error.path, procRoot));
  }
}

function environmentFailure(error: unknown, procRoot: string): never {
  if (error instanceof ProcError) {
    rethrowSandbox(error, procRoot);
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
function pfnsVisible(vmas: readonly Vma[], pagemap: PagemapFile): boolean {
  const stack = vmas.find((vma) => vma.path === "[stack]");
  if (!stack) return true;
  const pages = Math.min(16, stack.endPage - stack.startPage);
  const buffer = new Uint8Array(pages * 8);
  const entries = readPagemap(pagemap, stack.endPage - pages, buffer);
  const words = new Uint32Array(buffer.buffer, 0, entries * 2);
  let present = 0;
  for (let i = 0; i < entries; i++) {
    if ((words[2 * i + 1] & PRESENT) === 0) continue;
    present++;
    if (pfnOf(words[2 * i], words[2 * i + 1]) !== 0) return true;
  }
  return present === 0;
}

/** Key of a mapped file across processes: `device:inode` (device as {@link deviceNumber}). */
export function fileKey(device: number, inode: number): string {
  return `${device}:${inode}`;
}

/** Adds the file-backed `vmas` of the process whose pagemap is `pagemap` to `self`. */
function addMappings(
  self: SelfMappings,
  vmas: readonly Vma[],
  pagemap: PagemapFile,
  pageSize: number,
): void {
  const ranges = rangesOf(vmas, pageSize);
  for (let index = 0; index < ranges.count; index++) {
    const inode = ranges.inode[index];
    if (inode === 0) continue;
    const key = fileKey(ranges.device[index], inode);
    const own = {
      startPage: ranges.startPage[index],
      endPage: ranges.endPage[index],
      offsetPage: ranges.offsetPage[index],
      pagemap,
    };
    const list = self.byFile.get(key);
    if (list) list.push(own);
    else self.byFile.set(key, [own]);
    self.inodes.add(inode);
  }
  self.pagemaps.push(pagemap);
}

/**
 * Adds launcher `pid`'s file mappings to `self`; a launcher that cannot be read
 * (gone, refused) maps nothing worth subtracting.
 */
function addLauncher(self: SelfMappings, procRoot: string, pid: number, pageSize: number): void {
  let pagemap: PagemapFile | null = null;
  try {
    const vmas = readMaps(procRoot, pid, pageSize);
    pagemap = openPagemap(procRoot, pid);
    addMappings(self, vmas, pagemap, pageSize);
  } catch (error) {
    pagemap?.file.close();
    skipUnreadable(error, procRoot);
  }
}

/**
 * A per-process read failed: returns when that process can be passed over,
 * rethrows when the sandbox refused it (an {@link EnvironmentError}) or the
 * error is not about procfs.
 *
 * @throws {EnvironmentError} for a sandbox refusal; the error itself for a non-procfs one.
 * @example
 * ```ts
 * import { skipUnreadable } from "./context.ts";
 * import { ProcError } from "../procfs/files.ts";
 * skipUnreadable(new ProcError("gone", "/proc/42/stat"), "/proc"); // returns: pass PID 42 over
 * ```
 */
export function skipUnreadable(error: unknown, procRoot: string): void {
  rethrowSandbox(error, procRoot);
  if (!(error instanceof ProcError) && !(error instanceof SyntaxError)) throw error;
}

/**
 * Whether `argv` is a launcher of the tool: `deno task`, the shell npm's exec
 * shim runs deno through (`sh -c 'deno' …`), or npm exec / npx running deno.
 *
 * @example
 * ```ts
 * import { isLauncher } from "./context.ts";
 * isLauncher(["deno", "task", "start"]); // true
 * isLauncher(["bash"]); // false
 * ```
 */
export function isLauncher(argv: readonly string[]): boolean {
  const program = (argv[0] ?? "").split("/").at(-1) ?? "";
  if (program === "deno" && argv[1] === "task") return true;
  if (/^(sh|bash|dash)$/.test(program) && argv[1] === "-c") {
    return /^'?deno'?(\s|$)/.test(argv[2] ?? "");
  }
  // npm sets its title to the command it runs: "npm exec deno@2.9.6 task start".
  const title = argv.join(" ");
  return /^(npm exec|npx)\b.*\bdeno\b/.test(title);
}

/** The chain of launchers that started process `pid`, nearest first (what cannot be read ends it). */
function launchersOf(procRoot: string, pid: number): number[] {
  const chain: number[] = [];
  for (let depth = 0; depth < 8; depth++) {
    try {
      const parent = readStat(procRoot, pid).ppid;
      if (parent <= 1 || !isLauncher(readArgv(procRoot, parent))) break;
      chain.push(parent);
      pid = parent;
    } catch (error) {
      skipUnreadable(error, procRoot);
      break;
    }
  }
  return chain;
}

/** Sizes frame tables: the zones' span, else memory size with room for holes. */
function frameLimitOf(procRoot: string, pageSize: number): number {
  try {
    const limit = readFrameLimit(procRoot);
    if (limit > 0) return limit;
  } catch { /* a hint only */ }
  try {
    return Math.ceil((readMeminfo(procRoot).total / pageSize) * 1.25);
  } catch {
    return 1 << 20;
  }
}

/**
 * Probes the environment and decides the method.
 *
 * @throws {EnvironmentError} when procfs is missing, the sandbox refuses it, or
 * a forced `kpagecount` is impossible.
 * @example
 * ```ts
 * import { openContext } from "./context.ts";
 * const context = openContext({ method: "auto" });
 * try {
 *   context.method; // "kpagecount" for root, else "smaps" (see context.fallbackReason)
 *   context.selfPid === Deno.pid; // true
 * } finally {
 *   context.close();
 * }
 * ```
 */
export function openContext(options: MeasureOptions = {}): MeasureContext {
  const procRoot = (options.procRoot ?? "/proc").replace(/(.)\/+$/, "$1");
  const choice: MethodChoice = options.method ?? "auto";
  let pageSize: number;
  let selfUid: number;
  try {
    selfUid = parseStatus(readProcText(`${procRoot}/self/status`)).uid;
    pageSize = readPageSize(procRoot);
  } catch (error) {
    environmentFailure(error, procRoot);
  }
  let selfPid: number | null = null;
  try {
    selfPid = Number(readProcLink(`${procRoot}/self`));
  } catch {
    selfPid = null;
  }
  const launchers = selfPid === null ? [] : launchersOf(procRoot, selfPid);

  let kpagecount: KpagecountFile | null = null;
  let self: SelfMappings | null = null;
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
      const opened: KpagecountFile = kpagecount;
      let pagemap: PagemapFile | null = null;
      try {
        const vmas = readMaps(procRoot, "self", pageSize);
        pagemap = openPagemap(procRoot, "self");
        if (pfnsVisible(vmas, pagemap)) {
          self = { byFile: new Map(), inodes: new Set(), pagemaps: [] };
          addMappings(self, vmas, pagemap, pageSize);
          for (const launcher of launchers) addLauncher(self, procRoot, launcher, pageSize);
        } else {
          problem =
            "the kernel hides physical frame numbers from this process (no CAP_SYS_ADMIN in the initial user namespace, e.g. root in a container)";
          pagemap.file.close();
          opened.file.close();
          kpagecount = null;
        }
      } catch (error) {
        pagemap?.file.close();
        opened.file.close();
        environmentFailure(error, procRoot);
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
    pmdPages: pageSize / 8,
    selfPid,
    launchers,
    selfUid,
    method,
    forced: choice !== "auto",
    fallbackReason: choice === "auto" && problem ? problem : null,
    kpagecount,
    exclusiveShortcut: options.exclusiveShortcut ?? true,
    frameLimit: method === "kpagecount" ? frameLimitOf(procRoot, pageSize) : 0,
    self,
    jobs: Math.max(1, Math.floor(options.jobs ?? defaultJobs())),
    close() {
      kpagecount?.file.close();
      kpagecount = null;
      for (const pagemap of self?.pagemaps ?? []) pagemap.file.close();
      self = null;
    },
  };
}
