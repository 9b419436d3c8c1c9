/**
 * Parsers for `/proc/PID/maps`: text in, typed VMAs out (smaps is in smaps.ts).
 * Pure functions; the readers at the bottom are the only I/O.
 *
 * @module
 */

import { readProcBytes, readProcText } from "./files.ts";

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
  return vmaOfText(line, 0, line.length, pageSize, null, 0);
}

/**
 * The VMA of the line of `text` from `from` to `to` (its newline excluded), or
 * null when it is not a maps line. With `known` (ranges parsed from the same
 * text, whose VMA `index` this is), the line is trusted: its numbers come from
 * there, unchecked.
 */
function vmaOfText(
  text: string,
  from: number,
  to: number,
  pageSize: number,
  known: MapRanges | null,
  index: number,
): Vma | null {
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
  let inode: number;
  if (known) inode = known.inode[index];
  else {
    const inodeText = text.slice(afterDevice + 1, afterInode < 0 ? to : afterInode);
    if (
      !HEX.test(start) || !HEX.test(end) || !PERMS.test(perms) || !DECIMAL.test(inodeText) ||
      !HEX.test(offset)
    ) return null;
    inode = Number(inodeText);
  }
  let path = afterInode < 0 ? "" : text.slice(afterInode + 1, to).trimStart();
  let deleted = false;
  if (path.endsWith(DELETED_SUFFIX)) {
    deleted = true;
    path = path.slice(0, -DELETED_SUFFIX.length);
  }
  return {
    start,
    end,
    startPage: known ? known.startPage[index] : pageNumber(start, pageSize),
    endPage: known ? known.endPage[index] : pageNumber(end, pageSize),
    perms,
    offset,
    device: text.slice(afterOffset + 1, afterDevice),
    inode,
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
      const vma = vmaOfText(text, from, to, pageSize, null, 0);
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

function createRanges(capacity: number): MapRanges {
  return {
    count: 0,
    startPage: new Float64Array(capacity),
    endPage: new Float64Array(capacity),
    device: new Float64Array(capacity),
    inode: new Float64Array(capacity),
    offsetPage: new Float64Array(capacity),
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
    ranges.device[index] = vma.inode === 0 ? 0 : deviceNumber(vma.device);
    ranges.inode[index] = vma.inode;
    ranges.offsetPage[index] = pageNumber(vma.offset, pageSize);
  }
  return ranges;
}

const NEWLINE = 0x0a;
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

/**
 * Where each non-empty line of a maps `text` starts: the lines of the VMAs
 * that {@link parseMapRanges} found in the same text, in the same order.
 *
 * @example
 * ```ts
 * import { lineStarts } from "./maps.ts";
 * lineStarts("1000-2000 r--p 0 00:00 0\n3000-4000 rw-p 0 00:00 0\n"); // Uint32Array [0, 25]
 * ```
 */
export function lineStarts(text: string): Uint32Array {
  // A typed array grown by doubling, not a list of numbers: for 65,000 lines a
  // list outlived the garbage collector's young-space passes and grew that space.
  let starts = new Uint32Array(1024);
  let count = 0;
  for (let from = 0; from < text.length;) {
    const to = lineEnd(text, from);
    if (to > from) {
      if (count === starts.length) {
        const larger = new Uint32Array(count * 2);
        larger.set(starts);
        starts = larger;
      }
      starts[count++] = from;
    }
    from = to + 1;
  }
  return starts.subarray(0, count);
}

/**
 * VMA `index` of `ranges` (parsed from the same maps text), made from its line
 * of `text` (starting at `starts[index]`, see {@link lineStarts}): a process's
 * VMAs become objects when a view shows them, not all at once.
 *
 * @throws {SyntaxError} when there is no such line, or it is not a maps line.
 * @example
 * ```ts
 * import { lineStarts, parseMapRanges, vmaAt } from "./maps.ts";
 * const text = "55d1c000-55d1e000 r-xp 00001000 fd:01 1054 /usr/bin/cat\n" +
 *   "7ffc9000-7ffca000 rw-p 00000000 00:00 0 [stack]\n";
 * const ranges = parseMapRanges(new TextEncoder().encode(text), 4096);
 * const vma = vmaAt(text, lineStarts(text), ranges, 1);
 * [vma.path, vma.startPage]; // ["[stack]", 0x7ffc9]
 * ```
 */
export function vmaAt(text: string, starts: Uint32Array, ranges: MapRanges, index: number): Vma {
  if (index >= ranges.count || index >= starts.length) {
    throw new SyntaxError(`no maps line ${index}`);
  }
  const from = starts[index];
  const to = lineEnd(text, from);
  const vma = vmaOfText(text, from, to, 0, ranges, index);
  if (!vma) throw new SyntaxError(`not a maps line: ${JSON.stringify(text.slice(from, to))}`);
  return vma;
}

/** A line of `bytes` from `start`, for error messages. */
function lineAt(bytes: Uint8Array, start: number): string {
  const end = bytes.indexOf(NEWLINE, start);
  return new TextDecoder().decode(bytes.subarray(start, end < 0 ? undefined : end));
}

/**
 * Parses `/proc/PID/maps` as bytes into {@link MapRanges} in one pass, without
 * building a string or an object per line (the path is skipped). Addresses up
 * to 2^64 stay exact: up to 13 hex digits (52 bits) are summed directly, longer
 * numbers in two halves.
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
export function parseMapRanges(bytes: Uint8Array, pageSize: number): MapRanges {
  // Room for as many lines as the shortest possible ones would make, rather
  // than a pass to count them: untouched room costs no memory (pages of a new
  // array are mapped when first written), and the pass cost ~5 ms for 65,000 VMAs.
  const ranges = createRanges(Math.ceil(bytes.length / MIN_LINE_BYTES) + 1);
  const { startPage, endPage, offsetPage, device, inode } = ranges;
  const length = bytes.length;
  const pagesPerHigh = 0x1_0000_0000 / pageSize;
  let count = 0;
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
    if (!ok || digits === 0) {
      throw new SyntaxError(`not a maps line: ${JSON.stringify(lineAt(bytes, lineStart))}`);
    }
    device[count] = node === 0 ? 0 : major * 0x10_0000 + minor;
    inode[count] = node;
    count++;
    while (at < length && bytes[at] !== NEWLINE) at++;
  }
  ranges.count = count;
  return ranges;
}

/**
 * Reads and parses `ROOT/PID/maps`.
 *
 * @throws {ProcError} when the file cannot be read.
 */
export function readMaps(procRoot: string, pid: number | "self", pageSize: number): Vma[] {
  return parseMaps(readProcText(`${procRoot}/${pid}/maps`), pageSize);
}

/**
 * Reads `ROOT/PID/maps` as bytes (for {@link parseMapRanges}, or decoded for
 * {@link parseMaps}).
 *
 * @throws {ProcError} when the file cannot be read.
 */
export function readMapsBytes(procRoot: string, pid: number | "self"): Uint8Array {
  return readProcBytes(`${procRoot}/${pid}/maps`);
}
