/**
 * The JSON that `uss --json` prints, as the tests expect it: the stable schema
 * the README documents (keys may be added, none renamed), written down once,
 * independently of the source's own types.
 *
 * @module
 */

/** The size keys of every figure object (integer bytes). */
export const SIZE_KEYS = [
  "uss",
  "uss_anon",
  "uss_file",
  "pss",
  "rss",
  "ram",
  "swap",
  "swap_pss",
  "swap_uss",
  "hugetlb",
  "hugetlb_uss",
] as const;
/** One size key. */
export type SizeKey = typeof SIZE_KEYS[number];
/** Sizes in integer bytes. */
export type Sizes = Record<SizeKey, number>;

/** Keys every process object has. */
export const PROCESS_KEYS = [
  "pid",
  "name",
  "uid",
  "ppid",
  ...SIZE_KEYS,
  "method",
  "state",
  "error",
  "notes",
] as const;

/** Keys every mapping object of `uss maps --json` has. */
export const MAPPING_KEYS = [
  "start",
  "end",
  "perms",
  "offset",
  "device",
  "inode",
  "path",
  "deleted",
  ...SIZE_KEYS,
] as const;

/** A process object of `uss --json`. */
export interface ProcessJson extends Record<SizeKey, number | null> {
  pid: number;
  name: string | null;
  uid: number | null;
  ppid: number | null;
  user?: string;
  method: string | null;
  state: string;
  error: string | null;
  notes: string[];
}

/** A group object (`--by user|name`, `--tree`, `--group`). */
export interface GroupJson {
  group: string;
  processes: number;
  uss: number | null;
  uss_anon: number | null;
  uss_file: number | null;
  uss_sum: number;
  pss: number;
  rss: number;
  ram: number | null;
  /** Each swap slot once; null when it cannot be known. */
  swap: number | null;
  swap_pss: number;
  swap_uss: number | null;
  hugetlb: number;
  hugetlb_uss: number | null;
  method: string | null;
  members: number[];
}

/** The keys of a group object, in the README's order. */
export const GROUP_KEYS = [
  "group",
  "processes",
  "uss",
  "uss_anon",
  "uss_file",
  "uss_sum",
  "pss",
  "rss",
  "ram",
  "swap",
  "swap_pss",
  "swap_uss",
  "hugetlb",
  "hugetlb_uss",
  "method",
  "members",
];

/** One mapping of `uss maps --json PID`. */
export interface MappingJson extends Sizes {
  start: string;
  end: string;
  perms: string;
  offset: string;
  device: string;
  inode: number;
  path: string;
  deleted: boolean;
}

/** One file of `uss maps --by file --json PID`. */
export interface MergedJson extends Sizes {
  file: string;
  mappings: number;
}

/** `uss maps --json PID`: the process object plus its mappings. */
export interface MapsJson<M = MappingJson> extends ProcessJson {
  mappings: M[];
}

/** One file of `uss --by file --json`. */
export interface FileJson extends Sizes {
  file: string;
  processes: number;
  pids: number[];
  mappings: number;
}

/** The keys of `uss --json` without PIDs, in the order printed. */
export const LISTING_KEYS = [
  "processes",
  "total",
  "scanned",
  "unreadable",
  "exited",
  "zombies",
  "kernel_threads",
  "failed",
  "unmeasured",
  "method",
  "excluded",
];

/** `uss --json` without PIDs. */
export interface ListingJson {
  processes: ProcessJson[];
  total: Sizes & { processes: number; used_memory: number | null };
  scanned: number;
  unreadable: number;
  exited: number;
  zombies: number;
  kernel_threads: number;
  failed: number;
  /** Every PID looked at but not measured (kernel threads aside), with why. */
  unmeasured: { pid: number; name: string | null; state: string; error: string | null }[];
  method: string;
  /** The tool itself and the launchers that started it. */
  excluded: number[];
}
