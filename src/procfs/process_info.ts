/**
 * What procfs says about a process besides its memory map: `stat` (name, state,
 * start time, kernel-thread flag), `status` (owner and the kernel's RSS counters)
 * and `cmdline`. Parsers are pure; the readers are thin.
 *
 * @module
 */

import { readProcBytes, readProcText } from "./files.ts";

/** `PF_KTHREAD` in the `flags` field of `/proc/PID/stat`. */
const PF_KTHREAD = 0x0020_0000;

/** The fields of `/proc/PID/stat` that `uss` uses. */
export interface ProcessStat {
  pid: number;
  /** Command name (`comm`), at most 15 bytes, may contain spaces and parentheses. */
  name: string;
  /** One-letter state: R, S, D, Z (zombie), T, t, X, I, … */
  state: string;
  ppid: number;
  /** Start time in clock ticks after boot: with the PID, it names one process. */
  startTime: number;
  /** A kernel thread: no user memory to measure. */
  kernelThread: boolean;
}

/**
 * Parses `/proc/PID/stat`. The name sits between the first `(` and the last `)`,
 * so names containing `)` or spaces are safe.
 *
 * @throws {SyntaxError} when the text is not a stat line.
 * @example
 * ```ts
 * import { parseStat } from "./process_info.ts";
 * const stat = parseStat("42 (my (odd) name) S 1 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9876");
 * [stat.name, stat.state, stat.ppid, stat.startTime]; // ["my (odd) name", "S", 1, 9876]
 * ```
 */
export function parseStat(text: string): ProcessStat {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) throw new SyntaxError("not a stat line");
  // Fields after the name start at field 3 (state); field N is rest[N - 3].
  const rest = text.slice(close + 2).split(" ");
  const field = (index: number, name: string) => wholeNumber(rest[index - 3], `stat ${name}`);
  return {
    pid: wholeNumber(text.slice(0, open - 1), "stat pid"),
    name: text.slice(open + 1, close),
    state: rest[0],
    ppid: field(4, "ppid"),
    startTime: field(22, "starttime"),
    kernelThread: (field(9, "flags") & PF_KTHREAD) !== 0,
  };
}

/**
 * A non-negative integer as procfs prints it; anything else (a fake or broken
 * procfs, text where a number should be, values beyond 2^53) is an error.
 *
 * @throws {SyntaxError} naming `what` when `text` is not a whole number.
 * @example
 * ```ts
 * import { wholeNumber } from "./process_info.ts";
 * wholeNumber("42", "pid"); // 42
 * ```
 */
export function wholeNumber(text: string | undefined, what: string): number {
  const value = Number(text);
  if (text === undefined || !/^[0-9]+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new SyntaxError(`${what} is not a whole number: ${JSON.stringify(text ?? "")}`);
  }
  return value;
}

/**
 * A size as procfs prints it in kB, in bytes.
 *
 * @throws {SyntaxError} when it is not `N kB` or the bytes exceed 2^53.
 * @example
 * ```ts
 * import { kilobytes } from "./process_info.ts";
 * kilobytes("  1024 kB", "VmRSS"); // 1048576
 * ```
 */
export function kilobytes(text: string, what: string): number {
  const match = /^\s*([0-9]+) kB\s*$/.exec(text);
  const bytes = match ? Number(match[1]) * 1024 : NaN;
  if (!Number.isSafeInteger(bytes)) {
    throw new SyntaxError(`${what} is not a size in kB: ${JSON.stringify(text.trim())}`);
  }
  return bytes;
}

/** The fields of `/proc/PID/status` that `uss` uses; sizes in bytes. */
export interface ProcessStatus {
  /** Thread group ID: the process a thread belongs to (its own PID for a process). */
  tgid: number;
  /** Effective user ID (the owner `ps` shows). */
  uid: number;
  /** Virtual size (`VmSize`). */
  virtual: number;
  /** The kernel's resident counter (`VmRSS`), hugetlb excluded. */
  rss: number;
  /** Swapped-out anonymous memory (`VmSwap`). */
  swap: number;
  /** Mapped hugetlb pages (`HugetlbPages`). */
  hugetlb: number;
}

/**
 * Parses `/proc/PID/status`. Kernel threads lack the `Vm*` lines: those read as
 * 0. Every value used is checked.
 *
 * @throws {SyntaxError} when `Uid` is missing or a value used is not a number.
 * @example
 * ```ts
 * import { parseStatus } from "./process_info.ts";
 * parseStatus("Tgid:\t7\nUid:\t1000\t1000\t1000\t1000\nVmRSS:\t  1024 kB\n").rss; // 1048576
 * ```
 */
export function parseStatus(text: string): ProcessStatus {
  const status: ProcessStatus = { tgid: -1, uid: -1, virtual: 0, rss: 0, swap: 0, hugetlb: 0 };
  let uidSeen = false;
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1);
    switch (key) {
      case "Tgid":
        status.tgid = wholeNumber(value.trim(), "status Tgid");
        break;
      case "Uid": // real, effective, saved, filesystem
        status.uid = wholeNumber(value.trim().split(/\s+/)[1], "status Uid (effective)");
        uidSeen = true;
        break;
      case "VmSize":
        status.virtual = kilobytes(value, "status VmSize");
        break;
      case "VmRSS":
        status.rss = kilobytes(value, "status VmRSS");
        break;
      case "VmSwap":
        status.swap = kilobytes(value, "status VmSwap");
        break;
      case "HugetlbPages":
        status.hugetlb = kilobytes(value, "status HugetlbPages");
        break;
    }
  }
  if (!uidSeen) throw new SyntaxError("status has no Uid line");
  return status;
}

/**
 * Reads `ROOT/PID/stat`.
 *
 * @throws {ProcError} when it cannot be read (not-found: no such process).
 */
export function readStat(procRoot: string, pid: number): ProcessStat {
  return parseStat(readProcText(`${procRoot}/${pid}/stat`));
}

/**
 * Reads `ROOT/PID/status`.
 *
 * @throws {ProcError} when it cannot be read.
 */
export function readStatus(procRoot: string, pid: number): ProcessStatus {
  return parseStatus(readProcText(`${procRoot}/${pid}/status`));
}

/**
 * Reads `ROOT/PID/cmdline` with NULs turned into spaces ("" for kernel threads).
 *
 * @throws {ProcError} when it cannot be read.
 */
export function readCmdline(procRoot: string, pid: number): string {
  return readArgv(procRoot, pid).join(" ");
}

/**
 * Reads `ROOT/PID/cmdline` as its arguments ([] for kernel threads).
 *
 * @throws {ProcError} when it cannot be read.
 */
export function readArgv(procRoot: string, pid: number): string[] {
  const text = readProcText(`${procRoot}/${pid}/cmdline`).replace(/\0+$/, "");
  return text === "" ? [] : text.split("\0");
}

/** `AT_PAGESZ` in the auxiliary vector. */
const AT_PAGESZ = 6;

/**
 * Finds the page size in an auxiliary vector (`/proc/self/auxv`: pairs of native
 * words). Returns null when the entry is missing.
 *
 * @example
 * ```ts
 * import { pageSizeFromAuxv } from "./process_info.ts";
 * pageSizeFromAuxv(Deno.readFileSync("/proc/self/auxv")); // 4096 on x86_64
 * pageSizeFromAuxv(new Uint8Array(new BigUint64Array([6n, 16384n, 0n, 0n]).buffer)); // 16384
 * ```
 */
export function pageSizeFromAuxv(auxv: Uint8Array): number | null {
  const view = new DataView(auxv.buffer, auxv.byteOffset, auxv.byteLength);
  for (let offset = 0; offset + 16 <= auxv.byteLength; offset += 16) {
    const type = view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 2 ** 32;
    if (type === 0) break;
    if (type === AT_PAGESZ) return view.getUint32(offset + 8, true);
  }
  return null;
}

/**
 * The system page size in bytes, from `ROOT/self/auxv`.
 *
 * @throws {ProcError} when auxv cannot be read; SyntaxError when it lacks AT_PAGESZ.
 */
export function readPageSize(procRoot: string): number {
  const size = pageSizeFromAuxv(readProcBytes(`${procRoot}/self/auxv`));
  if (size === null) throw new SyntaxError(`${procRoot}/self/auxv has no AT_PAGESZ`);
  return size;
}
