/**
 * Results in the Prometheus text exposition format (version 0.0.4), ready for
 * node_exporter's textfile collector and for scraping: one family per metric,
 * each with HELP and TYPE, samples labelled `{pid, name, user}` for processes
 * and `{by, group}` for groups. Metric names come from the table of measures:
 * `uss_process_<key>_bytes`, `uss_group_<key>_bytes`.
 *
 * @module
 */

import type { GroupReport } from "../measure/aggregate.ts";
import { figureOf, MEASURES } from "./measures.ts";
import { labelValue } from "./escape.ts";
import type { ViewResult } from "./result.ts";

/** One sample: its labels and value. */
export interface MetricSample {
  /** Label names to values (unescaped). */
  labels: Record<string, string>;
  /** The value (bytes for `_bytes` metrics). */
  value: number;
}

/** A metric family: every sample of one metric name. */
export interface MetricFamily {
  /** The metric name, e.g. `uss_process_uss_bytes`. */
  name: string;
  /** The HELP text (unescaped). */
  help: string;
  /** The TYPE. */
  type: "gauge" | "counter";
  /** The samples, each with its own labels. */
  samples: MetricSample[];
}

function family(name: string, help: string): MetricFamily {
  return { name, help, type: "gauge", samples: [] };
}

/**
 * The metric families of a result: per process (measured ones), per group
 * (exact group figures only where they are exact), and for a listing the
 * number of processes in each state.
 *
 * @example
 * ```ts
 * import { resultMetrics } from "./prometheus.ts";
 * resultMetrics({ kind: "groups", by: "name", groups: [], members: null, accounting: null,
 *   method: "smaps", notes: [], exitCode: 0, memory: null }).map((f) => f.name)[0];
 * // "uss_group_uss_bytes"
 * ```
 */
export function resultMetrics(result: ViewResult): MetricFamily[] {
  const exported = MEASURES.filter((measure) => measure.prometheus);
  const families: MetricFamily[] = [];
  if (result.kind === "processes") {
    for (const measure of exported) {
      const metric = family(`uss_process_${measure.json}_bytes`, `Process ${measure.help}.`);
      for (const row of result.processes) {
        const value = figureOf(row, measure);
        if (value === null) continue;
        metric.samples.push({
          labels: { pid: String(row.pid), name: row.name ?? "", user: row.user ?? "" },
          value: Math.round(value),
        });
      }
      families.push(metric);
    }
  }
  if (result.kind === "groups") {
    // A cgroup is labelled by its path: unique, where readable names may not be.
    const labels = (group: GroupReport) => ({
      by: result.by,
      group: group.cgroup?.path ?? group.group,
    });
    for (const measure of exported) {
      const metric = family(`uss_group_${measure.json}_bytes`, `Group ${measure.help}.`);
      for (const group of result.groups) {
        const value = figureOf(group, measure);
        if (value === null) continue;
        metric.samples.push({ labels: labels(group), value: Math.round(value) });
      }
      families.push(metric);
      if (measure.key === "uss") {
        const sum = family(
          "uss_group_uss_sum_bytes",
          "Group members' own USS added up (USS minus this: memory shared only inside the group).",
        );
        for (const group of result.groups) {
          sum.samples.push({ labels: labels(group), value: Math.round(group.ussSum) });
        }
        families.push(sum);
      }
    }
    const processes = family("uss_group_processes", "Processes measured in the group.");
    for (const group of result.groups) {
      processes.samples.push({ labels: labels(group), value: group.members.length });
    }
    families.push(processes);
    if (result.groups.some((group) => group.cgroup)) {
      for (
        const [key, name, help] of [
          [
            "current",
            "uss_group_charge_bytes",
            "memory.current (v2) or memory.usage_in_bytes (v1)",
          ],
          ["anon", "uss_group_charge_anon_bytes", "anon (v2) or total_rss (v1) of memory.stat"],
          ["file", "uss_group_charge_file_bytes", "file (v2) or total_cache (v1) of memory.stat"],
        ] as const
      ) {
        const charge = family(name, `The kernel's charge of the cgroup: ${help}.`);
        for (const group of result.groups) {
          const value = group.cgroup?.charge?.[key];
          if (value !== null && value !== undefined) {
            charge.samples.push({ labels: labels(group), value });
          }
        }
        families.push(charge);
      }
    }
  }
  const accounting = "accounting" in result ? result.accounting : null;
  if (accounting) {
    const states = family("uss_processes", "Processes looked at, by what became of them.");
    const measured = accounting.scanned - accounting.unreadable - accounting.exited -
      accounting.zombies - accounting.kernelThreads - accounting.failed;
    for (
      const [state, value] of [
        ["measured", measured],
        ["unreadable", accounting.unreadable],
        ["exited", accounting.exited],
        ["zombie", accounting.zombies],
        ["kernel_thread", accounting.kernelThreads],
        ["failed", accounting.failed],
      ] as const
    ) states.samples.push({ labels: { state }, value });
    families.push(states);
  }
  return families;
}

function helpText(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

/**
 * Metric families as exposition text: HELP and TYPE before each family's
 * samples, label values escaped, a final newline. Families of the same name
 * (one per grouping of the exporter) are written as one, with the first's help,
 * since the format allows a name's HELP and TYPE once.
 *
 * @example
 * ```ts
 * import { renderMetrics } from "./prometheus.ts";
 * renderMetrics([{ name: "x_bytes", help: "X.", type: "gauge",
 *   samples: [{ labels: { name: 'a"b' }, value: 1 }] }]);
 * // '# HELP x_bytes X.\n# TYPE x_bytes gauge\nx_bytes{name="a\\"b"} 1\n'
 * ```
 */
export function renderMetrics(families: readonly MetricFamily[]): string {
  const byName = new Map<string, MetricFamily>();
  for (const metric of families) {
    const first = byName.get(metric.name);
    if (first) first.samples = [...first.samples, ...metric.samples];
    else byName.set(metric.name, { ...metric });
  }
  const lines: string[] = [];
  for (const metric of byName.values()) {
    lines.push(
      `# HELP ${metric.name} ${helpText(metric.help)}`,
      `# TYPE ${metric.name} ${metric.type}`,
    );
    for (const sample of metric.samples) {
      const labels = Object.entries(sample.labels)
        .map(([name, value]) => `${name}="${labelValue(value)}"`)
        .join(",");
      lines.push(`${metric.name}${labels ? `{${labels}}` : ""} ${sample.value}`);
    }
  }
  return lines.join("\n") + "\n";
}
