/**
 * Headless Chromium for the tests of the HTML report (and the README
 * screenshot): a small Chrome DevTools Protocol client over Deno's WebSocket,
 * a launcher that keeps everything Chromium writes in one temporary directory
 * and leaves no process behind, and a PNG decoder to look at screenshots.
 *
 * Chromium is started as
 * `chromium --headless --no-sandbox … --user-data-dir=TMP --remote-debugging-port=0 about:blank`;
 * the port is read from its "DevTools listening on ws://…" line on stderr. One
 * WebSocket carries every session (`Target.attachToTarget` with `flatten`).
 *
 * @module
 */

/** Where Chromium may be: `USS_CHROMIUM` first, then the usual binaries. */
const CANDIDATES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
];

/** The Chromium binary to use, or null when none is installed. */
export function findChromium(): string | null {
  const wanted = Deno.env.get("USS_CHROMIUM");
  for (const path of wanted ? [wanted] : CANDIDATES) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch { /* not there */ }
  }
  return null;
}

/** A CDP event or response. */
interface Message {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
  sessionId?: string;
}

// deno-lint-ignore no-explicit-any
type Json = any;

function delay(ms: number): { promise: Promise<void>; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
  return { promise, cancel: () => clearTimeout(timer) };
}

/** Resolves with `promise`, or rejects after `ms` (the timer is always cleared). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)
  );
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One WebSocket to the browser; commands by id, events to listeners. */
interface Connection {
  send(method: string, params?: Record<string, unknown>, sessionId?: string): Promise<Json>;
  /** Adds a listener of events; returns what removes it. */
  listen(listener: (message: Message) => void): () => void;
  close(): Promise<void>;
}

/**
 * Connects to the browser's DevTools WebSocket at `url`. `why` tells, when the
 * socket closes under a command, what became of the browser.
 */
async function openConnection(url: string, why: () => string): Promise<Connection> {
  const socket = new WebSocket(url);
  await within(
    new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve());
      socket.addEventListener("error", () => reject(new Error(`cannot connect to ${url}`)));
    }),
    10_000,
    "DevTools WebSocket",
  );
  let next = 1;
  const pending = new Map<number, { resolve(value: Json): void; reject(error: Error): void }>();
  const listeners = new Set<(message: Message) => void>();
  const closed = new Promise<void>((resolve) => socket.addEventListener("close", () => resolve()));
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data as string) as Message;
    if (message.id !== undefined) {
      const waiting = pending.get(message.id);
      pending.delete(message.id);
      if (message.error) waiting?.reject(new Error(`CDP: ${message.error.message}`));
      else waiting?.resolve(message.result ?? {});
    } else for (const listener of listeners) listener(message);
  });
  socket.addEventListener("close", () => {
    for (const waiting of pending.values()) {
      waiting.reject(new Error(`CDP: the connection closed; ${why()}`));
    }
    pending.clear();
  });
  return {
    send(method, params = {}, sessionId) {
      const id = next++;
      const result = new Promise<Json>((resolve, reject) => pending.set(id, { resolve, reject }));
      socket.send(JSON.stringify({ id, method, params, sessionId }));
      return within(result, 30_000, method);
    },
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      if (socket.readyState !== WebSocket.CLOSED) socket.close();
      await within(closed, 5_000, "closing the DevTools WebSocket").catch(() => {});
    },
  };
}

/** Keys the pages are sent: DOM key, code and Windows virtual key code. */
const KEYS: Record<string, [string, number]> = {
  Enter: ["Enter", 13],
  Escape: ["Escape", 27],
  Backspace: ["Backspace", 8],
  Tab: ["Tab", 9],
  " ": ["Space", 32],
};

/** A page (tab) of the browser, with what it logged and requested. */
export interface Page {
  /** Console errors, uncaught exceptions and error log entries, in order. */
  readonly errors: string[];
  /** Every URL the page requested (Network.requestWillBeSent). */
  readonly requests: string[];
  /** Sends a command to this page's session. */
  send(method: string, params?: Record<string, unknown>): Promise<Json>;
  /** Evaluates `expression` in the page (promises awaited) and returns its value. */
  evaluate<T = Json>(expression: string): Promise<T>;
  /** Polls `expression` until it is truthy (or throws after `timeoutMs`). */
  waitFor<T = Json>(expression: string, timeoutMs?: number): Promise<T>;
  /** Navigates and waits for the load event. */
  navigate(url: string): Promise<void>;
  /** Sets the viewport (CSS pixels, device scale 1). */
  resize(width: number, height: number): Promise<void>;
  /** Emulates `prefers-color-scheme`. */
  colorScheme(scheme: "light" | "dark"): Promise<void>;
  /** A left click at viewport coordinates, as a mouse does it. */
  click(x: number, y: number): Promise<void>;
  /** Presses and releases a key (Enter, Escape, Backspace, Tab, " "), to the focused element. */
  press(key: string): Promise<void>;
  /** A PNG of the viewport. */
  screenshot(): Promise<Uint8Array>;
}

/** The page of DevTools session `session` on `connection`, recording its errors and requests. */
function pageOf(connection: Connection, session: string): Page {
  const errors: string[] = [];
  const requests: string[] = [];
  const loads: (() => void)[] = [];
  connection.listen((message) => {
    if (message.sessionId !== session) return;
    const params = message.params as Json;
    switch (message.method) {
      case "Runtime.consoleAPICalled":
        if (params.type === "error" || params.type === "assert") {
          errors.push(
            `console.${params.type}: ${
              params.args.map((arg: Json) => arg.value ?? arg.description).join(" ")
            }`,
          );
        }
        break;
      case "Runtime.exceptionThrown":
        errors.push(
          `exception: ${
            params.exceptionDetails.exception?.description ?? params.exceptionDetails.text
          }`,
        );
        break;
      case "Log.entryAdded":
        if (params.entry.level === "error") {
          errors.push(`log: ${params.entry.text} ${params.entry.url ?? ""}`);
        }
        break;
      case "Network.requestWillBeSent":
        requests.push(params.request.url);
        break;
      case "Page.loadEventFired":
        for (const resolve of loads.splice(0)) resolve();
        break;
    }
  });
  const send = (method: string, params: Record<string, unknown> = {}) =>
    connection.send(method, params, session);
  const evaluate = async <T = Json>(expression: string): Promise<T> => {
    const reply = await send("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    });
    if (reply.exceptionDetails) {
      const details = reply.exceptionDetails;
      throw new Error(
        `in the page: ${details.exception?.description ?? details.text}\n${expression}`,
      );
    }
    return reply.result.value as T;
  };
  return {
    errors,
    requests,
    send,
    evaluate,
    async waitFor<T = Json>(expression: string, timeoutMs = 5_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = await evaluate<T>(expression);
        if (value) return value;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${expression}`);
        const pause = delay(20);
        await pause.promise;
      }
    },
    async navigate(url) {
      const loaded = new Promise<void>((resolve) => loads.push(resolve));
      const reply = await send("Page.navigate", { url });
      if (reply.errorText) throw new Error(`cannot open ${url}: ${reply.errorText}`);
      await within(loaded, 30_000, `loading ${url}`);
    },
    async resize(width, height) {
      await send("Emulation.setDeviceMetricsOverride", {
        width,
        height,
        deviceScaleFactor: 1,
        mobile: false,
      });
    },
    async colorScheme(scheme) {
      await send("Emulation.setEmulatedMedia", {
        features: [{ name: "prefers-color-scheme", value: scheme }],
      });
    },
    async click(x, y) {
      await send("Input.dispatchMouseEvent", { type: "mouseMoved", x, y });
      for (const type of ["mousePressed", "mouseReleased"]) {
        await send("Input.dispatchMouseEvent", { type, x, y, button: "left", clickCount: 1 });
      }
    },
    async press(key) {
      const [code, keyCode] = KEYS[key];
      const common = { key, code, windowsVirtualKeyCode: keyCode, nativeVirtualKeyCode: keyCode };
      await send("Input.dispatchKeyEvent", { type: "rawKeyDown", ...common });
      await send("Input.dispatchKeyEvent", { type: "keyUp", ...common });
    },
    async screenshot() {
      const { data } = await send("Page.captureScreenshot", { format: "png" });
      return Uint8Array.from(atob(data), (char) => char.charCodeAt(0));
    },
  };
}

/** A running headless Chromium. */
export interface Browser extends AsyncDisposable {
  /** Opens a new page with Page, Runtime, Log and Network enabled, at `width`×`height`. */
  newPage(width: number, height: number): Promise<Page>;
  /** Closes the browser, kills what is left of it, removes its directory (idempotent). */
  close(): Promise<void>;
}

/** PIDs whose command line mentions `text`. */
function pidsMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (cmdline.includes(text)) pids.push(Number(entry.name));
    } catch { /* gone */ }
  }
  return pids;
}

/**
 * Starts headless Chromium with its profile, configuration and crash reports
 * in a new temporary directory.
 *
 * @example
 * ```ts
 * await using browser = await launchChromium(findChromium()!);
 * const page = await browser.newPage(1280, 800);
 * await page.navigate("file:///tmp/report.html");
 * ```
 */
export async function launchChromium(binary: string): Promise<Browser> {
  const dir = await Deno.makeTempDir({ prefix: "uss-chromium-" });
  const child = new Deno.Command(binary, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-breakpad",
      "--disable-extensions",
      "--disable-dev-shm-usage",
      "--hide-scrollbars",
      "--mute-audio",
      `--user-data-dir=${dir}/profile`,
      "--remote-debugging-port=0",
      "about:blank",
    ],
    // Whatever Chromium writes outside its profile (crash reports, caches, sockets) stays in `dir` too.
    env: {
      HOME: dir,
      TMPDIR: dir,
      XDG_CONFIG_HOME: `${dir}/config`,
      XDG_CACHE_HOME: `${dir}/cache`,
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();

  // Read stderr until the DevTools line, then keep draining it (a full pipe would stall Chromium).
  let log = "";
  let exitStatus: Deno.CommandStatus | null = null;
  child.status.then((status) => exitStatus = status, () => {});
  const why = () =>
    `${
      exitStatus
        ? `chromium exited (code ${exitStatus.code}, signal ${exitStatus.signal})`
        : "chromium still runs"
    }; the end of what it wrote:\n${log.slice(-4_000)}`;
  let announce: (url: string) => void = () => {};
  const announced = new Promise<string>((resolve) => announce = resolve);
  const drained = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      log = (log + chunk).slice(-20_000);
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(log);
      if (match) announce(match[1]);
    }
  })();

  let connection: Connection | null = null;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    if (connection) {
      await connection.send("Browser.close").catch(() => {});
      await connection.close();
    }
    const exited = await Promise.race([
      child.status.then(() => true),
      delay(10_000).promise.then(() => false),
    ]);
    if (!exited) {
      try {
        child.kill("SIGKILL");
      } catch { /* gone meanwhile */ }
      await child.status;
    }
    await drained.catch(() => {});
    // Helpers that outlive the browser (crash handler, zygote children) name `dir`.
    for (let attempt = 0; attempt < 50; attempt++) {
      const left = pidsMentioning(dir);
      if (left.length === 0) break;
      for (const pid of left) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch { /* gone */ }
      }
      await delay(100).promise;
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };

  try {
    const exit = child.status.then((status) => {
      throw new Error(`chromium exited (${status.code}) before DevTools started:\n${log}`);
    });
    const url = await within(Promise.race([announced, exit]), 30_000, "chromium start");
    exit.catch(() => {});
    connection = await openConnection(url, why);
  } catch (error) {
    await close();
    throw error;
  }

  const browser = connection;
  return {
    async newPage(width: number, height: number): Promise<Page> {
      const { targetId } = await browser.send("Target.createTarget", { url: "about:blank" });
      const { sessionId } = await browser.send("Target.attachToTarget", {
        targetId,
        flatten: true,
      });
      const page = pageOf(browser, sessionId);
      for (const domain of ["Page", "Runtime", "Log", "Network"]) {
        await page.send(`${domain}.enable`);
      }
      await page.resize(width, height);
      return page;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A decoded PNG: 8-bit RGB or RGBA pixels, row by row. */
export interface Image {
  width: number;
  height: number;
  /** 3 (RGB) or 4 (RGBA). */
  channels: number;
  pixels: Uint8Array;
}

/**
 * Decodes a non-interlaced 8-bit RGB or RGBA PNG (what Chromium's screenshots
 * are): chunks, IDAT inflated with DecompressionStream("deflate"), rows unfiltered.
 */
export async function decodePng(png: Uint8Array): Promise<Image> {
  const signature = [137, 80, 78, 71, 13, 10, 26, 10];
  if (!signature.every((byte, index) => png[index] === byte)) throw new Error("not a PNG");
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let width = 0, height = 0, channels = 0;
  const idat: Uint8Array[] = [];
  for (let offset = 8; offset + 8 <= png.length;) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...png.subarray(offset + 4, offset + 8));
    const data = png.subarray(offset + 8, offset + 8 + length);
    if (type === "IHDR") {
      width = view.getUint32(offset + 8);
      height = view.getUint32(offset + 12);
      const [depth, colour, , , interlace] = data.subarray(8, 13);
      if (depth !== 8 || (colour !== 2 && colour !== 6) || interlace !== 0) {
        throw new Error(
          `unsupported PNG: depth ${depth}, colour type ${colour}, interlace ${interlace}`,
        );
      }
      channels = colour === 2 ? 3 : 4;
    } else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
    offset += 12 + length;
  }
  const inflated = new Uint8Array(
    await new Response(
      new Blob(idat as BlobPart[]).stream().pipeThrough(new DecompressionStream("deflate")),
    ).arrayBuffer(),
  );
  const stride = width * channels;
  if (inflated.length !== height * (stride + 1)) throw new Error("PNG data has the wrong size");
  const pixels = new Uint8Array(height * stride);
  for (let row = 0; row < height; row++) {
    const filter = inflated[row * (stride + 1)];
    const source = inflated.subarray(row * (stride + 1) + 1, (row + 1) * (stride + 1));
    const out = row * stride;
    for (let i = 0; i < stride; i++) {
      const left = i >= channels ? pixels[out + i - channels] : 0;
      const up = row > 0 ? pixels[out - stride + i] : 0;
      const upLeft = row > 0 && i >= channels ? pixels[out - stride + i - channels] : 0;
      let predicted = 0;
      if (filter === 1) predicted = left;
      else if (filter === 2) predicted = up;
      else if (filter === 3) predicted = (left + up) >> 1;
      else if (filter === 4) {
        const p = left + up - upLeft;
        const pa = Math.abs(p - left), pb = Math.abs(p - up), pc = Math.abs(p - upLeft);
        predicted = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
      } else if (filter !== 0) throw new Error(`PNG filter ${filter}`);
      pixels[out + i] = (source[i] + predicted) & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

/** How many pixels have each colour (RGB as one number), most frequent first. */
export function colourCounts(image: Image): [number, number][] {
  const counts = new Map<number, number>();
  const { pixels, channels } = image;
  for (let i = 0; i < pixels.length; i += channels) {
    const colour = (pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2];
    counts.set(colour, (counts.get(colour) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]);
}
