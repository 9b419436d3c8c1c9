// Covers reportForError (src/measure/scan_process.ts): what a process that
// cannot be read is reported as. A refusal says "needs root" only when the tool
// lacks root's privileges; with them (root, or kpagecount open), the kernel's
// ptrace check refused that one process, and the message says so.

import assert from "node:assert/strict";
import { openContext } from "../../src/measure/context.ts";
import { reportForError } from "../../src/measure/scan_process.ts";
import { ProcError } from "../../src/procfs/files.ts";
import { IS_ROOT, runUss, runUssJson } from "../helpers.ts";

Deno.test({
  name: "a permission error: 'needs root' only when the tool is not root",
  ignore: !IS_ROOT,
  fn() {
    const error = new ProcError("permission", "/proc/1/maps");
    const exact = openContext();
    const kernel = openContext({ method: "smaps" });
    try {
      assert.notEqual(exact.kpagecount, null, "root opens kpagecount");
      assert.equal(kernel.kpagecount, null, "the smaps method does not");
      assert.equal(kernel.selfUid, 0, "the context knows the tool runs as root");
      for (const context of [exact, kernel]) {
        const privileged = reportForError(context, 1, error, null, 0);
        assert.equal(privileged.state, "permission-denied");
        assert.match(privileged.error!, /^permission denied even with root's privileges/);
      }
      // The same refusal seen by a tool running as another user.
      const plain = reportForError({ ...kernel, selfUid: 1000 }, 1, error, null, 0);
      assert.equal(plain.state, "permission-denied");
      assert.equal(plain.error, "permission denied: needs root or the same user");
    } finally {
      exact.close();
      kernel.close();
    }
  },
});

/** Whether the kernel refuses PID 1's maps to this (root) process, as in some sandboxes. */
function pid1Refused(): boolean {
  try {
    Deno.readFileSync("/proc/1/maps");
    return false;
  } catch (error) {
    return error instanceof Deno.errors.PermissionDenied;
  }
}

// Ignored, not passed, where no process refuses root: there is nothing real to check.
Deno.test({
  name: "a process the kernel refuses even to root (PID 1 of a sandbox): the privileged message",
  ignore: !IS_ROOT || !pid1Refused(),
  async fn() {
    const { code, json } = await runUssJson<{ state: string; error: string | null }[]>(["1"]);
    assert.equal(code, 1);
    assert.equal(json[0].state, "permission-denied");
    assert.match(json[0].error!, /^permission denied even with root's privileges/);
    // The listing's footer gives the same reason, with either method, and no
    // advice to run as root.
    for (const method of ["kpagecount", "smaps"]) {
      const { code: listed, stderr, stdout } = await runUss(["--method", method, "--limit", "1"]);
      assert.equal(listed, 0, stderr);
      assert.match(stdout, /not readable: permission denied even with root's privileges/);
      assert.doesNotMatch(stdout, /run as root|needs root/);
    }
  },
});
