/**
 * Exit codes of the `uss` command (documented in the README).
 *
 * @module
 */

/** Every requested process was measured. */
export const EXIT_OK = 0;
/** At least one requested process could not be measured (its row says why). */
export const EXIT_PARTIAL = 1;
/** Bad command line: unknown option, invalid PID, … */
export const EXIT_USAGE = 2;
/** Measuring is impossible here: no procfs, the Deno sandbox refuses it, forced method unavailable. */
export const EXIT_ENVIRONMENT = 3;
/** A bug in uss: please report it. */
export const EXIT_INTERNAL = 4;
/** The output could not be written (a full disk, a closed pipe). */
export const EXIT_OUTPUT = 5;
