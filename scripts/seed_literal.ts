/**
 * The literal algorithm of the original assignment, kept as the benchmark's
 * baseline: for every page of every mapping, one seek+read of its 8-byte
 * pagemap entry; for every present page, one seek+read of its 8-byte
 * kpagecount; USS is the pages whose count is 1. Deliberately naive (one read
 * per page, no zero-page or double-mapping rules): do not "fix" it, it is the
 * yardstick `uss` is measured against.
 *
 * Usage: `deno run -A scripts/seed_literal.ts PID` (root); prints the USS in bytes.
 *
 * @module
 */

const PAGE_SIZE = 4096;
const PRESENT_BIT = 0x8000_0000; // bit 63, in the high 32-bit word
const PFN_HIGH_MASK = 0x007f_ffff; // bits 32-54
const TWO_32 = 0x1_0000_0000;

/** Reads exactly `buffer.length` bytes at `offset`; false when the file has none there. */
function readAt(file: Deno.FsFile, offset: number, buffer: Uint8Array): boolean {
  file.seekSync(offset, Deno.SeekMode.Start);
  let got = 0;
  while (got < buffer.length) {
    const n = file.readSync(buffer.subarray(got));
    if (n === null || n === 0) return false;
    got += n;
  }
  return true;
}

function ussOf(pid: number): number {
  const maps = Deno.readTextFileSync(`/proc/${pid}/maps`);
  const pagemap = Deno.openSync(`/proc/${pid}/pagemap`);
  const kpagecount = Deno.openSync("/proc/kpagecount");
  const entry = new Uint8Array(8);
  const view = new DataView(entry.buffer);
  let uniquePages = 0;
  try {
    for (const line of maps.split("\n")) {
      if (line === "") continue;
      const range = line.slice(0, line.indexOf(" "));
      const dash = range.indexOf("-");
      const start = parseInt(range.slice(0, dash), 16) / PAGE_SIZE;
      const end = parseInt(range.slice(dash + 1), 16) / PAGE_SIZE;
      for (let page = start; page < end; page++) {
        // [vsyscall] lies above the task size: pagemap has no entries there.
        if (!readAt(pagemap, page * 8, entry)) break;
        const high = view.getUint32(4, true);
        if ((high & PRESENT_BIT) === 0) continue;
        const pfn = (high & PFN_HIGH_MASK) * TWO_32 + view.getUint32(0, true);
        if (!readAt(kpagecount, pfn * 8, entry)) continue;
        if (view.getUint32(0, true) === 1 && view.getUint32(4, true) === 0) uniquePages++;
      }
    }
  } finally {
    pagemap.close();
    kpagecount.close();
  }
  return uniquePages * PAGE_SIZE;
}

if (import.meta.main) {
  const pid = Number(Deno.args[0]);
  if (Deno.args.length !== 1 || !Number.isInteger(pid) || pid < 1) {
    console.error("usage: seed_literal.ts PID");
    Deno.exit(2);
  }
  console.log(ussOf(pid));
}
