/**
 * Watch mode (`--watch SECONDS [--count N]`): the same view measured again and
 * again through one open context. On a terminal the table is redrawn in place,
 * with the change of the watched figure since the last sample and since the
 * first; otherwise each sample is one JSON object on its own line (NDJSON) with
 * a timestamp and the same keys plus deltas. Ctrl-C (or SIGTERM) ends it
 * cleanly, between samples or during the wait.
 *
 * @module
 */

import type { Usage } from "../accounting/usage.ts";
import { measureNamed } from "../report/measures.ts";
import type { ViewResult } from "../report/result.ts";
import { renderResultTable } from "../report/table.ts";
import { EXIT_OK } from "./exit_codes.ts";
import { printErr, printOut, writeOut } from "./output.ts";
import { changes, type History, keyedRows, sampleJson } from "./render.ts";
import { collectGarbage } from "./heap.ts";
import type { Session, View } from "./views.ts";

/** Clears the screen and moves the cursor home. */
const REDRAW = "\x1b[H\x1b[2J";
const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";

function remember(result: ViewResult, into: Map<string, Usage>): void {
  into.clear();
  for (const { key, figures } of keyedRows(result)) if (figures.usage) into.set(key, figures.usage);
}

/**
 * Runs `view` every `session.options.watch` seconds until `--count` samples or
 * a signal, printing each sample.
 *
 * @returns the exit code of the last sample (0 when stopped by a signal).
 */
export async function watch(session: Session, view: View): Promise<number> {
  const { options } = session;
  const seconds = options.watch!;
  const terminal = options.format === "table" && Deno.stdout.isTerminal();
  const watched = measureNamed(options.sort ?? "uss") ?? measureNamed("uss")!;
  const watchedId = watched.json;
  let stopping = false;
  let wake: (() => void) | null = null;
  const stop = () => {
    stopping = true;
    wake?.();
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  const history: History = { first: new Map(), last: new Map() };
  let exitCode = EXIT_OK;
  try {
    if (terminal) writeOut(HIDE_CURSOR);
    for (
      let sample = 1;
      !stopping && (options.count === null || sample <= options.count);
      sample++
    ) {
      const started = performance.now();
      const result = await view(session);
      if (stopping) break;
      exitCode = result.exitCode;
      if (terminal) {
        const table = renderResultTable(result, {
          bytes: options.bytes,
          columns: options.columns,
          change: sample > 1 ? changes(result, history, watched) : undefined,
          watched: watchedId,
        });
        const when = new Date().toLocaleTimeString();
        writeOut(
          `${REDRAW}uss: sample ${sample}${
            options.count ? ` of ${options.count}` : ""
          } at ${when}, ` +
            `every ${seconds} s; +LAST/+START: change of ${watchedId.toUpperCase()} since the ` +
            `last / first sample (Ctrl-C ends)\n${table}\n`,
        );
        for (const note of [...session.notes.splice(0), ...result.notes]) printErr(`uss: ${note}`);
      } else {
        printOut(JSON.stringify(sampleJson(result, sample, sample > 1 ? history : null)));
      }
      if (sample === 1) remember(result, history.first);
      remember(result, history.last);
      if (options.count !== null && sample >= options.count) break;
      collectGarbage();
      const wait = seconds * 1000 - (performance.now() - started);
      if (wait > 0 && !stopping) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
      }
    }
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
    if (terminal) writeOut(SHOW_CURSOR);
  }
  return stopping ? EXIT_OK : exitCode;
}
