/**
 * Figures from the kernel's own accounting (`/proc/PID/smaps`), for readers that
 * cannot see PFNs. Pure.
 *
 * @module
 */

import type { SmapsFields } from "../procfs/smaps.ts";
import type { Usage } from "./usage.ts";

/**
 * Usage of one VMA from its smaps fields.
 *
 * USS is `Private_Clean + Private_Dirty` (pages with mapcount 1). smaps does not
 * split private pages into anonymous and file, so the anonymous part is estimated
 * as `min(USS, Anonymous)`: exact for one anonymous or shmem VMA, an upper bound
 * where anonymous pages are shared (copy-on-write after a fork) while file pages
 * are private. Works on one VMA of `smaps` or on the totals of `smaps_rollup`.
 *
 * @example
 * ```ts
 * import { parseSmaps } from "../procfs/smaps.ts";
 * import { usageFromSmaps } from "./smaps_usage.ts";
 * const text = "7f00-7f04 rw-p 00000000 00:00 0\n" +
 *   "Rss:  16 kB\nPss:  12 kB\nShared_Dirty:  8 kB\nPrivate_Dirty:  8 kB\nAnonymous:  16 kB\n";
 * const [vma] = parseSmaps(text, 4096);
 * const usage = usageFromSmaps(vma.smaps);
 * [usage.uss, usage.ussAnon, usage.pss, usage.rss]; // [8192, 8192, 12288, 16384]
 * ```
 */
export function usageFromSmaps(fields: SmapsFields): Usage {
  const uss = fields.privateClean + fields.privateDirty;
  const ussAnon = Math.min(uss, fields.anonymous);
  return {
    uss,
    ussAnon,
    ussFile: uss - ussAnon,
    pss: fields.pss,
    rss: fields.rss,
    // smaps cannot see a frame mapped twice: each page-table entry counts.
    ram: fields.rss,
    swap: fields.swap,
    swapPss: fields.swapPss,
    // smaps cannot tell which swap slots others reference: unknown (marked by the caller).
    swapUss: fields.swap,
    hugetlb: fields.privateHugetlb + fields.sharedHugetlb,
    hugetlbUss: fields.privateHugetlb,
  };
}
