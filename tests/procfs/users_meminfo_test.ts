// Covers parsePasswd (src/procfs/users.ts) and parseMeminfo/usedMemory
// (src/procfs/meminfo.ts), on recorded text and on this machine's real files.

import assert from "node:assert/strict";
import { parseMeminfo, readMeminfo, usedMemory } from "../../src/procfs/meminfo.ts";
import { parsePasswd, readUsers } from "../../src/procfs/users.ts";

Deno.test("parsePasswd: UID to name, first entry wins, comments and junk skipped", () => {
  const users = parsePasswd(
    "# comment\nroot:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/:/sbin/nologin\n" +
      "broken-line\ntoor:x:0:0::/:/bin/sh\nbad:x:notanumber:0::/:/bin/sh\n",
  );
  assert.equal(users.get(0), "root");
  assert.equal(users.get(65534), "nobody");
  assert.equal(users.size, 2);
});

Deno.test("readUsers: the real /etc/passwd names root", () => {
  assert.equal(readUsers().get(0), "root");
});

Deno.test("parseMeminfo: kB to bytes; used memory as free(1) counts it", () => {
  const info = parseMeminfo(
    "MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    600 kB\n" +
      "Buffers:          50 kB\nCached:          300 kB\nSReclaimable:     20 kB\n" +
      "SwapTotal:       500 kB\nSwapFree:        380 kB\n",
  );
  assert.equal(info.total, 1000 * 1024);
  assert.equal(info.available, 600 * 1024);
  assert.equal(info.swapUsed, (500 - 380) * 1024, "swap in use: total - free");
  // procps 4's free(1): used = total - available (buffers and cache are not "used").
  assert.equal(usedMemory(info), (1000 - 600) * 1024);
});

Deno.test("readMeminfo: the real /proc/meminfo is consistent", () => {
  const info = readMeminfo("/proc");
  assert.ok(info.total > 0);
  assert.ok(info.available <= info.total);
  assert.ok(usedMemory(info) > 0 && usedMemory(info) < info.total);
});
