/**
 * Reads the Prometheus text format into metric families (name, type, label names seen), and the
 * README's metrics table into the same shape, so tests can compare what is served with what is
 * documented.
 */
import { readFileSync } from 'node:fs';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
export type Component = 'webhook' | 'controller';

export interface MetricFamily {
  name: string;
  type: MetricType;
  /** Label names seen on samples (histogram `le` and summary `quantile` left out). */
  labels: Set<string>;
}

const SUFFIXES: Record<string, readonly string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count'] };

/** Every family declared by a `# TYPE` line, with the label names of its samples. */
export function parseExposition(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/.exec(line);
    if (type) {
      families.set(type[1]!, { name: type[1]!, type: type[2] as MetricType, labels: new Set() });
      continue;
    }
    if (line.startsWith('#') || line.trim() === '') continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
    if (!sample) throw new Error(`not a sample line: ${line}`);
    const family = familyOf(families, sample[1]!);
    if (!family) throw new Error(`sample ${sample[1]} has no # TYPE line`);
    for (const m of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) {
      if (m[1] !== 'le' && m[1] !== 'quantile') family.labels.add(m[1]!);
    }
  }
  return families;
}

function familyOf(families: Map<string, MetricFamily>, sampleName: string): MetricFamily | undefined {
  const direct = families.get(sampleName);
  if (direct) return direct;
  for (const family of families.values()) {
    if ((SUFFIXES[family.type] ?? []).some((suffix) => sampleName === family.name + suffix)) return family;
  }
  return undefined;
}

export interface DocumentedMetric extends MetricFamily {
  components: Set<Component>;
  meaning: string;
}

export const METRICS_TABLE_BEGIN = '<!-- metrics-table:begin -->';
export const METRICS_TABLE_END = '<!-- metrics-table:end -->';

/**
 * The README table between the markers: `| \`name\` | type | labels | component | meaning |`,
 * labels as `a`, `b` or —, component webhook, controller or both joined by ", ".
 */
export function parseMetricsTable(markdown: string): Map<string, DocumentedMetric> {
  const begin = markdown.indexOf(METRICS_TABLE_BEGIN);
  const end = markdown.indexOf(METRICS_TABLE_END);
  if (begin < 0 || end < begin) throw new Error(`README has no ${METRICS_TABLE_BEGIN} … ${METRICS_TABLE_END} block`);
  const rows = markdown
    .slice(begin + METRICS_TABLE_BEGIN.length, end)
    .split('\n')
    .filter((line) => line.startsWith('| `'));
  const table = new Map<string, DocumentedMetric>();
  for (const row of rows) {
    const cells = row.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    if (cells.length !== 5) throw new Error(`metrics table row needs 5 cells: ${row}`);
    const [nameCell, type, labelsCell, componentCell, meaning] = cells as [string, string, string, string, string];
    const name = /^`([a-z_:][a-z0-9_:]*)`$/.exec(nameCell)?.[1];
    if (name === undefined) throw new Error(`metric name cell is not one \`name\`: ${nameCell}`);
    if (table.has(name)) throw new Error(`${name} is documented twice`);
    const labels = labelsCell === '—' ? [] : labelsCell.split(',').map((l) => /^`([a-z_][a-z0-9_]*)`$/.exec(l.trim())?.[1]);
    if (labels.some((l) => l === undefined)) throw new Error(`${name}: labels cell must be \`a\`, \`b\` or —: ${labelsCell}`);
    const components = componentCell.split(',').map((c) => c.trim());
    if (!components.every((c): c is Component => c === 'webhook' || c === 'controller')) throw new Error(`${name}: component must be webhook and/or controller: ${componentCell}`);
    if (meaning === '') throw new Error(`${name}: meaning is empty`);
    table.set(name, { name, type: type as MetricType, labels: new Set(labels as string[]), components: new Set(components), meaning });
  }
  return table;
}

export function readmeMetricsTable(readmePath: string): Map<string, DocumentedMetric> {
  return parseMetricsTable(readFileSync(readmePath, 'utf8'));
}
