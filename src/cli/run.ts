/**
 * The `uss` command: parse, measure, render, and map every failure to an exit
 * code and one line on stderr. No stack trace reaches the user.
 *
 * @module
 */

import denoConfig from "../../deno.json" with { type: "json" };
import { EnvironmentError, openContext } from "../measure/context.ts";
import { ColumnError } from "../report/columns.ts";
import { helpText, parseCli, UsageError } from "./args.ts";
import { EXIT_ENVIRONMENT, EXIT_INTERNAL, EXIT_OK, EXIT_OUTPUT, EXIT_USAGE } from "./exit_codes.ts";
import { OutputError, printErr, printOut, printPieces } from "./output.ts";
import { renderResult } from "./render.ts";
import { chooseView, openSession, ViewError } from "./views.ts";

// The exporter, the report and watch mode are loaded when asked for: a one-off
// `uss PID` should not pay for their modules (node:v8 alone adds ~15 ms and
// 9 MiB to start-up).

/** `first`, then what is left of `rest`. */
function* resumed(first: string, rest: Iterable<string>): Generator<string> {
  yield first;
  yield* rest;
}

/**
 * Runs the command with `argv` (without the program name).
 *
 * @returns the exit code (see `exit_codes.ts`).
 * @example
 * ```ts
 * import { run } from "./run.ts";
 * await run(["--version"]); // 0, after printing "uss 0.x.y"
 * ```
 */
export async function run(argv: string[]): Promise<number> {
  try {
    const options = parseCli(argv);
    if (options.command === "help") {
      printOut(helpText());
      return EXIT_OK;
    }
    if (options.command === "version") {
      printOut(`uss ${denoConfig.version}`);
      return EXIT_OK;
    }
    const context = openContext({
      procRoot: options.procRoot,
      method: options.method,
      jobs: options.jobs ?? undefined,
    });
    try {
      const session = openSession(context, options);
      if (options.command === "serve") {
        const { serve } = await import("./serve.ts");
        return await serve(session);
      }
      if (options.command === "report") {
        const { report } = await import("./report.ts");
        const { exitCode, notes } = await report(session);
        for (const note of [...session.notes, ...notes]) printErr(`uss: ${note}`);
        return exitCode;
      }
      const view = chooseView(options);
      if (options.watch !== null) {
        const { watch } = await import("./watch.ts");
        return await watch(session, view);
      }
      const result = await view(session);
      const pieces = renderResult(result, options);
      // The first piece is made before any note is printed: a bad --columns fails there.
      const first = pieces.next();
      if (options.format === "table") {
        for (const note of [...session.notes, ...result.notes]) printErr(`uss: ${note}`);
      }
      if (!first.done) printPieces(resumed(first.value, pieces));
      return result.exitCode;
    } finally {
      context.close();
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof ColumnError) {
      printErr(`uss: ${error.message} (see uss --help)`);
      return EXIT_USAGE;
    }
    if (error instanceof EnvironmentError) {
      printErr(`uss: ${error.message}`);
      return EXIT_ENVIRONMENT;
    }
    if (error instanceof ViewError) {
      printErr(`uss: ${error.message}`);
      return error.exitCode;
    }
    if (error instanceof OutputError) {
      printErr(`uss: ${error.message}`);
      return EXIT_OUTPUT;
    }
    const message = error instanceof Error ? error.message : String(error);
    printErr(`uss: internal error: ${message} (please report this)`);
    return EXIT_INTERNAL;
  }
}
