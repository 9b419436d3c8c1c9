/**
 * The `uss` command: parse, measure, render, and map every failure to an exit
 * code and one line on stderr. No stack trace reaches the user.
 *
 * @module
 */

import denoConfig from "../../deno.json" with { type: "json" };
import { EnvironmentError, type MeasureContext, openContext } from "../measure/context.ts";
import { type CliOptions, HELP, parseCli, UsageError } from "./args.ts";
import { EXIT_ENVIRONMENT, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE } from "./exit_codes.ts";
import { printErr, printOut } from "./output.ts";
import { fileView, givenView, groupByView, listingView, mapsView, oneGroupView } from "./views.ts";

function fallbackNote(context: MeasureContext): string {
  return `uss: note: ${context.fallbackReason}; figures come from the kernel's smaps (method smaps); run as root for exact ones`;
}

function view(options: CliOptions) {
  if (options.command === "maps") return mapsView;
  if (options.pids.length > 0) return givenView;
  if (options.tree !== null || options.group !== null) return oneGroupView;
  if (options.by === "file") return fileView;
  if (options.by !== null) return groupByView;
  return listingView;
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
    const context = openContext({
      procRoot: options.procRoot,
      method: options.method,
      jobs: options.jobs ?? undefined,
    });
    try {
      if (context.fallbackReason && !options.json) printErr(fallbackNote(context));
      return await view(options)(context, options);
    } finally {
      context.close();
    }
  } catch (error) {
    if (error instanceof UsageError) {
      printErr(`uss: ${error.message} (see uss --help)`);
      return EXIT_USAGE;
    }
    if (error instanceof EnvironmentError) {
      printErr(`uss: ${error.message}`);
      return EXIT_ENVIRONMENT;
    }
    const message = error instanceof Error ? error.message : String(error);
    printErr(`uss: internal error: ${message.split("\n")[0]} (please report this)`);
    return EXIT_INTERNAL;
  }
}
