// Covers parseStat, parseStatus and pageSizeFromAuxv (src/procfs/process_info.ts):
// command names with spaces and parentheses, the PF_KTHREAD flag (field 9), the
// start time (field 22), zombies (a real one too), kB → bytes in status, kernel
// threads without Vm* lines, synthetic and real auxv, and the real /proc/self files.

import assert from "node:assert/strict";
import { pageSizeFromAuxv, parseStat, parseStatus } from "../../src/procfs/process_info.ts";

const PF_KTHREAD = 0x0020_0000;

/**
 * Builds a 52-field `/proc/PID/stat` line as proc(5) lays it out. Fields not
 * given get distinct values (field N → N * 1000 + 7), so reading the wrong field
 * shows up as a wrong number.
 */
function statLine(fields: Record<number, string | number> & { 2: string }): string {
  const values: string[] = [];
  for (let n = 1; n <= 52; n++) {
    if (n === 2) values.push(`(${fields[2]})`);
    else values.push(String(fields[n] ?? n * 1000 + 7));
  }
  return values.join(" ") + "\n";
}

Deno.test("parseStat: pid, name, state, ppid, start time (field 22) and flags (field 9)", () => {
  const stat = parseStat(
    statLine({ 1: 4242, 2: "deno", 3: "S", 4: 17, 9: 0x0040_0100, 22: 987_654_321 }),
  );
  assert.deepEqual(stat, {
    pid: 4242,
    name: "deno",
    state: "S",
    ppid: 17,
    startTime: 987_654_321,
    kernelThread: false,
  });
});

Deno.test("parseStat: names with spaces and parentheses are taken whole", () => {
  const names = [
    "my (odd) name",
    "with space",
    "a) S 1 2 3 (b",
    ") R 9 9 (",
    "((",
    "))",
    "",
    " lead",
    "trail ",
  ];
  for (const name of names) {
    const stat = parseStat(statLine({ 1: 77, 2: name, 3: "R", 4: 5, 22: 123 }));
    assert.equal(stat.name, name, JSON.stringify(name));
    assert.equal(stat.pid, 77, name);
    assert.equal(stat.state, "R", name);
    assert.equal(stat.ppid, 5, name);
    assert.equal(stat.startTime, 123, name);
  }
});

Deno.test("parseStat: the kernel-thread flag is PF_KTHREAD (0x00200000) of field 9", () => {
  const kthread = (flags: number) =>
    parseStat(statLine({ 1: 2, 2: "kthreadd", 3: "S", 4: 0, 9: flags })).kernelThread;
  assert.equal(kthread(0x0020_8040), true); // kthreadd on this kernel
  assert.equal(kthread(PF_KTHREAD), true);
  assert.equal(kthread(0xffff_ffff), true);
  assert.equal(kthread(0x0040_0100), false); // a user process
  assert.equal(kthread((0xffff_ffff & ~PF_KTHREAD) >>> 0), false); // printed unsigned
  assert.equal(kthread(0), false);
});

Deno.test("parseStat: a zombie keeps its state letter Z", () => {
  const stat = parseStat(statLine({ 1: 999, 2: "defunct thing", 3: "Z", 4: 1, 9: 0x0040_410c }));
  assert.equal(stat.state, "Z");
  assert.equal(stat.name, "defunct thing");
  assert.equal(stat.kernelThread, false);
});

Deno.test("parseStat: large start times survive (a year of uptime at 100 Hz and beyond)", () => {
  for (const start of [0, 3_153_600_000, 2 ** 40 + 3]) {
    assert.equal(
      parseStat(statLine({ 1: 1, 2: "init", 3: "S", 4: 0, 22: start })).startTime,
      start,
    );
  }
});

Deno.test("parseStat: text that is not a stat line throws a SyntaxError", () => {
  for (const text of ["", "no parentheses here", "12 (x) S 1 2 3", "12 )x( S 1"]) {
    assert.throws(() => parseStat(text), SyntaxError, JSON.stringify(text));
  }
});

Deno.test("parseStat: the real /proc/self/stat describes this test process", () => {
  const stat = parseStat(Deno.readTextFileSync("/proc/self/stat"));
  assert.equal(stat.pid, Deno.pid);
  assert.equal(stat.ppid, Deno.ppid);
  assert.equal(stat.name, Deno.readTextFileSync("/proc/self/comm").replace(/\n$/, ""));
  assert.match(stat.state, /^[RSD]$/);
  assert.equal(stat.kernelThread, false);
  // Start time is in clock ticks (USER_HZ = 100 on x86_64) since boot.
  const uptime = Number(Deno.readTextFileSync("/proc/uptime").split(" ")[0]);
  assert.ok(stat.startTime > 0);
  assert.ok(stat.startTime <= Math.ceil(uptime * 100) + 1, `${stat.startTime} vs ${uptime}`);
  // The same process read twice keeps its start time (PID reuse detection).
  assert.equal(
    parseStat(Deno.readTextFileSync(`/proc/${Deno.pid}/stat`)).startTime,
    stat.startTime,
  );
});

Deno.test("parseStat: the real kthreadd (PID 2) is a kernel thread, this process is not", () => {
  const kthreadd = parseStat(Deno.readTextFileSync("/proc/2/stat"));
  assert.equal(kthreadd.name, "kthreadd");
  assert.equal(kthreadd.kernelThread, true);
  assert.equal(parseStat(Deno.readTextFileSync("/proc/1/stat")).kernelThread, false);
});

Deno.test("parseStat: a real zombie reads as state Z with its parent's PID", async () => {
  // /bin/true exits at once; its parent exec's `sleep`, which never reaps it.
  const child = new Deno.Command("sh", {
    args: ["-c", "/bin/true & exec sleep 30"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const deadline = Date.now() + 10_000;
    let zombiePid = 0;
    while (zombiePid === 0 && Date.now() < deadline) {
      const children = Deno.readTextFileSync(`/proc/${child.pid}/task/${child.pid}/children`)
        .trim();
      for (const pid of children === "" ? [] : children.split(" ").map(Number)) {
        const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
        if (parseStat(text).state === "Z") zombiePid = pid;
      }
      if (zombiePid === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(zombiePid > 0, "no zombie appeared");
    const stat = parseStat(Deno.readTextFileSync(`/proc/${zombiePid}/stat`));
    assert.equal(stat.pid, zombiePid);
    assert.equal(stat.state, "Z");
    assert.equal(stat.ppid, child.pid);
    assert.equal(stat.name, "true");
    assert.equal(stat.kernelThread, false);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
});

// ---- status ----

const USER_STATUS = [
  "Name:\tdeno",
  "Umask:\t0022",
  "State:\tS (sleeping)",
  "Tgid:\t4242",
  "Pid:\t4242",
  "PPid:\t17",
  "Uid:\t1000\t1000\t1000\t1000",
  "Gid:\t1000\t1000\t1000\t1000",
  "VmPeak:\t 17830128 kB",
  "VmSize:\t 17829104 kB",
  "VmLck:\t       0 kB",
  "VmHWM:\t   43212 kB",
  "VmRSS:\t   41000 kB",
  "RssAnon:\t   20000 kB",
  "RssFile:\t   21000 kB",
  "RssShmem:\t       0 kB",
  "VmData:\t  500000 kB",
  "VmSwap:\t     512 kB",
  "HugetlbPages:\t    4096 kB",
  "Threads:\t7",
  "",
].join("\n");

Deno.test("parseStatus: sizes in kB become bytes, the UID is read", () => {
  assert.deepEqual(parseStatus(USER_STATUS), {
    tgid: 4242,
    uid: 1000,
    virtual: 17_829_104 * 1024,
    rss: 41_000 * 1024,
    swap: 512 * 1024,
    hugetlb: 4096 * 1024,
  });
});

Deno.test("parseStatus: the owner is the effective UID, the second Uid column (as ps shows)", () => {
  // Uid: real, effective, saved set, filesystem. A setuid-root program run by 1000:
  const setuid = USER_STATUS.replace("Uid:\t1000\t1000\t1000\t1000", "Uid:\t1000\t0\t0\t0");
  assert.equal(parseStatus(setuid).uid, 0);
  // A root daemon that dropped its effective UID to 33:
  const dropped = USER_STATUS.replace("Uid:\t1000\t1000\t1000\t1000", "Uid:\t0\t33\t0\t33");
  assert.equal(parseStatus(dropped).uid, 33);
});

Deno.test("parseStatus: a kernel thread has no Vm* lines and reads as zero sizes", () => {
  const kthread = [
    "Name:\tkthreadd",
    "Umask:\t0000",
    "State:\tS (sleeping)",
    "Tgid:\t2",
    "Pid:\t2",
    "PPid:\t0",
    "Uid:\t0\t0\t0\t0",
    "Gid:\t0\t0\t0\t0",
    "Threads:\t1",
    "",
  ].join("\n");
  assert.deepEqual(parseStatus(kthread), {
    tgid: 2,
    uid: 0,
    virtual: 0,
    rss: 0,
    swap: 0,
    hugetlb: 0,
  });
  const real = parseStatus(Deno.readTextFileSync("/proc/2/status"));
  assert.equal(real.rss, 0);
  assert.equal(real.virtual, 0);
});

Deno.test("parseStatus: the real /proc/self/status matches a regex read of the same text", () => {
  const text = Deno.readTextFileSync("/proc/self/status");
  const kb = (key: string) => {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(text);
    assert.ok(match, key);
    return Number(match[1]) * 1024;
  };
  const status = parseStatus(text);
  assert.equal(status.uid, Number(/^Uid:\t\d+\t(\d+)\t/m.exec(text)?.[1]));
  assert.equal(status.uid, Deno.uid()); // no setuid here: real = effective
  assert.equal(status.virtual, kb("VmSize"));
  assert.equal(status.rss, kb("VmRSS"));
  assert.equal(status.swap, kb("VmSwap"));
  assert.equal(status.hugetlb, kb("HugetlbPages"));
  assert.ok(status.rss > 0 && status.rss <= status.virtual);
});

// ---- auxv ----

const AT_NULL = 0n;
const AT_PHDR = 3n;
const AT_PAGESZ = 6n;
const AT_CLKTCK = 17n;

/** An auxiliary vector of 64-bit (type, value) pairs, native little-endian. */
function auxv(pairs: [bigint, bigint][], padding = 0): Uint8Array {
  const bytes = new Uint8Array(padding + pairs.length * 16);
  const view = new DataView(bytes.buffer);
  pairs.forEach(([type, value], index) => {
    view.setBigUint64(padding + index * 16, type, true);
    view.setBigUint64(padding + index * 16 + 8, value, true);
  });
  return bytes.subarray(padding);
}

Deno.test("pageSizeFromAuxv: finds AT_PAGESZ among other entries", () => {
  for (const size of [4096n, 16384n, 65536n]) {
    const buffer = auxv([[AT_PHDR, 0x5555_5555_4040n], [AT_PAGESZ, size], [AT_CLKTCK, 100n], [
      AT_NULL,
      0n,
    ]]);
    assert.equal(pageSizeFromAuxv(buffer), Number(size));
  }
});

Deno.test("pageSizeFromAuxv: no AT_PAGESZ, or only after AT_NULL, gives null", () => {
  assert.equal(pageSizeFromAuxv(new Uint8Array(0)), null);
  assert.equal(pageSizeFromAuxv(auxv([[AT_PHDR, 6n], [AT_CLKTCK, 6n], [AT_NULL, 0n]])), null);
  assert.equal(
    pageSizeFromAuxv(auxv([[AT_CLKTCK, 100n], [AT_NULL, 0n], [AT_PAGESZ, 4096n]])),
    null,
  );
});

Deno.test("pageSizeFromAuxv: a type whose high word is set is not AT_PAGESZ", () => {
  const buffer = auxv([[AT_PAGESZ + (1n << 32n), 8192n], [AT_PAGESZ, 4096n], [AT_NULL, 0n]]);
  assert.equal(pageSizeFromAuxv(buffer), 4096);
});

Deno.test("pageSizeFromAuxv: works on a view at an offset and ignores a trailing partial entry", () => {
  const buffer = auxv([[AT_CLKTCK, 100n], [AT_PAGESZ, 16384n], [AT_NULL, 0n]], 24);
  assert.equal(buffer.byteOffset, 24);
  assert.equal(pageSizeFromAuxv(buffer), 16384);
  const truncated = auxv([[AT_CLKTCK, 100n], [AT_PAGESZ, 4096n]]).subarray(0, 16 + 12);
  assert.equal(pageSizeFromAuxv(truncated), null);
});

Deno.test("pageSizeFromAuxv: the real /proc/self/auxv gives 4096 on x86_64", () => {
  assert.equal(Deno.build.arch, "x86_64");
  assert.equal(pageSizeFromAuxv(Deno.readFileSync("/proc/self/auxv")), 4096);
});

Deno.test("parseStatus: the thread group ID names the process a thread belongs to", () => {
  const thread = USER_STATUS.replace("Pid:\t4242", "Pid:\t4250");
  assert.equal(parseStatus(thread).tgid, 4242);
});

Deno.test("parseStatus and parseStat: a value that is not a number fails, naming it", () => {
  assert.throws(
    () => parseStatus(USER_STATUS.replace("Uid:\t1000\t1000", "Uid:\tabc\tabc")),
    /status Uid \(effective\) is not a whole number: "abc"/,
  );
  assert.throws(
    () => parseStatus(USER_STATUS.replace("VmRSS:\t   41000 kB", "VmRSS:\t9999999999999999999 kB")),
    /status VmRSS is not a size in kB/,
  );
  assert.throws(() => parseStatus("Name:\tx\n"), /no Uid line/);
  assert.throws(
    () => parseStat(statLine({ 1: 2, 2: "x", 3: "S", 4: "-1", 9: 0 })),
    /stat ppid is not a whole number/,
  );
});
