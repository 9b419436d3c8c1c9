/**
 * User names from `/etc/passwd` (the one file outside procfs the tool reads, and
 * only when a view shows or filters by user).
 *
 * @module
 */

import { readProcText } from "./files.ts";

/** The password database path. */
export const PASSWD_PATH = "/etc/passwd";

/**
 * Parses passwd text into a map from UID to user name (first entry wins).
 *
 * @example
 * ```ts
 * import { parsePasswd } from "./users.ts";
 * parsePasswd("root:x:0:0:root:/root:/bin/sh\n").get(0); // "root"
 * ```
 */
export function parsePasswd(text: string): Map<number, string> {
  const users = new Map<number, string>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(":");
    const uid = Number(fields[2]);
    if (fields.length < 3 || fields[2] === "" || !Number.isInteger(uid)) continue;
    if (!users.has(uid)) users.set(uid, fields[0]);
  }
  return users;
}

/**
 * Reads `/etc/passwd`.
 *
 * @throws {ProcError} when it cannot be read (e.g. "sandbox" without --allow-read).
 */
export function readUsers(path = PASSWD_PATH): Map<number, string> {
  return parsePasswd(readProcText(path));
}
