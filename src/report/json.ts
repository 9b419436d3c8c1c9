/**
 * Results as JSON values: the stable schema the README documents (keys may be
 * added, none renamed). Sizes are integer bytes, null when not known.
 *
 * @module
 */

import type { FileReport, GroupReport } from "../measure/aggregate.ts";
import type { MappingReport } from "../measure/types.ts";
import { figuresJson } from "./measures.ts";
import type { Accounting, ProcessRow, Rows, ViewResult } from "./result.ts";

/** A JSON object. */
export type JsonObject = Record<string, unknown>;

/**
 * One process: `{pid, name, uid, user?, ppid, command?, <sizes>, method, state,
 * error, notes}`.
 *
 * @example
 * ```ts
 * import { processJson } from "./json.ts";
 * const row = { pid: 7, name: "sh", uid: 0, ppid: 1, startTime: 5, state: "ok" as const,
 *   error: null, method: null, usage: null, notes: [], user: "root" };
 * processJson(row).user; // "root"
 * ```
 */
export function processJson(row: ProcessRow): JsonObject {
  return {
    pid: row.pid,
    name: row.name,
    uid: row.uid,
    ...(row.user !== null ? { user: row.user } : {}),
    ppid: row.ppid ?? null,
    ...(row.command !== undefined ? { command: row.command } : {}),
    ...figuresJson(row),
    method: row.method,
    state: row.state,
    error: row.error,
    notes: row.notes,
  };
}

/**
 * One group: `{group, processes, uss, uss_anon, uss_file, uss_sum, pss, rss,
 * ram, swap, hugetlb, hugetlb_uss, method, members}`, and for a cgroup `{path,
 * hierarchy, charge, charge_anon, charge_file}` (the kernel's charge, null when
 * it cannot be read); the group's own figures are null when they cannot be exact.
 *
 * @example
 * ```ts
 * import { emptyUsage } from "../accounting/usage.ts";
 * import { groupJson } from "./json.ts";
 * const usage = { ...emptyUsage(), uss: 8192, pss: 6144 };
 * const json = groupJson({
 *   group: "g", members: [1, 2], method: "smaps", exact: false, usage, ussSum: 8192,
 * });
 * [json.uss, json.uss_sum, json.pss]; // [null, 8192, 6144]: smaps gives no group USS
 * ```
 */
export function groupJson(group: GroupReport): JsonObject {
  const { uss, uss_anon, uss_file, ...rest } = figuresJson(group);
  return {
    group: group.group,
    processes: group.members.length,
    uss,
    uss_anon,
    uss_file,
    uss_sum: Math.round(group.ussSum),
    ...rest,
    method: group.method,
    members: group.members,
    ...(group.cgroup
      ? {
        path: group.cgroup.path,
        hierarchy: group.cgroup.hierarchy,
        charge: group.cgroup.charge?.current ?? null,
        charge_anon: group.cgroup.charge?.anon ?? null,
        charge_file: group.cgroup.charge?.file ?? null,
      }
      : {}),
  };
}

/**
 * One mapping: where it is, what it maps, and its share of the process's figures.
 *
 * @example
 * ```ts
 * import { parseMapsLine } from "../procfs/maps.ts";
 * import { emptyUsage } from "../accounting/usage.ts";
 * import { mappingJson } from "./json.ts";
 * const vma = parseMapsLine("7f00-7f01 r--p 00000000 08:01 42 /lib/x.so", 4096)!;
 * mappingJson({ vma, usage: emptyUsage() }).path; // "/lib/x.so"
 * ```
 */
export function mappingJson({ vma, usage }: MappingReport): JsonObject {
  return {
    start: vma.start,
    end: vma.end,
    perms: vma.perms,
    offset: vma.offset,
    device: vma.device,
    inode: vma.inode,
    path: vma.path,
    deleted: vma.deleted,
    ...figuresJson({ usage }),
  };
}

/**
 * The mappings of one file added up: across processes (`{file, processes, pids,
 * mappings, <sizes>}`) or within one (`{file, mappings, <sizes>}`).
 *
 * @example
 * ```ts
 * import { emptyUsage } from "../accounting/usage.ts";
 * import { fileJson } from "./json.ts";
 * fileJson({ file: "[heap]", pids: [7], mappings: 1, usage: emptyUsage() }, false).processes; // 1
 * ```
 */
export function fileJson(file: FileReport, withinProcess: boolean): JsonObject {
  return withinProcess ? { file: file.file, mappings: file.mappings, ...figuresJson(file) } : {
    file: file.file,
    processes: file.pids.length,
    pids: file.pids,
    mappings: file.mappings,
    ...figuresJson(file),
  };
}

/** The counts of what a machine-wide view looked at, and who was not measured and why. */
function accountingJson(accounting: Accounting): JsonObject {
  return {
    scanned: accounting.scanned,
    unreadable: accounting.unreadable,
    exited: accounting.exited,
    zombies: accounting.zombies,
    kernel_threads: accounting.kernelThreads,
    failed: accounting.failed,
    unmeasured: accounting.unmeasured.map((row) => ({
      pid: row.pid,
      name: row.name,
      state: row.state,
      error: row.error,
    })),
  };
}

/**
 * The JSON value of a result: an array of processes for PIDs given, an object
 * for every process (`{processes, total, scanned, …, method, excluded}`), an
 * array of groups, the process with its `mappings` for `maps`, an array of
 * files across processes.
 *
 * @example
 * ```ts
 * import { resultJson } from "./json.ts";
 * resultJson({ kind: "processes", listing: false, processes: [], total: null, accounting: null,
 *   excluded: [], method: "smaps", notes: [], exitCode: 0, memory: null }); // []
 * ```
 */
export function resultJson(result: ViewResult): unknown {
  switch (result.kind) {
    case "processes": {
      const processes = result.processes.map(processJson);
      if (!result.listing) return processes;
      return {
        processes,
        total: {
          processes: result.total?.processes ?? 0,
          ...figuresJson(result.total ?? { usage: null }),
          used_memory: result.memory?.used ?? null,
        },
        ...(result.accounting ? accountingJson(result.accounting) : {}),
        method: result.method,
        excluded: result.excluded,
      };
    }
    case "groups":
      return result.groups.map(groupJson);
    case "mappings":
      return { ...processJson(result.process), mappings: Array.from(result.mappings, mappingJson) };
    case "files":
      return result.process
        ? {
          ...processJson(result.process),
          mappings: result.files.map((file) => fileJson(file, true)),
        }
        : result.files.map((file) => fileJson(file, false));
  }
}

/**
 * The text of `JSON.stringify({ ...head, [key]: items.map(toJson) }, null, 2)`,
 * in pieces to be joined by newlines, each element made as its piece is taken:
 * the mappings of a process with 100,000 VMAs never exist as one value or text.
 */
function* objectWithArrayText<Item>(
  head: JsonObject,
  key: string,
  items: Rows<Item>,
  toJson: (item: Item) => JsonObject,
): Generator<string> {
  const opening = JSON.stringify(head, null, 2);
  // `{` alone when the head is empty, else its members up to (not including) `}`.
  yield opening === "{}" ? "{" : `${opening.slice(0, -2)},`;
  if (items.length === 0) {
    yield `  ${JSON.stringify(key)}: []`;
  } else {
    yield `  ${JSON.stringify(key)}: [`;
    for (let index = 0; index < items.length; index++) {
      const text = JSON.stringify(toJson(items.at(index)!), null, 2).replaceAll("\n", "\n    ");
      yield `    ${text}${index < items.length - 1 ? "," : ""}`;
    }
    yield "  ]";
  }
  yield "}";
}

/**
 * The text of {@link resultJson} as `JSON.stringify(…, null, 2)` writes it, in
 * pieces to be joined by newlines; a process's mappings are made one by one as
 * the text is taken.
 *
 * @example
 * ```ts
 * import { resultJsonText } from "./json.ts";
 * const pieces = resultJsonText({ kind: "groups", by: "user", groups: [], members: null,
 *   accounting: null, method: "smaps", notes: [], exitCode: 0, memory: null });
 * [...pieces].join("\n"); // "[]"
 * ```
 */
export function* resultJsonText(result: ViewResult): Generator<string> {
  if (result.kind === "mappings") {
    yield* objectWithArrayText(
      processJson(result.process),
      "mappings",
      result.mappings,
      mappingJson,
    );
    return;
  }
  yield JSON.stringify(resultJson(result), null, 2);
}
