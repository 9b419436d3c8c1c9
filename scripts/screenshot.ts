/**
 * The README's picture of `uss report`: starts a few fixture process trees
 * with known sharing (tests/fixtures/workers.c, named like services), writes
 * their report with `uss report --name … -o FILE`, opens it in headless
 * Chromium at 1280×800 (light scheme) and saves the viewport as
 * docs/report.png. Run as root for exact group figures (the hatched areas).
 *
 * Usage: deno task screenshot [OUTPUT.png]
 *
 * Needs gcc (to build the fixture) and Chromium (Debian package `chromium`,
 * or USS_CHROMIUM=/path/to/chrome). Everything it starts is stopped and every
 * temporary file removed when it ends, also on an error; an interrupt (Ctrl-C)
 * leaves its temporary directory, while the fixtures die with it.
 *
 * @module
 */

import { findChromium, launchChromium } from "../tests/cdp.ts";
import { buildFixture, type Fixture, REPO_ROOT, runUss, startFixture } from "../tests/helpers.ts";

const WIDTH = 1280, HEIGHT = 800;
/** A PNG larger than this is a sign the picture is not what it should be. */
const MAX_BYTES = 200 * 1024;

/** The fixtures: command name, workers.c arguments, processes announced. */
function fixtures(dataFile: string): [string, string[], number][] {
  return [
    // A pre-forking server: workers share their parent's pages until they write them.
    ["web-worker", ["cow", "6", "16384", "1536"], 7],
    ["api-server", ["cow", "3", "8192", "2048"], 4],
    // Shared memory every member maps: no one's USS, all the group's.
    ["shm-cache", ["shared", "3", "6144"], 4],
    // Page cache of a file only this process maps: its USS is on the file side.
    ["indexer", ["files", dataFile, "4096", "0"], 1],
    ["batch-job", ["solo", "20480"], 1],
    ["log-shipper", ["solo", "3072"], 1],
  ];
}

async function main(): Promise<number> {
  const output = Deno.args[0] ?? `${REPO_ROOT}/docs/report.png`;
  const chromium = findChromium();
  if (chromium === null) {
    console.error("screenshot: Chromium is not installed (apt-get install chromium)");
    return 1;
  }
  const binary = await buildFixture("workers");
  const dir = await Deno.makeTempDir({ prefix: "uss-screenshot-" });
  const started: Fixture<Record<string, unknown>>[] = [];
  try {
    const dataFile = `${dir}/index.dat`;
    await Deno.writeFile(dataFile, new Uint8Array(4096 * 4096).fill(7));
    const names: string[] = [];
    for (const [name, args, count] of fixtures(dataFile)) {
      started.push(await startFixture(binary, ["-n", name, ...args], count));
      names.push(name);
    }
    const file = `${dir}/report.html`;
    const run = await runUss(["report", "--name", `^(${names.join("|")})$`, "-o", file]);
    if (run.code !== 0) {
      console.error(`screenshot: uss report failed (${run.code}):\n${run.stderr}`);
      return 1;
    }

    await using browser = await launchChromium(chromium);
    const page = await browser.newPage(WIDTH, HEIGHT);
    await page.colorScheme("light");
    await page.navigate(new URL(`file://${file}`).href);
    await page.waitFor(`document.documentElement.hasAttribute("data-drawn")`);
    if (page.errors.length > 0) {
      console.error(`screenshot: the page logged errors:\n${page.errors.join("\n")}`);
      return 1;
    }
    const png = await page.screenshot();
    const slash = output.lastIndexOf("/");
    if (slash > 0) await Deno.mkdir(output.slice(0, slash), { recursive: true });
    await Deno.writeFile(output, png);
    console.log(`${output}: ${WIDTH}×${HEIGHT}, ${png.length} bytes`);
    if (png.length > MAX_BYTES) {
      console.error(`screenshot: larger than ${MAX_BYTES} bytes`);
      return 1;
    }
    return 0;
  } finally {
    for (const fixture of started) await fixture.kill();
    await Deno.remove(dir, { recursive: true });
  }
}

// No Deno.exit: the test helpers remove the fixture binary when the program ends.
if (import.meta.main) Deno.exitCode = await main();
