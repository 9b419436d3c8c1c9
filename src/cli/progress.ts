/**
 * Progress of long scans on stderr, only when stderr is a terminal: pipes, files
 * and JSON consumers never see it.
 *
 * @module
 */

/** Show progress only for scans that take longer than this (ms). */
const QUIET_MS = 300;
/** Redraw at most this often (ms). */
const REDRAW_MS = 100;

const encoder = new TextEncoder();

function write(text: string): void {
  try {
    Deno.stderr.writeSync(encoder.encode(text));
  } catch { /* progress is best effort */ }
}

/**
 * A progress callback for `measure`, or undefined when stderr is not a terminal.
 * The line is erased when the scan completes.
 *
 * @example
 * ```ts
 * import { openContext } from "../measure/context.ts";
 * import { measure } from "../measure/measure.ts";
 * import { progressReporter } from "./progress.ts";
 * const context = openContext();
 * try {
 *   await measure(context, [Deno.pid], { onProgress: progressReporter() });
 * } finally {
 *   context.close();
 * }
 * ```
 */
export function progressReporter(): ((scanned: number, total: number) => void) | undefined {
  if (!Deno.stderr.isTerminal()) return undefined;
  const started = performance.now();
  let drawn = 0;
  let visible = false;
  return (scanned, total) => {
    const now = performance.now();
    if (scanned === total) {
      if (visible) write("\r\x1b[K");
      visible = false;
      return;
    }
    if (now - started < QUIET_MS || now - drawn < REDRAW_MS) return;
    drawn = now;
    visible = true;
    write(`\r\x1b[Kuss: scanned ${scanned}/${total} processes`);
  };
}
