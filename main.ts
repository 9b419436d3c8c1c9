/**
 * `uss`: how much memory a process really owns.
 *
 * Run with `deno run -A main.ts [PID...]`, or `--proc-root DIR` with
 * `--allow-read=DIR,/etc/passwd` for a procfs mounted at DIR.
 *
 * @module
 */

import { run } from "./src/cli/run.ts";

if (import.meta.main) {
  Deno.exit(await run(Deno.args));
}
