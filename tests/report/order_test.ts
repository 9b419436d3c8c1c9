// Covers orderMappings and orderIndexes (src/report/order.ts) on mapping lists
// made on demand (src/measure/mapping_list.ts): the order of a compact list is
// that of the same rows in an array, for every key, reversed and cut, and each
// row of the ordered view is the row it names; ordering by a figure reads only
// usages when the list gives them alone (usageAt).

import assert from "node:assert/strict";
import { emptyUsage } from "../../src/accounting/usage.ts";
import { mappingLabel } from "../../src/measure/aggregate.ts";
import { mappingList } from "../../src/measure/mapping_list.ts";
import type { MappingReport } from "../../src/measure/types.ts";
import { parseMaps } from "../../src/procfs/maps.ts";
import { orderMappings, orderRows, SORT_KEYS } from "../../src/report/order.ts";

/** This process's mappings with made-up figures: ties on purpose (index % 5). */
function rows(): MappingReport[] {
  const vmas = parseMaps(Deno.readTextFileSync("/proc/self/maps"), 4096);
  return vmas.map((vma, index) => ({
    vma,
    usage: { ...emptyUsage(), uss: (index % 5) * 4096, pss: (index % 7) * 1000.5, rss: index },
  }));
}

Deno.test("orderMappings: a list made on demand orders as the same rows in an array", () => {
  const array = rows();
  assert.ok(array.length > 20, `this process has ${array.length} mappings`);
  const list = mappingList(array.length, (index) => structuredClone(array[index]));
  const fields = {
    usage: (row: MappingReport) => row.usage,
    id: (row: MappingReport) => row.vma.startPage,
    name: mappingLabel,
  };
  for (const sort of [...SORT_KEYS, null]) {
    for (const reverse of [false, true]) {
      for (const limit of [null, 3]) {
        const ordering = { sort, reverse, limit };
        const expected = orderRows(array, ordering, fields).map((row) => row.vma.start);
        const ordered = orderMappings(list, ordering);
        assert.equal(ordered.length, expected.length, JSON.stringify(ordering));
        assert.deepEqual([...ordered].map((row) => row.vma.start), expected);
        assert.equal(ordered.at(-1)?.vma.start, expected.at(-1));
      }
    }
  }
  // And by the rule itself: largest USS first, ties by address.
  const byUss = [...array].sort((a, b) =>
    b.usage.uss - a.usage.uss || a.vma.startPage - b.vma.startPage
  );
  assert.deepEqual(
    [...orderMappings(list, { sort: "uss", reverse: false, limit: null })].map((row) => row.vma),
    byUss.map((row) => row.vma),
  );
});

Deno.test("orderMappings: by a figure, a list with usageAt makes no mapping; its view gives usages too", () => {
  const array = rows();
  let made = 0;
  const list = mappingList(
    array.length,
    (index) => {
      made++;
      return array[index];
    },
    (index) => array[index].usage,
  );
  const ordering = { sort: "uss", reverse: false, limit: 10 };
  const ordered = orderMappings(list, ordering);
  assert.equal(made, 0, "ordering by USS made no mapping");
  const expected = orderMappings(array, ordering);
  for (let index = 0; index < ordered.length; index++) {
    assert.deepEqual(ordered.usageAt!(index), expected.at(index)!.usage);
    assert.equal(ordered.at(index)!.vma.start, expected.at(index)!.vma.start);
  }
  assert.equal(made, ordered.length, "then one mapping made per row read");
});
