/**
 * `uss` as a library: measure how much memory processes really own.
 *
 * @example
 * ```ts
 * import { measureProcesses } from "@uss/uss";
 * const [me, none] = await measureProcesses([Deno.pid, 0x7fff_ffff]);
 * me.usage!.uss > 0; // true: bytes only this process holds
 * me.method; // "kpagecount" for root (exact), else "smaps"
 * [none.state, none.usage, none.error]; // ["no-such-process", null, "no such process"]
 * ```
 *
 * @example Exact figures of a group (the memory its processes share only among themselves counts)
 * ```ts
 * import { measure, openContext } from "@uss/uss";
 * const child = new Deno.Command("sleep", { args: ["60"] }).spawn();
 * const context = openContext();
 * try {
 *   const pids = [Deno.pid, child.pid];
 *   const { groups: [group] } = await measure(context, pids, {
 *     groups: [{ name: "deno+sleep", pids }],
 *   });
 *   group.members.length; // 2
 *   group.exact; // true for root (kpagecount), false with smaps (then USS is the members' sum)
 *   group.usage.uss >= group.ussSum; // true: what only its members share counts too
 * } finally {
 *   context.close();
 *   child.kill();
 *   await child.status;
 * }
 * ```
 *
 * @module
 */

export {
  measure,
  type Measurement,
  measureProcesses,
  type MeasureRunOptions,
} from "./measure/measure.ts";
export {
  EnvironmentError,
  type MeasureContext,
  openContext,
  type SelfMappings,
  type SelfVma,
} from "./measure/context.ts";
export {
  type CgroupInfo,
  type FileReport,
  type GroupReport,
  type GroupSpec,
  groupSpecsBy,
  type ProcessIdentity,
  usageByFile,
} from "./measure/aggregate.ts";
export { allPids, identify, type ProcessFilter, selectPids, treePids } from "./measure/select.ts";
export type {
  MappingList,
  MappingReport,
  MeasureOptions,
  Method,
  MethodChoice,
  ProcessReport,
  ProcessState,
} from "./measure/types.ts";
export type { Usage } from "./accounting/usage.ts";
export type { GroupFigures } from "./accounting/group.ts";
export type { KpagecountFile } from "./procfs/kpagecount.ts";
export type { PagemapFile } from "./procfs/pagemap.ts";
export type { Vma } from "./procfs/maps.ts";
export type { CgroupCharge, Hierarchy } from "./procfs/cgroup.ts";
export {
  figureOf,
  type FigureRow,
  figuresJson,
  type Measure,
  MEASURES,
} from "./report/measures.ts";
export type {
  Accounting,
  FilesResult,
  GroupsResult,
  MachineMemory,
  MappingsResult,
  ProcessesResult,
  ProcessRow,
  ResultBase,
  ViewResult,
} from "./report/result.ts";
export { type JsonObject, processJson, resultJson } from "./report/json.ts";
export {
  type MetricFamily,
  type MetricSample,
  renderMetrics,
  resultMetrics,
} from "./report/prometheus.ts";
