/**
 * `deno task bench:loops`: uss's hot loops alone, on real data. Whole runs
 * (`bench:all`) vary by ±10% on a 2-core VM, which hides any change to the
 * per-entry JavaScript; this replays the same entries through those loops on
 * the main thread only, where a 10% change shows.
 *
 * It starts the copy-on-write workload (scripts/cow_workload.py: a parent and
 * its children sharing most of 2 GiB, as `bench:all`'s "cow" shape), stops it,
 * reads every process's pagemap once into memory (2 MiB per GiB mapped) and
 * the kpagecount of every frame referenced, then times, round after round:
 *
 * - the scan (`scanPagemapEntries`, marking the frames whose count is still
 *   unknown: here none, as in every process after the first one in a run);
 * - the accounting of each process alone (`accountRefs`, as `uss` lists them);
 * - the accounting of all of them as one group (as `uss --by name`);
 * - a floor: over the same references, only what any accounting must do (load
 *   the frame's count, test and set a bit for "already seen in this process",
 *   add to PSS).
 *
 * Prints nanoseconds per entry and per reference (medians of the rounds) and
 * each accounting's ratio to the floor, side by side in one run.
 *
 * Usage: `deno task bench:loops [--children N] [--mib N] [--rounds N]` (as root).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { renderTable } from "../src/report/format.ts";
import {
  accountRefs,
  beginGroup,
  beginProcess,
  COUNT_BASE,
  createFrameTable,
  createProcessAccount,
} from "../src/accounting/frame_table.ts";
import {
  clearFrameRefs,
  createFrameRefs,
  createScanTally,
  scanPagemapEntries,
  type ScanTarget,
} from "../src/accounting/pagemap_scan.ts";
import { CHUNK_PAGES } from "../src/measure/scan_process.ts";
import { createCountReader, createSelfFrames, fetchCounts } from "../src/measure/frame_counts.ts";
import { openKpagecount } from "../src/procfs/kpagecount.ts";
import { readMaps } from "../src/procfs/maps.ts";
import { openPagemap, readPagemap } from "../src/procfs/pagemap.ts";
import {
  createCleanup,
  lacksRoot,
  machineLines,
  median,
  REPO_ROOT,
  startWorkload,
  stopWorkload,
  waitStopped,
} from "./bench_lib.ts";

const COW_WORKLOAD = `${REPO_ROOT}/scripts/cow_workload.py`;
const PAGE_SIZE = 4096;
/** Pages one PMD maps with 4 KiB pages: the scan's THP check looks at such blocks. */
const PMD_PAGES = 512;

/** Entries of one read, as the tool reads them: never across a multiple of CHUNK_PAGES. */
interface Chunk {
  words: Int32Array;
  firstPage: number;
}

/** Every mapping's pagemap of `pid`, in chunks (mappings the kernel refuses are left out). */
function readEntries(pid: number): Chunk[] {
  const chunks: Chunk[] = [];
  const pagemap = openPagemap("/proc", pid);
  try {
    for (const vma of readMaps("/proc", pid, PAGE_SIZE)) {
      for (let page = vma.startPage; page < vma.endPage;) {
        const end = Math.min(vma.endPage, (Math.floor(page / CHUNK_PAGES) + 1) * CHUNK_PAGES);
        const buffer = new Uint8Array((end - page) * 8);
        let entries = 0;
        try {
          entries = readPagemap(pagemap, page, buffer);
        } catch {
          break; // [vsyscall] and the like
        }
        if (entries > 0) {
          chunks.push({ words: new Int32Array(buffer.buffer, 0, entries * 2), firstPage: page });
        }
        page = end;
      }
    }
  } finally {
    pagemap.file.close();
  }
  return chunks;
}

/** What any accounting must do per reference: the count, a seen bit, PSS. */
function floorLoop(counts: Uint16Array, seen: Uint32Array, pfns: Uint32Array, length: number) {
  let pss = 0;
  let rss = 0;
  for (let i = 0; i < length; i++) {
    const pfn = pfns[i];
    const word = pfn >>> 5;
    const bit = 1 << (pfn & 31);
    const bits = seen[word];
    if ((bits & bit) !== 0) continue;
    seen[word] = bits | bit;
    const value = counts[pfn];
    if (value > COUNT_BASE) pss += 1 / (value - COUNT_BASE);
    rss++;
  }
  return pss + rss;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      children: { type: "string", default: "32" },
      mib: { type: "string", default: "2048" },
      rounds: { type: "string", default: "7" },
    },
  });
  const children = Number(values.children);
  const mib = Number(values.mib);
  const rounds = Number(values.rounds);
  if (!(children >= 1) || !(mib >= 1) || !(rounds >= 1)) {
    console.error("usage: bench_loops.ts [--children N] [--mib N] [--rounds N]");
    return 2;
  }
  if (lacksRoot("bench_loops", "it reads pagemap PFNs and kpagecount")) return 1;

  const cleanup = createCleanup();
  try {
    console.log("uss benchmark: the scan and accounting loops, replayed on the main thread");
    for (const line of machineLines()) console.log(line);
    console.error(
      `bench_loops: starting the copy-on-write workload (${mib} MiB, ${children} children)`,
    );
    const workload = await startWorkload(cleanup, [
      "python3",
      COW_WORKLOAD,
      String(children),
      String(mib),
    ]);
    const processes: Chunk[][] = [];
    const table = createFrameTable(1 << 20);
    const refs = createFrameRefs(CHUNK_PAGES);
    const target: ScanTarget = {
      slot: 0,
      hugetlb: false,
      exclusiveShortcut: true,
      pmdPages: PMD_PAGES,
    };
    const tally = createScanTally(1);
    try {
      // Stopped, the workload's frames cannot change hands between the reads;
      // every frame referenced has its kpagecount read once, before it goes.
      for (const pid of workload.pids) Deno.kill(pid, "SIGSTOP");
      for (const pid of workload.pids) await waitStopped(pid);
      const kpagecount = openKpagecount("/proc");
      // The tool's own count pass; the tool shares no frame with the workload
      // worth subtracting (its entries are left in the counts).
      const counts = createCountReader(kpagecount, { waiters: [] });
      const selfFrames = createSelfFrames();
      try {
        for (const pid of workload.pids) {
          const chunks = readEntries(pid);
          for (const { words, firstPage } of chunks) {
            scanPagemapEntries(words, 0, words.length / 2, firstPage, target, tally, refs, table);
            await fetchCounts(table, refs, counts, selfFrames);
            clearFrameRefs(refs);
          }
          processes.push(chunks);
        }
      } finally {
        kpagecount.file.close();
      }
    } finally {
      await stopWorkload(cleanup, workload);
    }

    let entries = 0;
    let references = 0;
    const times = {
      scan: [] as number[],
      alone: [] as number[],
      group: [] as number[],
      floor: [] as number[],
    };
    const seen = new Uint32Array(Math.ceil(table.counts.length / 32));
    let sink = 0;
    for (let round = 0; round < rounds; round++) {
      for (const grouped of [false, true]) {
        const group = grouped ? { ussAnon: 0, ussFile: 0, hugetlbUss: 0, ram: 0 } : null;
        if (grouped) beginGroup(table);
        let scan = 0;
        let account = 0;
        let floor = 0;
        for (const chunks of processes) {
          beginProcess(table);
          seen.fill(0);
          const figures = createProcessAccount(1);
          for (const { words, firstPage } of chunks) {
            const t0 = performance.now();
            scanPagemapEntries(words, 0, words.length / 2, firstPage, target, tally, refs, table);
            const t1 = performance.now();
            accountRefs(table, refs, figures, group, PAGE_SIZE, () => 0);
            const t2 = performance.now();
            sink += floorLoop(table.counts, seen, refs.pfns, refs.length);
            const t3 = performance.now();
            scan += t1 - t0;
            account += t2 - t1;
            floor += t3 - t2;
            if (round === 0 && !grouped) {
              entries += words.length / 2;
              references += refs.length;
            }
            if (refs.unreadLength > 0) throw new Error("a frame's count was not read");
            clearFrameRefs(refs);
          }
        }
        if (grouped) times.group.push(account);
        else {
          times.scan.push(scan);
          times.alone.push(account);
          times.floor.push(floor);
        }
      }
    }
    if (!(sink > 0)) throw new Error("the floor loop saw no frame");

    const perEntry = (ms: number) => (ms * 1e6 / entries).toFixed(1);
    const perRef = (ms: number) => (ms * 1e6 / references).toFixed(1);
    const scan = median(times.scan);
    const alone = median(times.alone);
    const group = median(times.group);
    const floor = median(times.floor);
    console.log(
      `\n${processes.length} processes, ${(entries / 1e6).toFixed(1)} M pagemap entries, ` +
        `${(references / 1e6).toFixed(1)} M frame references (medians of ${rounds} rounds)`,
    );
    console.log(renderTable(
      [
        { header: "loop", align: "left" },
        { header: "ms per pass", align: "right" },
        { header: "ns each", align: "right" },
        { header: "vs floor", align: "right" },
      ],
      [
        ["scan, with marking", scan.toFixed(0), `${perEntry(scan)} per entry`, "-"],
        [
          "account, each process alone",
          alone.toFixed(0),
          `${perRef(alone)} per ref`,
          `${(alone / floor).toFixed(2)}×`,
        ],
        [
          "account, all as one group",
          group.toFixed(0),
          `${perRef(group)} per ref`,
          `${(group / floor).toFixed(2)}×`,
        ],
        ["floor: count, seen bit, PSS", floor.toFixed(0), `${perRef(floor)} per ref`, "1×"],
      ],
    ));
    return 0;
  } catch (error) {
    console.error(`bench_loops: cannot run: ${error instanceof Error ? error.message : error}`);
    return 1;
  } finally {
    await cleanup.dispose();
  }
}

if (import.meta.main) Deno.exit(await main());
