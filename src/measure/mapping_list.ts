/**
 * Compact mapping lists: a process's mappings made one at a time, on demand,
 * from what measuring keeps anyway (its VMAs' ranges and labels, the per-slot
 * figures).
 *
 * @module
 */

import type { Usage } from "../accounting/usage.ts";
import type { MappingList, MappingReport } from "./types.ts";

/**
 * A list of `length` mappings whose `index`-th is `make(index)`, made on each
 * read and never kept; `usageAt` gives a mapping's usage alone, cheaper than
 * making it.
 *
 * @example
 * ```ts
 * import { emptyUsage } from "../accounting/usage.ts";
 * import { parseMapsLine } from "../procfs/maps.ts";
 * import { mappingList } from "./mapping_list.ts";
 * const lines = ["7f00-7f01 r--p 00000000 08:01 42 /lib/a.so", "7f01-7f03 rw-p 00000000 00:00 0"];
 * const list = mappingList(lines.length, (index) => ({
 *   vma: parseMapsLine(lines[index], 4096)!,
 *   usage: emptyUsage(),
 * }));
 * [list.length, list.at(1)?.vma.perms, [...list].length]; // [2, "rw-p", 2]
 * ```
 */
export function mappingList(
  length: number,
  make: (index: number) => MappingReport,
  usageAt?: (index: number) => Usage,
): MappingList {
  return {
    length,
    at: (index) => {
      const at = index < 0 ? index + length : index;
      return at >= 0 && at < length ? make(at) : undefined;
    },
    usageAt: usageAt ?? ((index) => make(index).usage),
    *[Symbol.iterator]() {
      for (let index = 0; index < length; index++) yield make(index);
    },
  };
}
