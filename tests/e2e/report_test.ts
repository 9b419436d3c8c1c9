/**
 * End-to-end: the HTML report (`uss report -o FILE`), opened in headless
 * Chromium through a small DevTools Protocol client (tests/cdp.ts).
 *
 * - The file is self-contained and text from processes stays text: names that
 *   try to close the script element or open tags are checked in the file and in
 *   the page (no such element appears, the text shows as written).
 * - On stopped fixtures (tests/fixtures/workers.c: a copy-on-write tree and two
 *   solo processes under names unique to this file), the page loads without a
 *   console error and without any request but the file itself; every fixture
 *   has its rectangle with the figures `uss --json` gives, and areas are
 *   proportional to USS within 2% (between processes, and against the group's
 *   exact USS, whose gap — memory shared only inside the group — is the fixture's
 *   model); a screenshot is not blank; Enter on a focused rectangle and a mouse
 *   click zoom into a process, whose mapping rectangles add up to its USS
 *   exactly; Escape and Backspace go back up; PSS areas, a narrow window and
 *   the dark colour scheme are drawn right.
 * - 1,000 synthetic processes (renderHtml directly): the file is under 3 MiB
 *   and the page's first layout is done less than one second after navigation
 *   starts (performance mark `uss-drawn`).
 *
 * Chromium is the Debian package `chromium`. When it is missing, the browser
 * tests print "skipped: …" and pass, or fail when USS_TEST_STRICT=1.
 *
 * @module
 */

import assert from "node:assert/strict";
import { emptyUsage, type Usage } from "../../src/accounting/usage.ts";
import { formatBytes } from "../../src/report/format.ts";
import { MAPPING_STRIDE, renderHtml, reportData, USAGE_FIELDS } from "../../src/report/html.ts";
import type { MappingSummary, ProcessRow, ReportResult } from "../../src/report/result.ts";
import type { GroupReport } from "../../src/measure/aggregate.ts";
import { colourCounts, decodePng, findChromium, launchChromium, type Page } from "../cdp.ts";
import { IS_ROOT, PAGE_SIZE, runUss, runUssJson, skipOrFail } from "../helpers.ts";
import {
  cowFrames,
  groupModel,
  type ProcessJson,
  startWorkers,
  uniqueName,
} from "./workers_support.ts";

const CHROMIUM = findChromium();
const PAGE = PAGE_SIZE;
const WIDTH = 1280, HEIGHT = 800;
/** Areas must be proportional to figures within this (relative). */
const TOLERANCE = 0.02;

/** True when Chromium can be used; otherwise says why it is skipped (fails when strict). */
function haveChromium(what: string): boolean {
  if (CHROMIUM !== null) return true;
  skipOrFail(`${what}: Chromium is not installed (Debian package chromium; or set USS_CHROMIUM)`);
  return false;
}

// ---------------------------------------------------------------------------
// Synthetic reports

/** A deterministic pseudo-random generator (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Splits `total` pages into `parts` integer parts (some maybe zero) that add up exactly. */
function split(total: number, parts: number, next: () => number): number[] {
  const weights = Array.from({ length: parts }, () => next() ** 3);
  const sum = weights.reduce((a, b) => a + b, 0) || 1;
  const out = weights.map((weight) => Math.floor(total * weight / sum));
  out[0] += total - out.reduce((a, b) => a + b, 0);
  return out;
}

function pagesUsage(anon: number, file: number, sharedPss: number, sharedRss: number): Usage {
  const uss = (anon + file) * PAGE;
  return {
    ...emptyUsage(),
    uss,
    ussAnon: anon * PAGE,
    ussFile: file * PAGE,
    pss: uss + sharedPss * PAGE,
    rss: uss + sharedRss * PAGE,
    ram: uss + sharedRss * PAGE,
  };
}

const LIBRARIES = Array.from(
  { length: 60 },
  (_, i) => `/usr/lib/x86_64-linux-gnu/libsynthetic${i}.so.${i % 7}`,
);

/**
 * A report of `count` processes in `groupCount` exact groups by name, each
 * with `keep` mappings and an "other" row, figures that add up like real ones.
 * `hostile` names one process, one mapping and the host with markup.
 */
function syntheticReport(
  count: number,
  groupCount: number,
  keep: number,
  hostile = false,
): ReportResult {
  const next = random(42);
  const processes: ProcessRow[] = [];
  const mappings = new Map<number, MappingSummary[]>();
  const members: number[][] = Array.from({ length: groupCount }, () => []);
  for (let i = 0; i < count; i++) {
    const pid = 1000 + i;
    const group = i % groupCount;
    const anon = 1 + Math.floor(next() ** 3 * 60_000);
    const file = Math.floor(next() ** 2 * 4_000);
    const shared = Math.floor(next() * 3_000);
    const usage = pagesUsage(anon, file, Math.floor(shared / 3), shared);
    const name = hostile && i === 0 ? "</script><img src=x onerror=alert(1)>" : `svc${group}`;
    processes.push({
      pid,
      name,
      uid: 1000,
      user: "user",
      ppid: 1,
      startTime: i,
      state: "ok",
      error: null,
      method: "kpagecount",
      usage,
      notes: [],
    });
    members[group].push(pid);
    const anonParts = split(anon, keep + 1, next);
    const fileParts = split(file, keep + 1, next);
    const rows: MappingSummary[] = [];
    for (let m = 0; m <= keep; m++) {
      const other = m === keep;
      const label = other
        ? "other"
        : hostile && i === 0 && m === 0
        ? "/tmp/<b>bold</b>\n</script>"
        : m % 3 === 0
        ? "[anon]"
        : LIBRARIES[(i + m) % LIBRARIES.length];
      rows.push({
        label,
        kind: fileParts[m] > anonParts[m] ? "file" : m % 11 === 5 ? "shmem" : "anon",
        mappings: other ? 17 : 1,
        usage: pagesUsage(anonParts[m], fileParts[m], 0, 0),
      });
    }
    mappings.set(pid, rows);
  }
  const groups: GroupReport[] = members.map((pids, group) => {
    const usage = emptyUsage();
    for (const pid of pids) {
      const process = processes[pid - 1000].usage!;
      for (const field of USAGE_FIELDS) usage[field] += process[field];
    }
    const ussSum = usage.uss;
    const inside = Math.floor(next() * 2_000) * PAGE;
    usage.uss += inside;
    usage.ussAnon += inside;
    return {
      group: `svc${group}`,
      members: pids,
      method: "kpagecount",
      exact: true,
      usage,
      ussSum,
    };
  });
  return {
    kind: "report",
    by: "name",
    method: "kpagecount",
    notes: hostile ? ["note: <i>not italic</i>"] : [],
    exitCode: 0,
    memory: { total: 8 * 2 ** 30, available: 6 * 2 ** 30, used: 2 * 2 ** 30 },
    groups,
    processes,
    mappings,
    accounting: {
      scanned: count + 60,
      unreadable: 1,
      exited: 1,
      zombies: 0,
      kernelThreads: 58,
      failed: 0,
      unmeasured: [
        {
          pid: 99,
          name: hostile ? "<u>gone</u>" : "gone",
          uid: 0,
          user: "root",
          startTime: 1,
          state: "exited",
          error: "exited while it was read",
          method: null,
          usage: null,
          notes: [],
        },
        {
          pid: 98,
          name: "secret",
          uid: 0,
          user: "root",
          startTime: 1,
          state: "permission-denied",
          error: "permission denied",
          method: null,
          usage: null,
          notes: [],
        },
      ],
    },
    host: hostile ? "host<!--x-->" : "synthetic",
    kernel: "6.1.0-synthetic",
    time: "2025-01-31T12:00:00.000Z",
  };
}

// ---------------------------------------------------------------------------
// Reading the drawing

interface Drawn {
  key: string;
  pid: number | null;
  group: string | null;
  shared: string | null;
  kind: string | null;
  uss: number;
  pss: number;
  rss: number;
  left: number;
  top: number;
  width: number;
  height: number;
  area: number;
}

/** Every rectangle of the treemap, with its figures and its box. */
function readMap(page: Page): Promise<Drawn[]> {
  return page.evaluate<Drawn[]>(`[...document.querySelectorAll("#map .rect")].map((node) => {
    const box = node.getBoundingClientRect();
    const number = (name) => node.hasAttribute(name) ? Number(node.getAttribute(name)) : NaN;
    return {
      key: node.getAttribute("data-key"),
      pid: node.hasAttribute("data-pid") ? Number(node.getAttribute("data-pid")) : null,
      group: node.getAttribute("data-group"),
      shared: node.getAttribute("data-shared"),
      kind: node.getAttribute("data-kind"),
      uss: number("data-uss"), pss: number("data-pss"), rss: number("data-rss"),
      left: box.left, top: box.top, width: box.width, height: box.height,
      area: box.width * box.height,
    };
  })`);
}

/** Asserts `area / figure` is the same for every rectangle (within TOLERANCE); returns it. */
function assertProportional(
  rects: readonly Drawn[],
  figure: (rect: Drawn) => number,
  what: string,
): number {
  assert.ok(rects.length > 0, `${what}: nothing drawn`);
  const [largest] = [...rects].sort((a, b) => figure(b) - figure(a));
  const scale = largest.area / figure(largest);
  for (const rect of rects) {
    const ratio = rect.area / figure(rect) / scale;
    assert.ok(
      Math.abs(ratio - 1) <= TOLERANCE,
      `${what}: ${rect.key} area ${rect.area.toFixed(1)} px² for ${figure(rect)} bytes is ` +
        `${((ratio - 1) * 100).toFixed(2)}% off the scale of ${largest.key}`,
    );
  }
  return scale;
}

function within(inner: Drawn, outer: Drawn): boolean {
  const slack = 0.5;
  return inner.left >= outer.left - slack && inner.top >= outer.top - slack &&
    inner.left + inner.width <= outer.left + outer.width + slack &&
    inner.top + inner.height <= outer.top + outer.height + slack;
}

const view = (page: Page) => page.evaluate<string>(`document.getElementById("map").dataset.view`);

/** Center of the rectangle with `selector`, in viewport coordinates. */
async function centerOf(page: Page, selector: string): Promise<{ x: number; y: number }> {
  return await page.evaluate(`(() => {
    const box = document.querySelector(${JSON.stringify(selector)}).getBoundingClientRect();
    return { x: box.left + box.width / 2, y: box.top + box.height / 2 };
  })()`);
}

/** In the process view: its mapping rectangles add up to its USS, areas proportional. */
async function assertMappings(page: Page, process: ProcessJson): Promise<string> {
  const rects = await readMap(page);
  assert.ok(rects.length > 0, `mappings of ${process.pid} drawn`);
  for (const rect of rects) {
    assert.ok(rect.kind === "anon" || rect.kind === "file" || rect.kind === "shmem", rect.key);
    assert.ok(
      Number.isInteger(rect.uss) && Number.isInteger(rect.pss) && Number.isInteger(rect.rss),
    );
  }
  const sum = rects.reduce((total, rect) => total + rect.uss, 0);
  assert.equal(sum, process.uss, `mapping rectangles of ${process.pid} add up to its USS`);
  const area = rects.reduce((total, rect) => total + rect.area, 0);
  const map = await page.evaluate<{ width: number; height: number }>(
    `(() => { const m = document.getElementById("map"); return { width: m.clientWidth, height: m.clientHeight }; })()`,
  );
  assert.ok(
    Math.abs(area / (map.width * map.height) - 1) < 0.005,
    `mappings fill the map: ${area} of ${map.width * map.height} px²`,
  );
  assertProportional(rects.filter((rect) => rect.uss > 0), (rect) => rect.uss, "mappings");
  const rows = await page.evaluate<number>(`document.querySelectorAll("#table tbody tr").length`);
  assert.ok(rows >= rects.length, `table rows ${rows} for ${rects.length} rectangles`);
  return `${process.pid}: ${rects.length} mapping rectangles, USS ${sum} bytes`;
}

// ---------------------------------------------------------------------------

Deno.test("renderHtml: one self-contained file, text from processes kept inside the JSON", async () => {
  const result = syntheticReport(12, 3, 4, true);
  const html = await renderHtml(result);
  // Nothing to load (outside the data): no URL, no source, no import, and a policy
  // that forbids requests.
  const code = html.replace(/<script type="application\/json"[^]*?<\/script>/, "");
  assert.doesNotMatch(code, /\b(src|href|action)\s*=|url\(|@import|https?:\/\/|\/\/cdn/i);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  // Two script elements (data, code); hostile text did not close or open any element.
  assert.equal(html.match(/<script\b/g)?.length, 2);
  assert.equal(html.match(/<\/script>/g)?.length, 2);
  for (const fragment of ["<img", "<b>", "<i>", "<u>", "<!--x", "</script><"]) {
    assert.ok(!html.includes(fragment), `${fragment} appears in the HTML`);
  }
  // The JSON reads back as the data, hostile strings unchanged.
  const json = /<script type="application\/json" id="uss-data">([^]*?)<\/script>/.exec(html)![1];
  const data = JSON.parse(json);
  assert.deepEqual(data, JSON.parse(JSON.stringify(reportData(result))));
  assert.equal(data.processes[0].name, "</script><img src=x onerror=alert(1)>");
  assert.ok(data.labels.includes("/tmp/<b>bold</b>\n</script>"));
  assert.equal(data.host, "host<!--x-->");
  // Every mapping row is complete, and each process's rows add up to its USS.
  for (const process of data.processes) {
    const flat: number[] = data.mappings[process.pid];
    assert.equal(flat.length % MAPPING_STRIDE, 0);
    let uss = 0;
    for (let i = 0; i < flat.length; i += MAPPING_STRIDE) uss += flat[i + 3];
    assert.equal(uss, process.usage[0], `mappings of ${process.pid}`);
  }
  // The page's script is valid JavaScript, and the only one the policy lets run.
  const script = /<script>([^]*)<\/script>/.exec(html)![1];
  new Function(script);
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(script)),
  );
  const policy = /Content-Security-Policy" content="([^"]*)"/.exec(html)![1];
  assert.ok(
    policy.includes(`script-src 'sha256-${btoa(String.fromCharCode(...digest))}';`),
    policy,
  );
  assert.doesNotMatch(policy, /script-src[^;]*unsafe-inline/);
});

Deno.test({
  name: "report of stopped fixtures in Chromium: rectangles, areas, drill-down, keyboard, schemes",
  async fn(t) {
    if (!haveChromium("the report in Chromium")) return;
    const N = 3, PAGES = 512, WRITTEN = 64;
    const shared = uniqueName("rpc"), alone = uniqueName("rps");
    await using tree = await startWorkers(
      ["cow", String(N), String(PAGES), String(WRITTEN)],
      N + 1,
      { name: shared },
    );
    await using solo = await startWorkers(["solo", "256"], 1, { name: shared });
    await using other = await startWorkers(["solo", "2048"], 1, { name: alone });
    const groupPids = [...tree.pids, ...solo.pids].sort((a, b) => a - b);
    const allPids = [...groupPids, ...other.pids];
    const dir = await Deno.makeTempDir({ prefix: "uss-report-test-" });
    await using browser = await launchChromium(CHROMIUM!);
    try {
      const file = `${dir}/report.html`;
      const run = await runUss(["report", "--name", `^(${shared}|${alone})$`, "-o", file]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "", "the HTML goes to the file");
      const size = (await Deno.stat(file)).size;
      console.log(`report of ${allPids.length} fixture processes: ${size} bytes`);

      // Independent figures: `uss --json` of the same stopped processes.
      const reference = await runUssJson<ProcessJson[]>(allPids.map(String));
      assert.equal(reference.code, 0, reference.stderr);
      const figures = new Map(reference.json.map((process) => [process.pid, process]));
      for (const process of reference.json) assert.equal(process.state, "ok");

      const page = await browser.newPage(WIDTH, HEIGHT);
      const url = new URL(`file://${file}`).href;
      await page.navigate(url);
      await page.waitFor(`document.documentElement.hasAttribute("data-drawn")`);
      assert.equal(await view(page), "machine");

      await t.step("rectangles carry the figures, areas proportional to USS", async () => {
        const rects = await readMap(page);
        const processes = rects.filter((rect) => rect.pid !== null);
        for (const pid of allPids) {
          const drawn = processes.filter((rect) => rect.pid === pid);
          assert.equal(drawn.length, 1, `one rectangle for ${pid}`);
          const expected = figures.get(pid)!;
          assert.deepEqual(
            [drawn[0].uss, drawn[0].pss, drawn[0].rss],
            [expected.uss, expected.pss, expected.rss],
            `figures of ${pid}`,
          );
        }
        assert.equal(processes.length, allPids.length, "no other process in the report");
        const groups = rects.filter((rect) => rect.group !== null);
        assert.deepEqual(groups.map((rect) => rect.group).sort(), [shared, alone].sort());
        const scale = assertProportional(
          [...processes, ...groups],
          (rect) => rect.uss,
          "processes and groups",
        );
        const bigGroup = groups.find((rect) => rect.group === shared)!;
        for (const pid of groupPids) {
          assert.ok(within(processes.find((rect) => rect.pid === pid)!, bigGroup), `${pid} inside`);
        }
        const smallGroup = groups.find((rect) => rect.group === alone)!;
        assert.ok(within(processes.find((rect) => rect.pid === other.pids[0])!, smallGroup));
        const ussSum = groupPids.reduce((total, pid) => total + figures.get(pid)!.uss!, 0);
        const gap = rects.filter((rect) => rect.shared !== null);
        const exact = await page.evaluate<string>(
          `document.querySelector('[data-group="${shared}"]').dataset.exact`,
        );
        if (exact === "true") {
          // The gap is what the cow tree's members share only among themselves.
          const model = groupModel(cowFrames(tree), groupPids);
          assert.equal(model.sharedInside, PAGES);
          assert.equal(bigGroup.uss - ussSum, model.sharedInside * PAGE, "group USS - members");
          assert.equal(gap.length, 1, "one 'shared inside the group' area");
          assert.equal(gap[0].shared, shared);
          assert.equal(gap[0].uss, model.sharedInside * PAGE);
          assert.ok(within(gap[0], bigGroup), "the shared area lies inside the group");
          const ratio = gap[0].area / gap[0].uss / scale;
          assert.ok(Math.abs(ratio - 1) <= TOLERANCE, `shared area ${ratio}`);
          const hatched = await page.evaluate<string>(
            `getComputedStyle(document.querySelector("[data-shared]")).backgroundImage`,
          );
          assert.match(hatched, /repeating-linear-gradient/, "the shared area is hatched");
        } else {
          assert.ok(!IS_ROOT, "groups are exact for root");
          assert.equal(bigGroup.uss, ussSum, "without frame access the group is the sum");
          assert.equal(gap.length, 0);
          console.log("not root: group figures are sums, no shared area to check");
        }
        // The members and the shared area fill their group exactly.
        const inside = processes.filter((rect) => groupPids.includes(rect.pid!));
        const filled = [...inside, ...gap].reduce((total, rect) => total + rect.area, 0);
        assert.ok(Math.abs(filled / bigGroup.area - 1) < 0.005, `group filled: ${filled}`);
      });

      await t.step("no console error, no request but the file, not blank", async () => {
        assert.deepEqual(page.errors, []);
        assert.deepEqual(page.requests, [url]);
        const png = await page.screenshot();
        assert.ok(png.length > 20_000, `screenshot of ${png.length} bytes`);
        const image = await decodePng(png);
        assert.deepEqual([image.width, image.height], [WIDTH, HEIGHT]);
        const colours = colourCounts(image);
        const pixels = image.width * image.height;
        assert.ok(colours.length >= 16, `${colours.length} distinct colours`);
        assert.ok(colours[0][1] / pixels < 0.8, `most common colour covers ${colours[0][1]} px`);
        console.log(`screenshot: ${png.length} bytes, ${colours.length} colours`);
      });

      await t.step(
        "keyboard: Enter on a process zooms into its mappings, Escape goes up",
        async () => {
          const worker = tree.workers[0].pid;
          await page.evaluate(`document.querySelector('[data-pid="${worker}"]').focus()`);
          await page.press("Enter");
          await page.waitFor(`document.getElementById("map").dataset.view === "process"`);
          console.log(await assertMappings(page, figures.get(worker)!));
          assert.ok(
            await page.evaluate<boolean>(
              `document.getElementById("map").contains(document.activeElement)`,
            ),
            "focus moves into the zoomed view",
          );
          const crumbs = await page.evaluate<string[]>(
            `[...document.querySelectorAll("#crumbs li")].map((li) => li.textContent)`,
          );
          assert.equal(crumbs.length, 3, `breadcrumb ${crumbs}`);
          assert.ok(crumbs[1] === shared && crumbs[2].includes(`PID ${worker}`), `${crumbs}`);
          await page.press("Escape");
          await page.waitFor(`document.getElementById("map").dataset.view === "group"`);
          assert.equal(
            await page.evaluate(`document.activeElement.getAttribute("data-pid")`),
            String(worker),
            "focus returns to the process",
          );
          // The group view: its members and the shared area, areas proportional.
          const rects = await readMap(page);
          assert.deepEqual(
            rects.filter((rect) => rect.pid !== null).map((rect) => rect.pid).sort((a, b) =>
              a! - b!
            ),
            groupPids,
          );
          assertProportional(rects, (rect) => rect.uss, "group view");
          await page.press("Backspace");
          await page.waitFor(`document.getElementById("map").dataset.view === "machine"`);
          const focused = await page.evaluate<string>(
            `document.activeElement.getAttribute("data-key")`,
          );
          assert.match(focused, /^g\d+$/, "focus returns to the group");
          // Every rectangle can take the focus, and the focus can be seen.
          const focusable = await page.evaluate<boolean>(
            `[...document.querySelectorAll("#map .rect:not(.group), #map .caption")]
            .every((node) => node.tabIndex === 0)`,
          );
          assert.ok(focusable, "rectangles are focusable");
          await page.press("Tab");
          const outline = await page.evaluate<string>(
            `getComputedStyle(document.activeElement).outlineStyle + " " + getComputedStyle(document.activeElement).outlineWidth`,
          );
          assert.equal(outline, "solid 3px", "visible focus");
        },
      );

      await t.step("mouse: a click zooms into a process, the breadcrumb back", async () => {
        const pid = other.pids[0];
        const { x, y } = await centerOf(page, `[data-pid="${pid}"]`);
        await page.click(x, y);
        await page.waitFor(`document.getElementById("map").dataset.view === "process"`);
        console.log(await assertMappings(page, figures.get(pid)!));
        const tip = await page.evaluate<string>(`document.getElementById("tip").textContent`);
        assert.ok(tip === "" || !tip.includes("undefined"), tip);
        const back = await centerOf(page, "#crumbs li:first-child button");
        await page.click(back.x, back.y);
        await page.waitFor(`document.getElementById("map").dataset.view === "machine"`);
      });

      await t.step("hover shows exact figures", async () => {
        const pid = tree.workers[1].pid;
        const { x, y } = await centerOf(page, `[data-pid="${pid}"]`);
        await page.send("Input.dispatchMouseEvent", { type: "mouseMoved", x, y });
        const tip = await page.waitFor<string>(
          `!document.getElementById("tip").hidden && document.getElementById("tip").textContent`,
        );
        const uss = figures.get(pid)!.uss!;
        assert.ok(tip.includes(`PID ${pid}`), tip);
        assert.ok(tip.includes(`${uss.toLocaleString("en-US")} bytes`), `exact USS in ${tip}`);
      });

      await t.step("the table: the rows shown, sortable by any column", async () => {
        const caption = await centerOf(page, `[data-group="${shared}"] .caption`);
        await page.click(caption.x, caption.y);
        await page.waitFor(`document.getElementById("map").dataset.view === "group"`);
        const column = (header: string) =>
          page.evaluate<string[]>(`(() => {
            const headers = [...document.querySelectorAll("#table thead th")].map((th) => th.textContent);
            const index = headers.findIndex((text) => text.startsWith(${JSON.stringify(header)}));
            return [...document.querySelectorAll("#table tbody tr")]
              .map((tr) => tr.children[index].title || tr.children[index].textContent);
          })()`);
        const bytes = (cells: string[]) => cells.map((cell) => Number(cell.replace(/\D/g, "")));
        const uss = bytes(await column("USS"));
        assert.equal(uss.length, groupPids.length, "one row per member");
        const printed = await page.evaluate<string[]>(`(() => {
          const index = [...document.querySelectorAll("#table thead th")]
            .findIndex((th) => th.textContent.startsWith("USS"));
          return [...document.querySelectorAll("#table tbody tr")].map((tr) => tr.children[index].textContent);
        })()`);
        assert.deepEqual(
          printed,
          uss.map((value) => formatBytes(value)),
          "sizes as uss prints them",
        );
        assert.deepEqual(uss, [...uss].sort((a, b) => b - a), "largest USS first");
        const sortBy = async (header: string) => {
          const button = await page.evaluate<{ x: number; y: number }>(`(() => {
            const th = [...document.querySelectorAll("#table thead th")]
              .find((th) => th.textContent.startsWith(${JSON.stringify(header)}));
            const box = th.querySelector("button").getBoundingClientRect();
            return { x: box.left + box.width / 2, y: box.top + box.height / 2 };
          })()`);
          await page.click(button.x, button.y);
        };
        await sortBy("PID");
        const descending = (await column("PID")).map(Number);
        assert.deepEqual(descending, [...groupPids].reverse(), "by PID, descending");
        await sortBy("PID");
        assert.deepEqual((await column("PID")).map(Number), groupPids, "then ascending");
        await sortBy("RSS");
        const rss = bytes(await column("RSS"));
        assert.deepEqual(rss, [...rss].sort((a, b) => b - a), "by RSS");
        await page.press("Escape");
        await page.waitFor(`document.getElementById("map").dataset.view === "machine"`);
      });

      await t.step("PSS: process areas proportional to PSS, groups the members' sum", async () => {
        const { x, y } = await centerOf(page, `#measures [data-measure="pss"]`);
        await page.click(x, y);
        await page.waitFor(`document.getElementById("map").dataset.measure === "pss"`);
        const rects = await readMap(page);
        const processes = rects.filter((rect) => rect.pid !== null);
        const groups = rects.filter((rect) => rect.group !== null);
        assertProportional([...processes, ...groups], (rect) => rect.pss, "PSS view");
        const pssSum = groupPids.reduce((total, pid) => total + figures.get(pid)!.pss!, 0);
        assert.equal(groups.find((rect) => rect.group === shared)!.pss, pssSum);
        assert.equal(rects.filter((rect) => rect.shared !== null).length, 0);
        const back = await centerOf(page, `#measures [data-measure="uss"]`);
        await page.click(back.x, back.y);
        await page.waitFor(`document.getElementById("map").dataset.measure === "uss"`);
      });

      await t.step("narrow window: laid out again, the table below the treemap", async () => {
        await page.resize(480, 900);
        await page.waitFor(`document.getElementById("map").clientWidth <= 480`);
        await page.waitFor(`(() => {
          const map = document.getElementById("map");
          return [...map.querySelectorAll(".rect")]
            .every((node) => node.getBoundingClientRect().right <= map.getBoundingClientRect().right + 0.5);
        })()`);
        const rects = await readMap(page);
        const processes = rects.filter((rect) => rect.pid !== null);
        assert.equal(processes.length, allPids.length);
        assertProportional(
          [...processes, ...rects.filter((rect) => rect.group !== null)],
          (rect) => rect.uss,
          "narrow",
        );
        const layout = await page.evaluate<{ mapBottom: number; tableTop: number; scroll: number }>(
          `({ mapBottom: document.getElementById("map").getBoundingClientRect().bottom,
              tableTop: document.getElementById("table").getBoundingClientRect().top,
              scroll: document.documentElement.scrollWidth })`,
        );
        assert.ok(layout.tableTop >= layout.mapBottom, JSON.stringify(layout));
        assert.ok(layout.scroll <= 480, `no horizontal scrolling: ${layout.scroll}`);
        await page.resize(WIDTH, HEIGHT);
      });

      await t.step("light and dark colour schemes", async () => {
        const colours = `(() => {
          const style = (selector, property) => getComputedStyle(document.querySelector(selector))[property];
          return [style("body", "backgroundColor"), style("body", "color"),
            style('#map [data-pid]', "backgroundColor")];
        })()`;
        await page.colorScheme("light");
        const light = await page.evaluate<string[]>(colours);
        await page.colorScheme("dark");
        const dark = await page.evaluate<string[]>(colours);
        const luminance = (rgb: string) => {
          const [r, g, b] = rgb.match(/\d+/g)!.map(Number);
          return 0.2126 * r + 0.7152 * g + 0.0722 * b;
        };
        assert.ok(luminance(light[0]) > 200 && luminance(light[1]) < 80, `light ${light}`);
        assert.ok(luminance(dark[0]) < 50 && luminance(dark[1]) > 180, `dark ${dark}`);
        assert.notEqual(light[2], dark[2], "rectangles change colour too");
        await page.colorScheme("light");
        assert.deepEqual(page.errors, [], "no console error in any step");
        assert.deepEqual(page.requests, [url], "no request in any step");
      });
    } finally {
      await browser.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "hostile names in Chromium: shown as text, no element made of them",
  async fn() {
    if (!haveChromium("hostile names in Chromium")) return;
    const dir = await Deno.makeTempDir({ prefix: "uss-report-test-" });
    await using browser = await launchChromium(CHROMIUM!);
    try {
      const file = `${dir}/hostile.html`;
      await Deno.writeTextFile(file, await renderHtml(syntheticReport(12, 3, 4, true)));
      const page = await browser.newPage(WIDTH, HEIGHT);
      await page.navigate(new URL(`file://${file}`).href);
      await page.waitFor(`document.documentElement.hasAttribute("data-drawn")`);
      // Zoom into the process with the hostile name (its group is svc0), then show its details.
      await page.evaluate(`document.querySelector('[data-pid="1000"]').click()`);
      await page.waitFor(`document.getElementById("map").dataset.view === "process"`);
      const found = await page.evaluate<Record<string, unknown>>(`({
        injected: document.querySelectorAll("img").length + [...document.querySelectorAll("b, i, u")]
          .filter((node) => /bold|not italic|gone/.test(node.textContent)).length,
        crumbs: document.getElementById("crumbs").textContent,
        label: document.querySelector('[data-label^="/tmp/"]').getAttribute("data-label"),
        host: document.getElementById("host").textContent,
        notes: document.getElementById("notes").textContent,
        unmeasured: document.getElementById("unmeasured-table").textContent,
        title: document.title,
      })`);
      assert.equal(found.injected, 0, "no element made of the names");
      assert.ok(String(found.crumbs).includes("</script><img src=x onerror=alert(1)>"));
      assert.equal(found.label, "/tmp/<b>bold</b>\n</script>");
      assert.equal(found.host, "host<!--x-->");
      assert.equal(found.notes, "note: <i>not italic</i>");
      assert.ok(String(found.unmeasured).includes("<u>gone</u>"));
      assert.ok(String(found.title).includes("host<!--x-->"));
      assert.deepEqual(page.errors, []);
    } finally {
      await browser.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "1,000 processes: under 3 MiB, drawn less than one second after navigation starts",
  async fn() {
    const html = await renderHtml(syntheticReport(1000, 100, 24));
    const bytes = new TextEncoder().encode(html).length;
    console.log(`1,000 processes × 25 mapping rows: ${(bytes / 1048576).toFixed(2)} MiB`);
    assert.ok(bytes < 3 * 1048576, `${bytes} bytes`);
    if (!haveChromium("render time in Chromium")) return;
    const dir = await Deno.makeTempDir({ prefix: "uss-report-test-" });
    await using browser = await launchChromium(CHROMIUM!);
    try {
      const file = `${dir}/large.html`;
      await Deno.writeTextFile(file, html);
      const page = await browser.newPage(WIDTH, HEIGHT);
      const url = new URL(`file://${file}`).href;
      // The best of three loads: what the page costs, not what the busy machine adds.
      const times: number[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        await page.navigate(url);
        await page.waitFor(`document.documentElement.hasAttribute("data-drawn")`);
        times.push(
          await page.evaluate<number>(`performance.getEntriesByName("uss-drawn")[0].startTime`),
        );
        if (attempt === 0) {
          const drawn = await page.evaluate<number>(
            `document.querySelectorAll("[data-pid]").length`,
          );
          assert.equal(drawn, 1000, "every process has its rectangle");
        }
      }
      console.log(`drawn after ${times.map((time) => time.toFixed(0)).join(", ")} ms`);
      assert.ok(Math.min(...times) < 1000, `drawn after ${times} ms`);
      // Zooming into a group and a process stays quick too.
      const zoom = await page.evaluate<number>(`(() => {
        const start = performance.now();
        document.querySelector("[data-pid]").click();
        return performance.now() - start;
      })()`);
      assert.ok(zoom < 500, `zoom into a process took ${zoom} ms`);
      assert.deepEqual(page.errors, []);
      assert.ok(page.requests.every((request) => request === url), `${page.requests}`);
    } finally {
      await browser.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
