/**
 * Layout of one `/proc/PID/pagemap` entry (kernel
 * `Documentation/admin-guide/mm/pagemap.rst`): 8 bytes, little-endian, one per
 * virtual page. Hot loops read the entry as two 32-bit words, so the flag masks
 * below apply to the high word (bits 32-63); a PFN (bits 0-54) fits far below
 * 2^53 and is rebuilt from both words without BigInt.
 *
 * @module
 */

/** Bytes per pagemap (and kpagecount) entry. */
export const ENTRY_BYTES = 8;

/** Bit 63: the page is present in RAM. */
export const PRESENT = 0x8000_0000;
/**
 * Bit 62: the entry is in swap format: a page swapped out, or a migration entry,
 * a guard region or a userfaultfd marker (told apart by the swap type).
 */
export const SWAPPED = 0x4000_0000;
/** Bit 61: a file page or shared anonymous (shmem) page. */
export const FILE_OR_SHARED = 0x2000_0000;
/** Bit 58: a guard region (since 6.15); never memory. */
export const GUARD = 0x0400_0000;
/** Bit 57: userfaultfd write-protected. */
export const UFFD_WP = 0x0200_0000;
/** Bit 56: mapped exactly once (page mapcount 1); copied from the first subpage for a PMD. */
export const EXCLUSIVE = 0x0100_0000;
/** Bit 55: soft-dirty. */
export const SOFT_DIRTY = 0x0080_0000;
/** Bits 32-54 of the PFN / swap field, in the high word. */
export const PFN_HIGH_MASK = 0x007f_ffff;

const TWO_32 = 0x1_0000_0000;

/**
 * Rebuilds the 55-bit PFN (or swap field) from the two words of an entry.
 *
 * @example
 * ```ts
 * import { pfnOf } from "./pagemap_bits.ts";
 * pfnOf(0x1234, 0x8000_0001); // 0x1_0000_1234 (bit 63, present, is not part of it)
 * ```
 */
export function pfnOf(low: number, high: number): number {
  return (high & PFN_HIGH_MASK) * TWO_32 + (low >>> 0);
}

/** One pagemap entry, decoded (for tests, tools and diagnostics; hot loops use the masks). */
export interface PagemapEntry {
  present: boolean;
  swapped: boolean;
  fileOrShared: boolean;
  exclusive: boolean;
  softDirty: boolean;
  uffdWriteProtected: boolean;
  guard: boolean;
  /** Page frame number when present (0 when the reader lacks CAP_SYS_ADMIN). */
  pfn: number | null;
  /** Swap type when swapped (0 without CAP_SYS_ADMIN). */
  swapType: number | null;
  /** Swap offset in pages when swapped (0 without CAP_SYS_ADMIN). */
  swapOffset: number | null;
}

/**
 * Decodes the pagemap entry stored as two little-endian 32-bit words.
 *
 * @example
 * ```ts
 * import { decodePagemapEntry } from "./pagemap_bits.ts";
 * const words = new Uint32Array([0x1234, 0x8100_0000]); // bits 63 and 56, PFN 0x1234
 * const entry = decodePagemapEntry(words[0], words[1]);
 * [entry.present, entry.exclusive, entry.pfn]; // [true, true, 0x1234]
 * ```
 */
export function decodePagemapEntry(low: number, high: number): PagemapEntry {
  const present = (high & PRESENT) !== 0;
  const swapped = (high & SWAPPED) !== 0;
  const field = pfnOf(low, high);
  return {
    present,
    swapped,
    fileOrShared: (high & FILE_OR_SHARED) !== 0,
    exclusive: (high & EXCLUSIVE) !== 0,
    softDirty: (high & SOFT_DIRTY) !== 0,
    uffdWriteProtected: (high & UFFD_WP) !== 0,
    guard: (high & GUARD) !== 0,
    pfn: present ? field : null,
    swapType: !present && swapped ? low & 0x1f : null,
    swapOffset: !present && swapped ? Math.floor(field / 32) : null,
  };
}
