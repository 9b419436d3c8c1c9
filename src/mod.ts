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
 * @module
 */

export { measureProcesses, measureWithContext } from "./measure/measure.ts";
export { EnvironmentError, type MeasureContext, openContext } from "./measure/context.ts";
export type {
  MappingReport,
  MeasureOptions,
  Method,
  MethodChoice,
  ProcessReport,
  ProcessState,
} from "./measure/types.ts";
export type { Usage } from "./accounting/usage.ts";
export type { Vma } from "./procfs/maps.ts";
export { type ProcessJson, processToJson } from "./report/processes.ts";
