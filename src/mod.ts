/**
 * `uss` as a library: measure how much memory processes really own.
 *
 * @example
 * ```ts
 * import { measureProcesses } from "@uss/uss";
 * const [report] = await measureProcesses([1234]);
 * if (report.usage) console.log(report.usage.uss, report.method);
 * else console.log(report.error);
 * ```
 *
 * @example Exact figures of a group (the memory its processes share only among themselves counts)
 * ```ts
 * import { measure, openContext } from "@uss/uss";
 * const context = openContext();
 * try {
 *   const pids = [100, 101, 102];
 *   const { groups: [group] } = await measure(context, pids, {
 *     groups: [{ name: "workers", pids }],
 *   });
 *   console.log(group.usage.uss, group.ussSum, group.exact);
 * } finally {
 *   context.close();
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
  type FileReport,
  type GroupReport,
  type GroupSpec,
  groupSpecsBy,
  type ProcessIdentity,
  usageByFile,
} from "./measure/aggregate.ts";
export { allPids, identify, type ProcessFilter, selectPids, treePids } from "./measure/select.ts";
export type {
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
export { type Measure, MEASURES, usageJson } from "./report/measures.ts";
export type {
  Accounting,
  FilesResult,
  GroupsResult,
  MachineMemory,
  MappingsResult,
  ProcessesResult,
  ProcessRow,
  ViewResult,
} from "./report/result.ts";
export { processJson, resultJson } from "./report/json.ts";
export { renderMetrics, resultMetrics } from "./report/prometheus.ts";
