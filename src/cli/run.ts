/**
 * The `uss` command: parse, measure, render, and map every failure to an exit
 * code and one line on stderr. No stack trace reaches the user.
 *
 * @module
 */

import denoConfig from "../../deno.json" with { type: "json" };
import { EnvironmentError, type MeasureContext, openContext } from "../measure/context.ts";
import { measureWithContext } from "../measure/measure.ts";
import { listPids } from "../procfs/pids.ts";
import { ProcError } from "../procfs/files.ts";
import { mappingsToJson, renderMappingTable } from "../report/mappings.ts";
import { processToJson, renderProcessTable } from "../report/processes.ts";
import { type CliOptions, HELP, parseCli, UsageError } from "./args.ts";
import {
  EXIT_ENVIRONMENT,
  EXIT_INTERNAL,
  EXIT_OK,
  EXIT_PARTIAL,
  EXIT_USAGE,
} from "./exit_codes.ts";
import { printErr, printOut } from "./output.ts";

function fallbackNote(context: MeasureContext): string {
  return `uss: note: ${context.fallbackReason}; figures come from the kernel's smaps (method smaps); run as root for exact ones`;
}

async function measureGiven(context: MeasureContext, options: CliOptions): Promise<number> {
  const pids = [...new Set(options.pids)];
  const reports = await measureWithContext(context, pids);
  if (options.json) printOut(JSON.stringify(reports.map(processToJson), null, 2));
  else printOut(renderProcessTable(reports, { bytes: options.bytes, total: pids.length > 1 }));
  return reports.every((report) => report.state === "ok") ? EXIT_OK : EXIT_PARTIAL;
}

async function measureMappings(
  context: MeasureContext,
  options: CliOptions,
): Promise<number> {
  const [report] = await measureWithContext(context, options.pids, true);
  if (options.json) printOut(JSON.stringify(mappingsToJson(report), null, 2));
  else if (report.state === "ok") printOut(renderMappingTable(report, { bytes: options.bytes }));
  else printErr(`uss: ${report.pid}: ${report.error}`);
  return report.state === "ok" ? EXIT_OK : EXIT_PARTIAL;
}

async function measureAll(context: MeasureContext, options: CliOptions): Promise<number> {
  let pids: number[];
  try {
    pids = listPids(context.procRoot);
  } catch (error) {
    if (error instanceof ProcError) throw new EnvironmentError(error.message);
    throw error;
  }
  const reports = await measureWithContext(context, pids);
  const measured = reports
    .filter((report) => report.state === "ok")
    .sort((a, b) => b.usage!.uss - a.usage!.uss || a.pid - b.pid);
  const unreadable = reports.filter((report) => report.state === "permission-denied");
  if (options.json) {
    printOut(JSON.stringify(measured.map(processToJson), null, 2));
    return EXIT_OK;
  }
  printOut(renderProcessTable(measured, { bytes: options.bytes, total: true }));
  if (unreadable.length > 0) {
    printOut(`${unreadable.length} processes not readable: run as root or as their user`);
  }
  return EXIT_OK;
}

/**
 * Runs the command with `argv` (without the program name).
 *
 * @returns the exit code (see `exit_codes.ts`).
 * @example
 * ```ts
 * Deno.exit(await run(Deno.args));
 * ```
 */
export async function run(argv: string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseCli(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    printErr(`uss: ${error.message} (see uss --help)`);
    return EXIT_USAGE;
  }
  if (options.command === "help") {
    printOut(HELP);
    return EXIT_OK;
  }
  if (options.command === "version") {
    printOut(`uss ${denoConfig.version}`);
    return EXIT_OK;
  }
  try {
    const context = openContext({ procRoot: options.procRoot, method: options.method });
    try {
      if (context.fallbackReason && !options.json) printErr(fallbackNote(context));
      return options.command === "maps"
        ? await measureMappings(context, options)
        : options.pids.length > 0
        ? await measureGiven(context, options)
        : await measureAll(context, options);
    } finally {
      context.close();
    }
  } catch (error) {
    if (error instanceof EnvironmentError) {
      printErr(`uss: ${error.message}`);
      return EXIT_ENVIRONMENT;
    }
    const message = error instanceof Error ? error.message : String(error);
    printErr(`uss: internal error: ${message.split("\n")[0]} (please report this)`);
    return EXIT_INTERNAL;
  }
}
