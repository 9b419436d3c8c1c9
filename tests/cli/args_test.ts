// Covers parsePid and parseCli (src/cli/args.ts): valid PIDs, non-numeric, zero,
// negative, out of range (Linux hands out PIDs below PID_MAX_LIMIT = 4194304),
// unknown options, bad --method, the `maps` subcommand's single PID, and that
// every failure is a UsageError with a one-line message.

import assert from "node:assert/strict";
import { parseCli, parsePid, UsageError } from "../../src/cli/args.ts";

/** Asserts `body` throws a UsageError with a non-empty, one-line message; returns it. */
function usageError(body: () => unknown, label: string): string {
  let caught: unknown;
  try {
    body();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof UsageError, `${label}: expected a UsageError, got ${caught}`);
  assert.equal(caught.name, "UsageError");
  assert.ok(caught.message.length > 0, `${label}: empty message`);
  assert.ok(!/[\r\n]/.test(caught.message), `${label}: multi-line ${caught.message}`);
  return caught.message;
}

Deno.test("parsePid: decimal PIDs from 1 up to the largest Linux PID", () => {
  assert.equal(parsePid("1"), 1);
  assert.equal(parsePid("1234"), 1234);
  assert.equal(parsePid("32768"), 32768);
  assert.equal(parsePid("4194303"), 4_194_303); // PID_MAX_LIMIT - 1 on 64-bit
});

Deno.test("parsePid: non-numeric text is a UsageError naming the argument", () => {
  for (const text of ["", "abc", "12a", "1.5", "1e3", "0x10", "+5", " 1", "1 ", "١٢"]) {
    const message = usageError(() => parsePid(text), JSON.stringify(text));
    if (text !== "") assert.ok(message.includes(text), message);
  }
});

Deno.test("parsePid: zero, negative and above 4194304 are UsageErrors", () => {
  for (const text of ["0", "00", "-5", "-0", "4194305", "99999999999999999999"]) {
    usageError(() => parsePid(text), text);
  }
});

Deno.test("parseCli: no arguments measures every process with the defaults", () => {
  const options = parseCli([]);
  assert.equal(options.command, "processes");
  assert.deepEqual(options.pids, []);
  assert.equal(options.format, "table");
  assert.equal(options.bytes, false);
  assert.equal(options.method, "auto");
  assert.equal(options.procRoot, "/proc");
});

Deno.test("parseCli: PIDs and flags in any order", () => {
  const options = parseCli(["12", "--json", "34", "--bytes", "--method", "smaps", "56"]);
  assert.equal(options.command, "processes");
  assert.deepEqual(options.pids, [12, 34, 56]);
  assert.equal(options.format, "json");
  assert.equal(options.bytes, true);
  assert.equal(options.method, "smaps");
});

Deno.test("parseCli: --method takes auto, kpagecount or smaps, also as --method=VALUE", () => {
  for (const method of ["auto", "kpagecount", "smaps"]) {
    assert.equal(parseCli(["--method", method]).method, method);
    assert.equal(parseCli([`--method=${method}`]).method, method);
  }
  assert.equal(parseCli(["--proc-root", "/host/proc"]).procRoot, "/host/proc");
});

Deno.test("parseCli: a bad --method is a UsageError naming the value", () => {
  for (const argv of [["--method", "magic"], ["--method=KPAGECOUNT"], ["--method="]]) {
    const message = usageError(() => parseCli(argv), argv.join(" "));
    assert.match(message, /method/);
  }
  assert.ok(usageError(() => parseCli(["--method", "magic"]), "magic").includes("magic"));
});

Deno.test("parseCli: --method or --proc-root without a value is a UsageError", () => {
  usageError(() => parseCli(["--method"]), "--method");
  usageError(() => parseCli(["1", "--proc-root"]), "--proc-root");
  usageError(() => parseCli(["--proc-root", ""]), "--proc-root ''");
});

Deno.test("parseCli: unknown options are UsageErrors naming the option", () => {
  for (const option of ["--frobnicate", "-x", "--JSON", "--jsonx", "-hV", "---json"]) {
    const message = usageError(() => parseCli([option, "1"]), option);
    assert.ok(message.includes(option), `${option}: ${message}`);
  }
});

Deno.test("parseCli: a value given to a flag is a UsageError", () => {
  usageError(() => parseCli(["--json=yes"]), "--json=yes");
});

Deno.test("parseCli: a negative PID is a bad PID, not an unknown option", () => {
  for (const argv of [["-5"], ["1", "-5"], ["maps", "-5"], ["--json", "-42"]]) {
    const message = usageError(() => parseCli(argv), argv.join(" "));
    assert.match(message, /PID/, message);
    assert.match(message, /-[0-9]+/, message);
  }
});

Deno.test("parseCli: zero, non-numeric and too large PIDs are UsageErrors", () => {
  for (const pid of ["0", "abc", "4194305", "12abc", "1.0"]) {
    usageError(() => parseCli([pid]), pid);
    usageError(() => parseCli(["1", pid]), `1 ${pid}`);
  }
});

Deno.test("parseCli: maps takes exactly one PID", () => {
  const options = parseCli(["maps", "4242"]);
  assert.equal(options.command, "maps");
  assert.deepEqual(options.pids, [4242]);
  assert.equal(parseCli(["maps", "--json", "7"]).command, "maps");
  assert.equal(parseCli(["--bytes", "maps", "7"]).format, "table");
  usageError(() => parseCli(["maps"]), "maps");
  usageError(() => parseCli(["maps", "1", "2"]), "maps 1 2");
  usageError(() => parseCli(["maps", "abc"]), "maps abc");
  usageError(() => parseCli(["maps", "0"]), "maps 0");
});

Deno.test("parseCli: -h/--help and -V/--version select their commands", () => {
  assert.equal(parseCli(["-h"]).command, "help");
  assert.equal(parseCli(["--help"]).command, "help");
  assert.equal(parseCli(["-V"]).command, "version");
  assert.equal(parseCli(["--version"]).command, "version");
});

Deno.test("parseCli: after --, arguments are positionals", () => {
  assert.deepEqual(parseCli(["--", "12"]).pids, [12]);
  usageError(() => parseCli(["--", "--json"]), "-- --json");
});

Deno.test("parseCli: serve and report take --by and filters, not the views' output options", () => {
  for (const command of ["serve", "report"]) {
    for (
      const extra of [
        ["--limit", "3"],
        ["--sort", "pss"],
        ["--reverse"],
        ["-c", "pid"],
        ["--bytes"],
        [
          "--format",
          "csv",
        ],
        ["--tree", "1"],
        ["--watch", "1"],
      ]
    ) {
      const message = usageError(() => parseCli([command, ...extra]), `${command} ${extra}`);
      assert.match(message, new RegExp(`^uss ${command} takes --by and filters, not --`));
    }
    // Filters and --by stay.
    parseCli([command, "--by", "user", "--user", "root", "--name", "x"]);
  }
});
