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
 * import { buildGroups, measure, openContext } from "@uss/uss";
 * const context = openContext();
 * try {
 *   const measurement = measure(context, [100, 101, 102]);
 *   const [group] = buildGroups(measurement, [{ name: "workers", pids: [100, 101, 102] }]);
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
  measureWithContext,
} from "./measure/measure.ts";
export { EnvironmentError, type MeasureContext, openContext } from "./measure/context.ts";
export {
  buildGroups,
  type FileReport,
  type GroupReport,
  type GroupSpec,
  groupSpecsBy,
  usageByFile,
} from "./measure/aggregate.ts";
export { allPids, type ProcessFilter, selectPids, treePids } from "./measure/select.ts";
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
export type { Vma } from "./procfs/maps.ts";
export { type NullableUsage, type ProcessJson, processToJson } from "./report/processes.ts";
export type { UsageJson } from "./report/usage_columns.ts";
