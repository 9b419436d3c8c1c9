/**
 * Parsers for `/proc/PID/smaps` and `smaps_rollup`: the kernel's own figures
 * per VMA. A process's smaps is read as a stream into a compact table (typed
 * arrays, and each distinct path once): the smaps of a JVM with 65,000 VMAs is
 * 46 MB of text, and an object per VMA would weigh as much again.
 *
 * @module
 */

import { procTextChunks, readProcText } from "./files.ts";
import { type MapRanges, parseMapRanges, type Vma, vmaOf } from "./maps.ts";
import { kilobytes } from "./process_info.ts";

/** Per-VMA figures from `/proc/PID/smaps`, in bytes. */
export interface SmapsFields {
  size: number;
  kernelPageSize: number;
  rss: number;
  pss: number;
  sharedClean: number;
  sharedDirty: number;
  privateClean: number;
  privateDirty: number;
  anonymous: number;
  anonHugePages: number;
  swap: number;
  swapPss: number;
  sharedHugetlb: number;
  privateHugetlb: number;
}

/** A VMA with its smaps figures. */
export interface SmapsVma extends Vma {
  smaps: SmapsFields;
}

/** The smaps keys uss reads and the field each fills, in the order of a table's values. */
const SMAPS_KEYS: Record<string, keyof SmapsFields> = {
  Size: "size",
  KernelPageSize: "kernelPageSize",
  Rss: "rss",
  Pss: "pss",
  Shared_Clean: "sharedClean",
  Shared_Dirty: "sharedDirty",
  Private_Clean: "privateClean",
  Private_Dirty: "privateDirty",
  Anonymous: "anonymous",
  AnonHugePages: "anonHugePages",
  Swap: "swap",
  SwapPss: "swapPss",
  Shared_Hugetlb: "sharedHugetlb",
  Private_Hugetlb: "privateHugetlb",
};
const FIELD_NAMES = Object.values(SMAPS_KEYS);
/** Values per VMA in {@link SmapsTable.values}. */
const FIELD_COUNT = FIELD_NAMES.length;
const FIELD_INDEX: Record<string, number> = Object.fromEntries(
  Object.keys(SMAPS_KEYS).map((key, index) => [key, index]),
);
const FIELD_LINES = new RegExp(
  `^(?:([0-9a-f][^\\n]*)|(${
    Object.keys(SMAPS_KEYS).join("|")
  }):[ \\t]*(?:([0-9]+) kB[ \\t]*|([^\\n]*)))$`,
  "gm",
);

/** A process's smaps, compact: what a VMA object is made from on demand. */
export interface SmapsTable {
  /** The VMAs' ranges and labels, from their header lines. */
  ranges: MapRanges;
  /** The fields of each VMA in turn, in bytes (read them with {@link smapsFieldsAt}). */
  values: Float64Array;
}

/**
 * The smaps fields of VMA `index` of `table`.
 *
 * @example
 * ```ts
 * import { parseSmapsTable, smapsFieldsAt } from "./smaps.ts";
 * const table = parseSmapsTable(["7f00-7f04 rw-p 00000000 00:00 0\nRss:  8 kB\n"], 4096);
 * smapsFieldsAt(table, 0).rss; // 8192
 * ```
 */
export function smapsFieldsAt(table: SmapsTable, index: number): SmapsFields {
  const fields = {} as SmapsFields;
  const base = index * FIELD_COUNT;
  for (let field = 0; field < FIELD_COUNT; field++) {
    fields[FIELD_NAMES[field]] = table.values[base + field];
  }
  return fields;
}

/**
 * VMA `index` of `table` with its smaps fields, made now.
 *
 * @throws {RangeError} when there is no such VMA.
 * @example
 * ```ts
 * import { parseSmapsTable, smapsVmaAt } from "./smaps.ts";
 * const table = parseSmapsTable(["7f00-7f04 rw-p 00000000 00:00 0 [heap]\nRss:  8 kB\n"], 4096);
 * const heap = smapsVmaAt(table, 0);
 * [heap.path, heap.smaps.rss]; // ["[heap]", 8192]
 * ```
 */
export function smapsVmaAt(table: SmapsTable, index: number): SmapsVma {
  return { ...vmaOf(table.ranges, index), smaps: smapsFieldsAt(table, index) };
}

/**
 * Parses smaps text given as pieces that each end at a line's end (as
 * {@link procTextChunks} reads it): a maps line per VMA followed by `Key: N kB`
 * lines. Sizes become bytes; keys uss does not read are ignored.
 *
 * @throws {SyntaxError} when a VMA header is not a maps line, or a field uss
 * reads is not `N kB` (never read as 0).
 * @example
 * ```ts
 * import { parseSmapsTable } from "./smaps.ts";
 * const table = parseSmapsTable([
 *   "7f00-7f04 rw-p 00000000 00:00 0 [heap]\nSize:  16 kB\nRss:  8 kB\n",
 *   "Pss:  6 kB\nVmFlags: rd wr\n7f08-7f09 r--p 00000000 00:00 0\nRss:  4 kB\n",
 * ], 4096);
 * [table.ranges.count, table.ranges.startPage[1]]; // [2, 0x7f08 / 4096]
 * ```
 */
export function parseSmapsTable(pieces: Iterable<string>, pageSize: number): SmapsTable {
  // The header lines are copied out as UTF-8, then parsed like maps: a substring
  // of a piece would keep the whole piece alive, and with it the whole file.
  let headerBytes = new Uint8Array(4096);
  let headerLength = 0;
  let values = new Float64Array(64 * FIELD_COUNT);
  let count = 0;
  const encoder = new TextEncoder();
  // One compiled regex walks the text: half the cost of splitting it into lines.
  // A line it matches is a header (starts with a lowercase hex address) or a
  // field uss reads, `Key: N kB` (its digits captured here: a second regex per
  // field cost a fifth of the parse) or not (kept whole, to say why). Lines of
  // other keys (Pss_Dirty, VmFlags, …: nearly half) are passed over inside the
  // regex: each match costs more in JavaScript than in the regex.
  const lines = FIELD_LINES;
  for (const text of pieces) {
    lines.lastIndex = 0;
    for (let match = lines.exec(text); match !== null; match = lines.exec(text)) {
      const header = match[1];
      if (header !== undefined) {
        if (headerLength + header.length * 3 + 1 > headerBytes.length) {
          const larger = new Uint8Array(Math.max(headerBytes.length * 2, header.length * 6));
          larger.set(headerBytes.subarray(0, headerLength));
          headerBytes = larger;
        }
        headerLength += encoder.encodeInto(header, headerBytes.subarray(headerLength)).written;
        headerBytes[headerLength++] = 0x0a;
        if ((count + 1) * FIELD_COUNT > values.length) {
          const larger = new Float64Array(values.length * 2);
          larger.set(values);
          values = larger;
        }
        count++;
        continue;
      }
      const field = FIELD_INDEX[match[2]];
      if (count === 0) continue;
      const bytes = Number(match[3]) * 1024;
      values[(count - 1) * FIELD_COUNT + field] = Number.isSafeInteger(bytes)
        ? bytes
        : kilobytes(match[4] ?? `${match[3]} kB`, `smaps ${match[2]}`);
    }
  }
  return { ranges: parseMapRanges(headerBytes.subarray(0, headerLength), pageSize, true), values };
}

/**
 * Parses the text of `/proc/PID/smaps` into VMA objects (see
 * {@link parseSmapsTable} for a process's whole smaps).
 *
 * @throws {SyntaxError} when a VMA header is malformed or a field uss reads is not `N kB`.
 * @example
 * ```ts
 * import { parseSmaps } from "./smaps.ts";
 * const text = "7f00-7f04 rw-p 00000000 00:00 0 [heap]\n" +
 *   "Size:  16 kB\nRss:  8 kB\nPss:  6 kB\nPrivate_Dirty:  4 kB\nVmFlags: rd wr\n";
 * const [heap] = parseSmaps(text, 4096);
 * [heap.path, heap.smaps.rss, heap.smaps.pss]; // ["[heap]", 8192, 6144]
 * ```
 */
export function parseSmaps(text: string, pageSize: number): SmapsVma[] {
  const table = parseSmapsTable([text], pageSize);
  return Array.from({ length: table.ranges.count }, (_, index) => smapsVmaAt(table, index));
}

/**
 * Reads and parses `ROOT/PID/smaps` as it is read, never holding its text whole.
 *
 * @throws {ProcError} when the file cannot be read; SyntaxError when it is malformed.
 */
export function readSmaps(procRoot: string, pid: number, pageSize: number): SmapsTable {
  return parseSmapsTable(procTextChunks(`${procRoot}/${pid}/smaps`), pageSize);
}

/**
 * Reads `ROOT/PID/smaps_rollup`: the kernel's exact totals over all VMAs (its
 * Pss is summed before rounding, unlike the per-VMA lines of smaps).
 *
 * @throws {ProcError} when the file cannot be read; SyntaxError when it is not a rollup.
 */
export function readSmapsRollup(procRoot: string, pid: number): SmapsFields {
  // The page size only converts the header's addresses, which nobody uses here.
  const table = parseSmapsTable([readProcText(`${procRoot}/${pid}/smaps_rollup`)], 4096);
  if (table.ranges.count === 0) {
    throw new SyntaxError(`${procRoot}/${pid}/smaps_rollup has no rollup`);
  }
  return smapsFieldsAt(table, 0);
}
