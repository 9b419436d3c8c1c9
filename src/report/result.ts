/**
 * What a view computes, before anything is printed: rows, groups, totals,
 * what could not be measured, notes and the exit code. Every output (table,
 * JSON, NDJSON, CSV, Prometheus text, the HTML report, the exporter) renders one
 * of these; watch mode compares two of them.
 *
 * @module
 */

import type { Usage } from "../accounting/usage.ts";
import type { FileReport, GroupReport } from "../measure/aggregate.ts";
import type { MappingList, Method, ProcessReport } from "../measure/types.ts";

/** A process as views show it: its report, its owner's name, maybe its command line. */
export interface ProcessRow extends ProcessReport {
  /** The owner's user name (the UID as text when it has none), null when unknown. */
  user: string | null;
  /** The full command line, when a view asked for it; null when unreadable. */
  command?: string | null;
}

/** Every PID a machine-wide view looked at, measured or not. */
export interface Accounting {
  /** PIDs looked at. */
  scanned: number;
  /** Permission denied (another user's process, or one even root cannot read). */
  unreadable: number;
  /** Gone before or while it was read. */
  exited: number;
  /** Exited, not yet reaped by their parents. */
  zombies: number;
  /** Kernel threads: no user memory. */
  kernelThreads: number;
  /** Could not be read for another reason. */
  failed: number;
  /** The processes not measured (kernel threads aside), with their reasons. */
  unmeasured: ProcessRow[];
}

/** The machine's memory, to put totals in context (bytes). */
export interface MachineMemory {
  /** MemTotal. */
  total: number;
  /** MemAvailable: what can be had without swapping. */
  available: number;
  /** What free(1) calls used: total − available. */
  used: number;
}

/** What every result has. */
export interface ResultBase {
  /** The method of the measuring context (processes may differ: see their own). */
  method: Method;
  /** Lines for stderr in table mode (e.g. why the smaps method is used). */
  notes: string[];
  /** The exit code the command ends with. */
  exitCode: number;
  /** The machine's memory, when known (for shares and footers). */
  memory: MachineMemory | null;
}

/** Processes, one row each: given by PID, or every process (`listing`). */
export interface ProcessesResult extends ResultBase {
  /** Tells the result kinds apart. */
  kind: "processes";
  /** Every process of the machine (after filters), rather than PIDs given. */
  listing: boolean;
  /** The rows shown, ordered and cut. */
  processes: ProcessRow[];
  /**
   * Every measured process added up (more than the rows when cut), and the
   * figures unknown for some of them (unknown in the sum too).
   */
  total: { processes: number; usage: Usage; unknown?: (keyof Usage)[] } | null;
  /** What a listing looked at (null for PIDs given: each has its own row). */
  accounting: Accounting | null;
  /** PIDs left out: the tool itself and the launchers that started it. */
  excluded: number[];
}

/** Groups of processes, with their members for a tree or an explicit group. */
export interface GroupsResult extends ResultBase {
  /** Tells the result kinds apart. */
  kind: "groups";
  /** What the groups are: "user", "name", "tree", "group", "cgroup". */
  by: string;
  /** The rows shown, ordered and cut. */
  groups: GroupReport[];
  /** The members, for `--tree` and `--group` (every one, measured or not). */
  members: ProcessRow[] | null;
  /** What a machine-wide grouping looked at. */
  accounting: Accounting | null;
}

/** Rows read by index: an array, or a list that makes each row when read ({@link MappingList}). */
export type Rows<T> = Pick<readonly T[], "length" | "at">;

/** One process's mappings. */
export interface MappingsResult extends ResultBase {
  /** Tells the result kinds apart. */
  kind: "mappings";
  /** The process, its figures the total of every mapping. */
  process: ProcessRow;
  /** The rows shown, ordered and cut. */
  mappings: MappingList;
  /** Mappings in all. */
  count: number;
}

/** Mappings merged per file: of one process (`maps --by file`) or of every process. */
export interface FilesResult extends ResultBase {
  /** Tells the result kinds apart. */
  kind: "files";
  /** The process, for `maps --by file PID`; null across processes. */
  process: ProcessRow | null;
  /** The rows shown, ordered and cut. */
  files: FileReport[];
  /** Files in all. */
  count: number;
  /** Mappings in all (of every file, shown or not). */
  mappings: number;
  /** What a machine-wide view looked at. */
  accounting: Accounting | null;
}

/** Any view's result. */
export type ViewResult = ProcessesResult | GroupsResult | MappingsResult | FilesResult;

/** Mappings of one process, summarized for the report: its largest ones, the rest merged. */
export interface MappingSummary {
  /** The file, pseudo-path or [anon]; "other" for the merged rest. */
  label: string;
  /** What the mapping holds: anonymous memory, a file's pages, or shared memory (shmem, tmpfs, memfd, SysV). */
  kind: "anon" | "file" | "shmem";
  /** Mappings merged into this row (1 unless "other"). */
  mappings: number;
  usage: Usage;
}

/** Everything `uss report` draws: groups, their processes, and each process's mappings. */
export interface ReportResult extends ResultBase {
  kind: "report";
  /** What the groups are: "user", "name" or "cgroup". */
  by: string;
  /** Every group, exact figures where they can be. */
  groups: GroupReport[];
  /** Every measured process. */
  processes: ProcessRow[];
  /** PID → its largest mappings and the rest merged. */
  mappings: Map<number, MappingSummary[]>;
  /** What was looked at, and what could not be measured. */
  accounting: Accounting;
  /** The machine's name (`/proc/sys/kernel/hostname`), "" when unknown. */
  host: string;
  /** The kernel release (`/proc/sys/kernel/osrelease`), "" when unknown. */
  kernel: string;
  /** When it was measured (ISO 8601). */
  time: string;
}
