/**
 * Parsers for `/proc/PID/maps`: text in, typed VMAs out (smaps is in smaps.ts).
 * Pure functions; the readers at the bottom are the only I/O.
 *
 * @module
 */

import { procLineChunks, READ_BYTES, readProcText } from "./files.ts";

/** One virtual memory area (a line of `/proc/PID/maps`). */
export interface Vma {
  /** Start address as the kernel printed it (hex, no `0x`). */
  start: string;
  /** End address (exclusive), hex as printed. */
  end: string;
  /** First page number: start address / page size. */
  startPage: number;
  /** Page number one past the last page. */
  endPage: number;
  /** `rwxp`-style permissions; the last letter is `s` (shared) or `p` (private). */
  perms: string;
  /** Offset into the file, hex as printed. */
  offset: string;
  /** `major:minor` of the backing device. */
  device: string;
  /** Inode of the backing file, 0 when there is none. */
  inode: number;
  /** Path, pseudo-path (`[heap]`, `[anon:name]`, …) or `""` for anonymous memory. */
  path: string;
  /** The kernel appended ` (deleted)`: the file was unlinked while mapped. */
  deleted: boolean;
}

const DELETED_SUFFIX = " (deleted)";
const HEX = /^[0-9a-f]+$/;
const DECIMAL = /^[0-9]+$/;
const PERMS = /^[r-][w-][x-][sp]$/;

/**
 * Converts a hex address to a page number. Addresses above 2^53 (`[vsyscall]` at
 * `ffffffffff600000`) are exact only through BigInt, so the slow path is kept for them.
 */
function pageNumber(hex: string, pageSize: number): number {
  if (hex.length <= 13) return parseInt(hex, 16) / pageSize;
  return Number(BigInt(`0x${hex}`) / BigInt(pageSize));
}

/**
 * Parses one maps line, or returns null when it is not one.
 *
 * The path is everything after the inode and its padding, so paths with spaces
 * survive; a trailing ` (deleted)` becomes the `deleted` flag.
 *
 * @example
 * ```ts
 * import { parseMapsLine } from "./maps.ts";
 * parseMapsLine("7f00-7f01 r--p 00000000 08:01 42   /lib/x y.so", 4096)?.path; // "/lib/x y.so"
 * parseMapsLine("not a maps line", 4096); // null
 * ```
 */
export function parseMapsLine(line: string, pageSize: number): Vma | null {
  return vmaOfText(line, 0, line.length, pageSize);
}

/**
 * The VMA of the line of `text` from `from` to `to` (its newline excluded), or
 * null when it is not a maps line.
 */
function vmaOfText(text: string, from: number, to: number, pageSize: number): Vma | null {
  const dash = text.indexOf("-", from);
  const afterEnd = text.indexOf(" ", dash + 1);
  const afterPerms = text.indexOf(" ", afterEnd + 1);
  const afterOffset = text.indexOf(" ", afterPerms + 1);
  const afterDevice = text.indexOf(" ", afterOffset + 1);
  if (
    dash <= from || afterEnd < 0 || afterPerms < 0 || afterOffset < 0 || afterDevice < 0 ||
    afterDevice >= to
  ) return null;
  let afterInode = text.indexOf(" ", afterDevice + 1);
  if (afterInode >= to) afterInode = -1;
  const start = text.slice(from, dash);
  const end = text.slice(dash + 1, afterEnd);
  const perms = text.slice(afterEnd + 1, afterPerms);
  const offset = text.slice(afterPerms + 1, afterOffset);
  const inodeText = text.slice(afterDevice + 1, afterInode < 0 ? to : afterInode);
  if (
    !HEX.test(start) || !HEX.test(end) || !PERMS.test(perms) || !DECIMAL.test(inodeText) ||
    !HEX.test(offset)
  ) return null;
  let path = afterInode < 0 ? "" : text.slice(afterInode + 1, to).trimStart();
  let deleted = false;
  if (path.endsWith(DELETED_SUFFIX)) {
    deleted = true;
    path = path.slice(0, -DELETED_SUFFIX.length);
  }
  return {
    start,
    end,
    startPage: pageNumber(start, pageSize),
    endPage: pageNumber(end, pageSize),
    perms,
    offset,
    device: text.slice(afterOffset + 1, afterDevice),
    inode: Number(inodeText),
    path,
    deleted,
  };
}

/** Where the line of `text` starting at `from` ends: its newline, or the end of the text. */
function lineEnd(text: string, from: number): number {
  const newline = text.indexOf("\n", from);
  return newline < 0 ? text.length : newline;
}

/**
 * Parses the text of `/proc/PID/maps` into VMAs, in address order.
 *
 * @param pageSize bytes per page, to turn addresses into page numbers.
 * @throws {SyntaxError} when a non-empty line is not a maps line.
 * @example
 * ```ts
 * import { parseMaps } from "./maps.ts";
 * const vmas = parseMaps(
 *   "55d1c000-55d1e000 r-xp 00001000 fd:01 1054 /usr/bin/cat\n" +
 *     "7ffc9000-7ffca000 rw-p 00000000 00:00 0 [stack]\n",
 *   4096,
 * );
 * vmas.map((vma) => [vma.startPage, vma.endPage, vma.path]);
 * // [[0x55d1c, 0x55d1e, "/usr/bin/cat"], [0x7ffc9, 0x7ffca, "[stack]"]]
 * ```
 */
export function parseMaps(text: string, pageSize: number): Vma[] {
  const vmas: Vma[] = [];
  for (let from = 0; from < text.length;) {
    const to = lineEnd(text, from);
    if (to > from) {
      const vma = vmaOfText(text, from, to, pageSize);
      if (!vma) throw new SyntaxError(`not a maps line: ${JSON.stringify(text.slice(from, to))}`);
      vmas.push(vma);
    }
    from = to + 1;
  }
  return vmas;
}

/**
 * The VMAs of a process as measuring needs them: page ranges and backing files,
 * in typed arrays (a process can have hundreds of thousands of VMAs).
 */
export interface MapRanges {
  /** Number of VMAs. */
  count: number;
  /** First page of each VMA (address / page size). */
  startPage: Float64Array;
  /** One past the last page of each VMA. */
  endPage: Float64Array;
  /** Backing device of each VMA as `major * 2^20 + minor` ({@link deviceNumber}). */
  device: Float64Array;
  /** Backing inode of each VMA, 0 for none. */
  inode: Float64Array;
  /** Offset into the backing file, in pages. */
  offsetPage: Float64Array;
  /** What else the lines said, when asked for: a VMA is made of it by {@link vmaOf}. */
  labels: MapLabels | null;
}

/**
 * The parts of maps lines that are not numbers, kept compact: a process's
 * VMAs become objects when a view shows them, not all at once, and their text
 * (3 MB for 65,000 VMAs) is not kept for that.
 */
export interface MapLabels {
  /** Bytes per page, to print addresses again. */
  pageSize: number;
  /** Per VMA: read, write, execute, shared and deleted as bits 0-4. */
  flags: Uint8Array;
  /** Per VMA: its path's index in `paths`. */
  pathIds: Uint32Array;
  /** The distinct paths (without ` (deleted)`); `paths[0]` is "" (none). */
  paths: string[];
}

/**
 * `major:minor` as printed in maps (hex) to one number, `major * 2^20 + minor`.
 *
 * @example
 * ```ts
 * import { deviceNumber } from "./maps.ts";
 * deviceNumber("fd:01"); // 265289729 (0xfd * 2 ** 20 + 1)
 * ```
 */
export function deviceNumber(device: string): number {
  const colon = device.indexOf(":");
  return parseInt(device.slice(0, colon), 16) * 0x10_0000 + parseInt(device.slice(colon + 1), 16);
}

/** Empty ranges with room for `capacity` VMAs, and labels with `paths` unless null. */
function createRanges(capacity: number, paths: string[] | null = null, pageSize = 0): MapRanges {
  return {
    count: 0,
    startPage: new Float64Array(capacity),
    endPage: new Float64Array(capacity),
    device: new Float64Array(capacity),
    inode: new Float64Array(capacity),
    offsetPage: new Float64Array(capacity),
    labels: paths && {
      pageSize,
      flags: new Uint8Array(capacity),
      pathIds: new Uint32Array(capacity),
      paths,
    },
  };
}

const READ = 1, WRITE = 2, EXECUTE = 4, SHARED = 8, DELETED = 16;

/** The last address {@link hexOfPage} printed: a VMA often ends where the next begins. */
let lastPage = -1;
let lastPageSize = 0;
let lastHex = "";

/** `page * pageSize` in hex, at least 8 digits (as maps prints addresses and offsets). */
function hexOfPage(page: number, pageSize: number): string {
  if (page === 0) return "00000000";
  if (page === lastPage && pageSize === lastPageSize) return lastHex;
  const address = page * pageSize;
  let text: string;
  if (!Number.isSafeInteger(address)) {
    text = (BigInt(page) * BigInt(pageSize)).toString(16).padStart(8, "0");
  } else {
    // In 28-bit parts, small integers: Number#toString(16) is ~4 times faster on
    // those than on a larger number, and a table prints two addresses per row, twice.
    const low = address % 0x1000_0000;
    const high = Math.floor(address / 0x1000_0000);
    text = high === 0
      ? low.toString(16).padStart(8, "0")
      : high.toString(16) + low.toString(16).padStart(7, "0");
  }
  lastPage = page;
  lastPageSize = pageSize;
  lastHex = text;
  return text;
}

function hex2(value: number): string {
  return value.toString(16).padStart(2, "0");
}

/**
 * VMA `index` of `ranges` (parsed with labels), made now from its numbers and
 * labels: what {@link parseMaps} makes of the same line.
 *
 * @throws {RangeError} when there is no such VMA, or the ranges have no labels.
 * @example
 * ```ts
 * import { parseMapRanges, vmaOf } from "./maps.ts";
 * const text = "55d1c000-55d1e000 r-xp 00001000 fd:01 1054 /usr/bin/cat\n" +
 *   "7ffc9000-7ffca000 rw-p 00000000 00:00 0 [stack]\n";
 * const ranges = parseMapRanges(new TextEncoder().encode(text), 4096, true);
 * const vma = vmaOf(ranges, 0);
 * [vma.start, vma.perms, vma.offset, vma.device, vma.path]; // ["55d1c000", "r-xp", "00001000", "fd:01", "/usr/bin/cat"]
 * ```
 */
export function vmaOf(ranges: MapRanges, index: number): Vma {
  const labels = ranges.labels;
  if (labels === null || !(index >= 0 && index < ranges.count)) {
    throw new RangeError(`no VMA ${index} with labels`);
  }
  const { pageSize } = labels;
  const flags = labels.flags[index];
  const device = ranges.device[index];
  return {
    start: hexOfPage(ranges.startPage[index], pageSize),
    end: hexOfPage(ranges.endPage[index], pageSize),
    startPage: ranges.startPage[index],
    endPage: ranges.endPage[index],
    perms: (flags & READ ? "r" : "-") + (flags & WRITE ? "w" : "-") +
      (flags & EXECUTE ? "x" : "-") + (flags & SHARED ? "s" : "p"),
    offset: hexOfPage(ranges.offsetPage[index], pageSize),
    device: device === 0
      ? "00:00"
      : `${hex2(Math.floor(device / 0x10_0000))}:${hex2(device % 0x10_0000)}`,
    inode: ranges.inode[index],
    path: labels.paths[labels.pathIds[index]],
    deleted: (flags & DELETED) !== 0,
  };
}

/**
 * The VMAs of `ranges` in arrays of their own, as long as their count (a
 * piece's table has room for the most lines a piece can hold); labels too,
 * their paths shared.
 *
 * @example
 * ```ts
 * import { parseMapRanges, trimmedRanges } from "./maps.ts";
 * const ranges = parseMapRanges(new TextEncoder().encode("1000-3000 r--p 0 00:00 0\n"), 4096, true);
 * const trimmed = trimmedRanges(ranges);
 * [ranges.startPage.length > 1, trimmed.startPage.length, trimmed.labels!.flags.length]; // [true, 1, 1]
 * ```
 */
export function trimmedRanges(ranges: MapRanges): MapRanges {
  const count = ranges.count;
  const labels = ranges.labels;
  return {
    count,
    startPage: ranges.startPage.slice(0, count),
    endPage: ranges.endPage.slice(0, count),
    device: ranges.device.slice(0, count),
    inode: ranges.inode.slice(0, count),
    offsetPage: ranges.offsetPage.slice(0, count),
    labels: labels && {
      pageSize: labels.pageSize,
      flags: labels.flags.slice(0, count),
      pathIds: labels.pathIds.slice(0, count),
      paths: labels.paths,
    },
  };
}

/**
 * The ranges of already parsed VMAs.
 *
 * @example
 * ```ts
 * import { parseMaps, rangesOf } from "./maps.ts";
 * const vmas = parseMaps("55d1c000-55d1e000 r-xp 00001000 fd:01 1054 /usr/bin/cat\n", 4096);
 * const ranges = rangesOf(vmas, 4096);
 * [ranges.count, ranges.startPage[0], ranges.offsetPage[0]]; // [1, 0x55d1c, 1]
 * ```
 */
export function rangesOf(vmas: readonly Vma[], pageSize: number): MapRanges {
  const ranges = createRanges(vmas.length);
  for (const vma of vmas) {
    const index = ranges.count++;
    ranges.startPage[index] = vma.startPage;
    ranges.endPage[index] = vma.endPage;
    ranges.device[index] = deviceNumber(vma.device);
    ranges.inode[index] = vma.inode;
    ranges.offsetPage[index] = pageNumber(vma.offset, pageSize);
  }
  return ranges;
}

const NEWLINE = 0x0a;
const decoder = new TextDecoder();
/** The shortest maps line: "0-1 ---p 0 0:0 0" and its newline. */
const MIN_LINE_BYTES = 17;
const SPACE = 0x20;

/** Value of each byte as a hex digit (lowercase, as the kernel prints), -1 otherwise. */
const HEX_VALUES = Int8Array.from(
  { length: 256 },
  (_, code) =>
    code >= 0x30 && code <= 0x39 ? code - 0x30 : code >= 0x61 && code <= 0x66 ? code - 0x57 : -1,
);

const PERM_LETTERS = [0x72, 0x77, 0x78]; // r w x

/** Whether `bytes` at `at` hold `[r-][w-][x-][sp]` and a space. */
function validPerms(bytes: Uint8Array, at: number): boolean {
  for (let index = 0; index < 3; index++) {
    const code = bytes[at + index];
    if (code !== PERM_LETTERS[index] && code !== 0x2d) return false;
  }
  const sharing = bytes[at + 3];
  return (sharing === 0x73 || sharing === 0x70) && bytes[at + 4] === SPACE;
}

/** Whether `code` is a byte `String#trimStart` removes (maps pads the path with spaces). */
function isBlank(code: number): boolean {
  return code === SPACE || (code >= 0x09 && code <= 0x0d);
}

/** A line of `bytes` from `start`, for error messages. */
function lineAt(bytes: Uint8Array, start: number): string {
  const end = bytes.indexOf(NEWLINE, start);
  return decoder.decode(bytes.subarray(start, end < 0 ? undefined : end));
}

/**
 * Parses `/proc/PID/maps` as bytes into {@link MapRanges} in one pass, without
 * building a string or an object per line ({@link readMapPieces} reads a file
 * this way a piece at a time). Addresses up to 2^64 stay exact: up to 13 hex
 * digits (52 bits) are summed directly, longer numbers in two halves. With
 * `withLabels`, the permissions and paths are kept too (each distinct path
 * once), for {@link vmaOf}; otherwise paths are skipped.
 *
 * @throws {SyntaxError} when a line is not a maps line.
 * @example
 * ```ts
 * import { parseMapRanges } from "./maps.ts";
 * const text = "55d1c000-55d1e000 r-xp 00001000 fd:01 1054 /usr/bin/cat\n" +
 *   "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]\n";
 * const ranges = parseMapRanges(new TextEncoder().encode(text), 4096);
 * [ranges.count, ranges.device[0], ranges.inode[0]]; // [2, 265289729, 1054]
 * ranges.startPage[1]; // 0xffffffffff600 (exact, though the address is beyond 2^53)
 * ```
 */
export function parseMapRanges(bytes: Uint8Array, pageSize: number, withLabels = false): MapRanges {
  const ranges = createRanges(roomFor(bytes), withLabels ? [""] : null, pageSize);
  parseLines(ranges, new Map(), bytes, pageSize);
  return ranges;
}

/**
 * Rows for the lines of `bytes`: as many as the shortest possible lines would
 * make, rather than a pass to count them (~5 ms for 65,000 VMAs). Untouched
 * room costs no memory where the arrays are mapped fresh.
 */
function roomFor(bytes: Uint8Array): number {
  return Math.ceil(bytes.length / MIN_LINE_BYTES) + 1;
}

/** Parses the maps lines of `bytes` (whole lines) into `ranges`, which has room for them. */
function parseLines(
  ranges: MapRanges,
  pathIndex: Map<string, number>,
  bytes: Uint8Array,
  pageSize: number,
): void {
  const { startPage, endPage, offsetPage, device, inode, labels } = ranges;
  const length = bytes.length;
  const pagesPerHigh = 0x1_0000_0000 / pageSize;
  let count = ranges.count;
  let at = 0;
  while (at < length) {
    if (bytes[at] === NEWLINE) {
      at++;
      continue;
    }
    const lineStart = at;
    let ok = true;
    // Fields 0-2 (start, end, offset): hex numbers ended by '-', ' ', ' '.
    for (let field = 0; field < 3 && ok; field++) {
      const first = at;
      let value = 0;
      let high = 0;
      for (; at < length; at++) {
        const digit = HEX_VALUES[bytes[at]];
        if (digit < 0) break;
        if (at - first < 13) value = value * 16 + digit;
        else {
          if (at - first === 13) {
            high = Math.floor(value / 0x1_0000_0000);
            value %= 0x1_0000_0000;
          }
          high = high * 16 + Math.floor(value / 0x1000_0000);
          value = (value % 0x1000_0000) * 16 + digit;
        }
      }
      const digits = at - first;
      ok = digits > 0 && digits <= 16 && bytes[at] === (field === 0 ? 0x2d : SPACE);
      const pages = digits > 13
        ? high * pagesPerHigh + Math.floor(value / pageSize)
        : Math.floor(value / pageSize);
      at++;
      if (field === 0) startPage[count] = pages;
      else if (field === 1) {
        endPage[count] = pages;
        ok = ok && validPerms(bytes, at);
        if (labels) {
          labels.flags[count] = (bytes[at] === 0x72 ? READ : 0) |
            (bytes[at + 1] === 0x77 ? WRITE : 0) | (bytes[at + 2] === 0x78 ? EXECUTE : 0) |
            (bytes[at + 3] === 0x73 ? SHARED : 0);
        }
        at += 5; // "rwxp "
      } else offsetPage[count] = pages;
    }
    // "major:minor inode", hex and decimal.
    let major = 0;
    let minor = 0;
    let node = 0;
    let digits = 0;
    for (; ok && at < length && HEX_VALUES[bytes[at]] >= 0; at++, digits++) {
      major = major * 16 + HEX_VALUES[bytes[at]];
    }
    ok = ok && digits > 0 && bytes[at++] === 0x3a;
    for (digits = 0; ok && at < length && HEX_VALUES[bytes[at]] >= 0; at++, digits++) {
      minor = minor * 16 + HEX_VALUES[bytes[at]];
    }
    ok = ok && digits > 0 && bytes[at++] === SPACE;
    for (digits = 0; ok && at < length; at++, digits++) {
      const code = bytes[at];
      if (code < 0x30 || code > 0x39) break;
      node = node * 10 + code - 0x30;
    }
    // The inode ends the line or is followed by spaces (then the path, if any).
    if (!ok || digits === 0 || (at < length && bytes[at] !== SPACE && bytes[at] !== NEWLINE)) {
      throw new SyntaxError(`not a maps line: ${JSON.stringify(lineAt(bytes, lineStart))}`);
    }
    device[count] = major * 0x10_0000 + minor;
    inode[count] = node;
    const newline = bytes.indexOf(NEWLINE, at);
    const lineStop = newline < 0 ? length : newline;
    let pathStart = at;
    // Only labels need the path: without them the rest of the line is skipped whole.
    while (labels && pathStart < lineStop && isBlank(bytes[pathStart])) pathStart++;
    if (labels && pathStart < lineStop) {
      let path = decoder.decode(bytes.subarray(pathStart, lineStop));
      if (path.endsWith(DELETED_SUFFIX)) {
        labels.flags[count] |= DELETED;
        path = path.slice(0, -DELETED_SUFFIX.length);
      }
      let id = pathIndex.get(path);
      if (id === undefined) {
        id = labels.paths.push(path) - 1;
        pathIndex.set(path, id);
      }
      labels.pathIds[count] = id;
    } else if (labels) labels.pathIds[count] = 0; // a reused table may hold another's
    at = lineStop;
    count++;
  }
  ranges.count = count;
}

/**
 * Reads and parses `ROOT/PID/maps`.
 *
 * @throws {ProcError} when the file cannot be read.
 */
export function readMaps(procRoot: string, pid: number | "self", pageSize: number): Vma[] {
  return parseMaps(readProcText(`${procRoot}/${pid}/maps`), pageSize);
}

/** Rows a piece's table is made with at least: as many lines as a piece can hold. */
const PIECE_ROWS = Math.ceil(READ_BYTES / MIN_LINE_BYTES) + 1;

/**
 * Reads `ROOT/PID/maps` a piece of whole lines at a time, each piece's VMAs
 * (and labels, `withLabels`, the pieces sharing one list of paths) parsed
 * into a table of its own: a caller that needs no VMA once it is walked never
 * holds them all (`uss PID` of 262,000 VMAs peaked at 78 MiB with maps read
 * whole, at 56 MiB a piece at a time). A table is taken from `spare` when the
 * one there fits, so a caller that gives back the tables it is done with
 * reuses a few. The generator keeps the file open until it ends or is returned.
 *
 * @throws {ProcError} when the file cannot be read.
 * @throws {SyntaxError} when a line is not a maps line.
 * @example
 * ```ts
 * import { readMapPieces } from "./maps.ts";
 * import { readPageSize } from "./process_info.ts";
 * let vmas = 0;
 * for (const piece of readMapPieces("/proc", "self", readPageSize("/proc"), [])) {
 *   vmas += piece.count;
 * }
 * vmas > 0; // true
 * ```
 */
export function* readMapPieces(
  procRoot: string,
  pid: number | "self",
  pageSize: number,
  spare: MapRanges[],
  withLabels = false,
): Generator<MapRanges> {
  const pathIndex = new Map<string, number>();
  // The pieces of one file share their paths, each kept once.
  const paths = withLabels ? [""] : null;
  for (const bytes of procLineChunks(`${procRoot}/${pid}/maps`)) {
    let ranges = spare.pop();
    if (
      ranges === undefined || ranges.startPage.length < roomFor(bytes) ||
      (ranges.labels === null) !== (paths === null)
    ) {
      ranges = createRanges(Math.max(roomFor(bytes), PIECE_ROWS), paths, pageSize);
    } else if (ranges.labels) ranges.labels.paths = paths!;
    ranges.count = 0;
    parseLines(ranges, pathIndex, bytes, pageSize);
    yield ranges;
  }
}
