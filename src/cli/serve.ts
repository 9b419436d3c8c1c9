/**
 * `uss serve`: a Prometheus exporter. `/metrics` answers in the text exposition
 * format, from the same renderer as `--format prometheus`: the groups asked
 * for (`--by`, repeatable), the largest processes by USS (`--per-process`), how
 * many processes were measured or not and why, how long measuring took, and
 * build information. Cost is bounded: one measurement at a time, shared by
 * concurrent scrapes, and reused for `--min-interval` seconds. It listens on
 * 127.0.0.1 unless told otherwise, optionally over TLS and behind HTTP basic
 * auth (bcrypt hashes, as in Prometheus' own web configuration). SIGTERM and
 * SIGINT stop it cleanly.
 *
 * @module
 */

import denoConfig from "../../deno.json" with { type: "json" };
import { readProcText } from "../procfs/files.ts";
import { orderGroups, orderProcesses } from "../report/order.ts";
import { type MetricFamily, renderMetrics, resultMetrics } from "../report/prometheus.ts";
import { collectGarbage } from "./heap.ts";
import type { GroupsResult, ProcessesResult } from "../report/result.ts";
import { EnvironmentError } from "../measure/context.ts";
import { UsageError } from "./args.ts";
import { EXIT_OK } from "./exit_codes.ts";
import { printErr } from "./output.ts";
import { accountingOf, base, measureGroups, rowsOf, selection, type Session } from "./views.ts";

/** One measurement, rendered: the metrics text and when it was taken. */
interface Snapshot {
  text: string;
  /** `performance.now()` when it was finished. */
  at: number;
}

function gauge(name: string, help: string, labels: Record<string, string>, value: number) {
  return { name, help, type: "gauge" as const, samples: [{ labels, value }] };
}

/**
 * Measures every process once per grouping asked for (the first measurement
 * also gives the per-process metrics) and renders the metrics text.
 */
async function collect(session: Session, measurements: number): Promise<string> {
  const started = performance.now();
  const { context, options } = session;
  const serveOptions = options.serve;
  const { pids, excluded } = selection(session);
  const families: MetricFamily[] = [];
  let processes: ProcessesResult | null = null;
  for (const by of serveOptions.by) {
    // An exporter draws no progress line, whatever its stderr is.
    const grouped = await measureGroups(session, pids, by, { onProgress: undefined });
    const { measurement, notes } = grouped;
    const groups: GroupsResult = {
      kind: "groups",
      by,
      groups: orderGroups(grouped.groups, { sort: "uss", reverse: false, limit: null }),
      members: null,
      accounting: null,
      ...base(session, EXIT_OK, notes),
    };
    families.push(...resultMetrics(groups));
    if (processes === null) {
      const measured = measurement.reports.filter((report) => report.state === "ok");
      processes = {
        kind: "processes",
        listing: true,
        processes: rowsOf(
          session,
          orderProcesses(measured, { sort: "uss", reverse: false, limit: serveOptions.perProcess }),
        ),
        total: null,
        accounting: accountingOf(session, measurement.reports),
        excluded,
        ...base(session, EXIT_OK),
      };
    }
  }
  if (processes) families.push(...resultMetrics(processes));
  families.push(
    gauge(
      "uss_scrape_duration_seconds",
      "How long the measurement behind this response took.",
      {},
      Math.round(performance.now() - started) / 1000,
    ),
    {
      name: "uss_measurements_total",
      help:
        "Measurements taken since the exporter started (scrapes within --min-interval share one).",
      type: "counter",
      samples: [{ labels: {}, value: measurements }],
    },
    gauge("uss_build_info", "Version and measuring method of this exporter.", {
      version: denoConfig.version,
      method: context.method,
    }, 1),
  );
  return renderMetrics(families);
}

/** Reads a basic-auth file: `user:bcrypt-hash` per line, `#` comments. */
function readUsersFile(path: string): Map<string, string> {
  let text: string;
  try {
    text = readProcText(path);
  } catch (error) {
    throw new UsageError(`cannot read --basic-auth-file: ${(error as Error).message}`);
  }
  const users = new Map<string, string>();
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const colon = trimmed.indexOf(":");
    const hash = trimmed.slice(colon + 1);
    if (colon <= 0 || !/^\$2[aby]?\$\d\d\$.{53}$/.test(hash)) {
      throw new UsageError(
        `--basic-auth-file: not a user:bcrypt-hash line: ${JSON.stringify(trimmed)}`,
      );
    }
    users.set(trimmed.slice(0, colon), hash);
  }
  if (users.size === 0) throw new UsageError("--basic-auth-file names no user");
  return users;
}

/**
 * Checks `Authorization: Basic …` against bcrypt hashes. bcrypt is slow on
 * purpose (~70 ms here), so headers already accepted are remembered.
 */
async function authorizer(
  path: string,
): Promise<(header: string | null) => Promise<boolean>> {
  const users = readUsersFile(path);
  const { default: bcrypt } = await import("bcryptjs");
  const accepted = new Set<string>();
  return async (header) => {
    if (header === null || !header.startsWith("Basic ")) return false;
    if (accepted.has(header)) return true;
    let decoded: string;
    try {
      decoded = atob(header.slice(6));
    } catch {
      return false;
    }
    const colon = decoded.indexOf(":");
    const hash = users.get(decoded.slice(0, colon));
    if (colon < 0 || hash === undefined) return false;
    // Node's bcrypt ($2b$) and htpasswd ($2y$) hashes are the same algorithm.
    const ok = await bcrypt.compare(decoded.slice(colon + 1), hash.replace(/^\$2y\$/, "$2b$"));
    if (ok && accepted.size < 64) accepted.add(header);
    return ok;
  };
}

const INDEX = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>uss exporter</title></head>
<body><h1>uss exporter</h1>
<p>How much memory processes really own (USS, PSS, RSS, swap), for Prometheus.</p>
<p><a href="metrics">/metrics</a></p></body></html>
`;

/**
 * Runs the exporter until SIGTERM or SIGINT.
 *
 * @returns the exit code (0 after a clean stop).
 * @throws {EnvironmentError} when it cannot listen (address in use, no --allow-net).
 * @throws {UsageError} when the TLS or basic-auth files cannot be read.
 */
export async function serve(session: Session): Promise<number> {
  const { options } = session;
  const serveOptions = options.serve;
  const authorized = serveOptions.basicAuthFile
    ? await authorizer(serveOptions.basicAuthFile)
    : null;
  let cert: string | undefined;
  let key: string | undefined;
  if (serveOptions.tlsCert && serveOptions.tlsKey) {
    try {
      cert = readProcText(serveOptions.tlsCert);
      key = readProcText(serveOptions.tlsKey);
    } catch (error) {
      throw new UsageError(`cannot read the TLS files: ${(error as Error).message}`);
    }
  }

  let measurements = 0;
  let latest: Snapshot | null = null;
  let running: Promise<Snapshot> | null = null;
  const snapshot = (): Promise<Snapshot> => {
    if (latest && performance.now() - latest.at < serveOptions.minInterval * 1000) {
      return Promise.resolve(latest);
    }
    running ??= collect(session, ++measurements)
      .then((text) => latest = { text, at: performance.now() })
      .finally(() => {
        running = null;
        collectGarbage();
      });
    return running;
  };

  const handler = async (request: Request): Promise<Response> => {
    const { pathname } = new URL(request.url);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405 });
    }
    if (authorized && !await authorized(request.headers.get("authorization"))) {
      return new Response("unauthorized\n", {
        status: 401,
        headers: { "www-authenticate": 'Basic realm="uss", charset="UTF-8"' },
      });
    }
    if (pathname === "/") {
      return new Response(INDEX, { headers: { "content-type": "text/html; charset=utf-8" } });
    }
    if (pathname !== "/metrics") return new Response("not found\n", { status: 404 });
    try {
      const { text } = await snapshot();
      return new Response(text, {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    } catch (error) {
      printErr(`uss: measuring failed: ${(error as Error).message}`);
      return new Response(`measuring failed: ${(error as Error).message}\n`, { status: 500 });
    }
  };

  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      hostname: serveOptions.hostname,
      port: serveOptions.port,
      ...(cert && key ? { cert, key } : {}),
      onListen: ({ hostname, port }) => {
        const scheme = cert ? "https" : "http";
        printErr(
          `uss: serving ${scheme}://${
            hostname.includes(":") ? `[${hostname}]` : hostname
          }:${port}/metrics`,
        );
      },
    }, handler);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new EnvironmentError(
        `Deno refused to listen on ${serveOptions.hostname}:${serveOptions.port}: grant --allow-net=${serveOptions.hostname}:${serveOptions.port}`,
      );
    }
    if (error instanceof Deno.errors.AddrInUse) {
      throw new EnvironmentError(
        `${serveOptions.hostname}:${serveOptions.port} is in use: choose another with --listen`,
      );
    }
    throw new EnvironmentError(
      `cannot listen on ${serveOptions.hostname}:${serveOptions.port}: ${(error as Error).message}`,
    );
  }
  const stop = () => server.shutdown();
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT"];
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  try {
    await server.finished;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
  }
  return EXIT_OK;
}
