/** Markdown for BENCHMARKS.md and the console: tables, target verdicts, profile summaries. */
import type { EngineShapeResult } from './engineBench.js';
import { SUBJECT_LOG_LEVEL, type AdmissionBenchResult, type PartySummary } from './http/admissionBench.js';
import { compareComponents, type MeasuredProfile } from './profile.js';
import type { SweeperBenchResult } from './sweeper/sweeperBench.js';

export interface Targets {
  validateRatio: number;
  mutateRatio: number;
  p99Ratio: number;
  p99Ms: number;
  peakRssMiB: number;
  engineMs: number;
  engineSize: number;
  /** Largest-decade growth exponent accepted as "linear or n·log n". */
  engineExponent: number;
  sweeperRatio: number;
  /** Peak RSS growth from the smallest to the largest size, as a share of the data growth. */
  sweeperRssShare: number;
}

export const TARGETS: Targets = {
  validateRatio: 0.8,
  mutateRatio: 0.7,
  p99Ratio: 1.5,
  p99Ms: 5,
  peakRssMiB: 150,
  engineMs: 50,
  engineSize: 10_000,
  engineExponent: 1.2,
  sweeperRatio: 1.2,
  sweeperRssShare: 0.25,
};

export interface Verdict {
  target: string;
  result: string;
  met: boolean;
}

const f = (n: number | undefined, digits = 2): string => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits));
const pct = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '–' : `${(n * 100).toFixed(0)}%`);
const ratio = (n: number | undefined): string => `${f(n)}×`;
const mark = (met: boolean): string => (met ? 'met' : '**missed**');

export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function verdicts(
  http: AdmissionBenchResult | undefined,
  engine: EngineShapeResult[] | undefined,
  sweeper: SweeperBenchResult | undefined,
  t: Targets = TARGETS,
): Verdict[] {
  const out: Verdict[] = [];
  if (http) {
    for (const s of http.scenarios) {
      const need = s.endpoint === 'validate' ? t.validateRatio : t.mutateRatio;
      out.push({ target: `/${s.endpoint} ${s.policy}: req/s ≥ ${f(need)}× baseline`, result: ratio(s.closedRatio), met: s.closedRatio >= need });
    }
    for (const s of http.scenarios) {
      const base = s.fixed.baseline?.p99Ms ?? NaN;
      const subject = s.fixed.subject?.p99Ms ?? NaN;
      out.push({
        target: `/${s.endpoint} ${s.policy}: p99 at 50% load ≤ ${f(t.p99Ratio, 1)}× baseline p99 and < ${t.p99Ms} ms`,
        result: `${f(subject)} ms vs ${f(base)} ms (${ratio(subject / base)})`,
        met: subject <= t.p99Ratio * base && subject < t.p99Ms,
      });
    }
    const peak = http.memory.subject?.peakUnderLoadMiB ?? NaN;
    out.push({ target: `webhook peak RSS under load ≤ ${t.peakRssMiB} MiB`, result: `${f(peak, 0)} MiB (VmHWM ${f(http.memory.subject?.hwmMiB, 0)} MiB)`, met: peak <= t.peakRssMiB });
  }
  if (engine) {
    for (const shape of engine) {
      const row = shape.rows.find((r) => r.size === t.engineSize);
      if (!row) continue;
      out.push({
        target: `engine: ${t.engineSize.toLocaleString('en-US')} ${shape.shape} < ${t.engineMs} ms, growth linear or n·log n`,
        result: `${f(row.medianMs)} ms; exponent ${f(shape.exponent)} over the last decade`,
        met: row.medianMs < t.engineMs && shape.exponent <= t.engineExponent,
      });
    }
  }
  if (sweeper && sweeper.sizes.length > 0) {
    for (const s of sweeper.sizes) {
      out.push({ target: `sweeper pass over ${s.count.toLocaleString('en-US')} grants ≤ ${f(t.sweeperRatio, 1)}× bare loop`, result: ratio(s.ratio), met: s.ratio <= t.sweeperRatio });
    }
    const small = sweeper.sizes[0]!;
    const big = sweeper.sizes[sweeper.sizes.length - 1]!;
    if (big.count > small.count) {
      const rssGrowth = big.modes.sweeper.peakRssMiB - small.modes.sweeper.peakRssMiB;
      const dataGrowth = big.dataMiB - small.dataMiB;
      out.push({
        target: `sweeper peak RSS (median of rounds) grows far less than the data (< ${pct(t.sweeperRssShare)} of it)`,
        result: `+${f(rssGrowth, 0)} MiB for +${f(dataGrowth, 0)} MiB of list data (${pct(rssGrowth / dataGrowth)}); highest single pass ${f(big.modes.sweeper.peakRssMaxMiB, 0)} MiB`,
        met: rssGrowth < t.sweeperRssShare * dataGrowth,
      });
    }
  }
  return out;
}

export function verdictTable(list: Verdict[]): string {
  return table(['target', 'result', ''], list.map((v) => [v.target, v.result, mark(v.met)]));
}

function lat(s: PartySummary | undefined): string {
  return s ? `${f(s.p50Ms)} / ${f(s.p99Ms)} / ${f(s.p999Ms)}` : '–';
}

export function httpTables(http: AdmissionBenchResult, connections: number): string {
  const parts: string[] = [];
  const hasQuiet = http.scenarios.some((s) => s.closedRatioQuiet !== undefined);
  parts.push(`### Closed loop (${connections} connections, keep-alive, no pipelining)\n`);
  parts.push(
    table(
      [
        'scenario',
        'request / response bytes',
        'baseline req/s',
        `netpol-guard req/s (log ${SUBJECT_LOG_LEVEL})`,
        'ratio',
        ...(hasQuiet ? ['req/s and CPU-cost ratio at log warn (no audit line)'] : []),
        'p50 / p99 / p99.9 ms baseline',
        'p50 / p99 / p99.9 ms netpol-guard',
        'server CPU base / ng',
        'CPU µs per request base / ng',
        'CPU-cost ratio',
        'generator CPU',
        'errors + non-2xx',
      ],
      http.scenarios.map((s) => [
        s.name,
        `${s.requestBytes} / ${s.responseBytes}`,
        f(s.closed.baseline?.rps, 0),
        f(s.closed.subject?.rps, 0),
        `**${ratio(s.closedRatio)}**`,
        ...(hasQuiet ? [`${ratio(s.closedRatioQuiet)} / ${ratio(s.cpuRatioQuiet)}`] : []),
        lat(s.closed.baseline),
        lat(s.closed.subject),
        `${pct(s.closed.baseline?.serverCpu)} / ${pct(s.closed.subject?.serverCpu)}`,
        `${f(s.closed.baseline?.cpuUsPerRequest, 0)} / ${f(s.closed.subject?.cpuUsPerRequest, 0)}`,
        ratio(s.cpuRatio),
        pct(s.closed.subject?.generatorCpu),
        String(errorsOf(s.closed)),
      ]),
    ),
  );
  parts.push(`\n### Fixed rate: 50% of the baseline's closed-loop maximum (autocannon overallRate)\n`);
  parts.push(
    table(
      ['scenario', 'rate req/s', 'achieved base / ng', 'p50 / p99 / p99.9 ms baseline', 'p50 / p99 / p99.9 ms netpol-guard', 'p99 ratio', 'server CPU base / ng', 'errors + non-2xx'],
      http.scenarios.map((s) => [
        s.name,
        String(s.fixedRate),
        `${f(s.fixed.baseline?.rps, 0)} / ${f(s.fixed.subject?.rps, 0)}`,
        lat(s.fixed.baseline),
        lat(s.fixed.subject),
        ratio((s.fixed.subject?.p99Ms ?? NaN) / (s.fixed.baseline?.p99Ms ?? NaN)),
        `${pct(s.fixed.baseline?.serverCpu)} / ${pct(s.fixed.subject?.serverCpu)}`,
        String(errorsOf(s.fixed)),
      ]),
    ),
  );
  parts.push(`\n### Server memory (VmRSS sampled every 50 ms during that server's measured rounds)\n`);
  parts.push(
    table(
      ['scenario', 'peak RSS MiB baseline', `peak RSS MiB netpol-guard (log ${SUBJECT_LOG_LEVEL})`],
      http.scenarios.map((s) => {
        const peak = (party: 'baseline' | 'subject'): number => Math.max(s.closed[party]?.peakRssMiB ?? NaN, s.fixed[party]?.peakRssMiB ?? NaN);
        return [s.name, f(peak('baseline'), 0), f(peak('subject'), 0)];
      }),
    ),
    '',
  );
  const names: Record<string, string> = {
    baseline: 'baseline (bare fastify)',
    subject: `netpol-guard serve (log ${SUBJECT_LOG_LEVEL})`,
    'subject-warn': 'netpol-guard serve (log warn)',
  };
  parts.push(
    table(
      ['server', 'idle RSS MiB', 'peak RSS under load MiB', 'VmHWM MiB (whole life)'],
      Object.entries(http.memory).map(([party, m]) => [names[party] ?? party, f(m.idleMiB, 0), f(m.peakUnderLoadMiB, 0), f(m.hwmMiB, 0)]),
    ),
  );
  return parts.join('\n');
}

function errorsOf(summary: Partial<Record<string, PartySummary>>): number {
  return Object.values(summary).reduce((acc, s) => acc + (s ? s.errors + s.non2xx + s.timeouts : 0), 0);
}

export function engineTable(engine: EngineShapeResult[]): string {
  const rows: string[][] = [];
  for (const shape of engine) {
    for (const r of shape.rows) {
      rows.push([shape.shape, r.size.toLocaleString('en-US'), f(r.medianMs, 4), f(r.usPerElement, 3), r.growth === undefined ? '' : `${f(r.growth, 1)}×`]);
    }
  }
  const exponents = engine.map((s) => `${s.shape} ${f(s.exponent)}`).join(', ');
  return `${table(['shape', 'elements', 'median ms per policy', 'µs per element', 'growth vs 10× fewer'], rows)}\n\nGrowth exponent over the largest decade (1.0 linear, ≈1.1 n·log n, 2.0 quadratic): ${exponents}.`;
}

export function sweeperTable(sweeper: SweeperBenchResult): string {
  return table(
    [
      'grants',
      'pages',
      'list data MiB',
      'bare client loop s',
      'sweeper pass s',
      'ratio',
      'CPU s bare / sweeper',
      'CPU ratio',
      'raw https loop s',
      'sweeper / raw',
      'RSS before pass MiB bare / sweeper / raw',
      'peak RSS MiB bare / sweeper / raw: median (max)',
    ],
    sweeper.sizes.map((s) => [
      s.count.toLocaleString('en-US'),
      String(s.pages),
      f(s.dataMiB, 1),
      f(s.modes['client-loop'].seconds, 3),
      f(s.modes.sweeper.seconds, 3),
      `**${ratio(s.ratio)}**`,
      `${f(s.modes['client-loop'].cpuSeconds, 3)} / ${f(s.modes.sweeper.cpuSeconds, 3)}`,
      ratio(s.cpuRatio),
      f(s.modes['raw-loop'].seconds, 3),
      ratio(s.ratioRaw),
      `${f(s.modes['client-loop'].rssBeforeMiB, 0)} / ${f(s.modes.sweeper.rssBeforeMiB, 0)} / ${f(s.modes['raw-loop'].rssBeforeMiB, 0)}`,
      (['client-loop', 'sweeper', 'raw-loop'] as const).map((m) => `${f(s.modes[m].peakRssMiB, 0)} (${f(s.modes[m].peakRssMaxMiB, 0)})`).join(' / '),
    ]),
  );
}

export interface ComparedProfile {
  /** Column heading, e.g. "netpol-guard". */
  label: string;
  profile: MeasuredProfile;
}

/**
 * Where the subject's extra CPU goes: self CPU per unit of work by component for the baseline, the
 * subject and any variants, biggest difference between subject and baseline first; then the
 * subject's hottest functions, and netpol-guard's own functions inclusive.
 */
export function profileComparison(title: string, unit: string, columns: readonly ComparedProfile[], rows = 14): string {
  const [baseline, subject] = columns;
  if (!baseline || !subject) throw new Error('profileComparison needs a baseline and a subject');
  const us = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '–');
  const perUnit = (p: MeasuredProfile, ms: number): number => (ms * 1e3) / p.units;
  const totals = columns.map((c) => perUnit(c.profile, c.profile.summary.busyMs));
  const subjectTotal = totals[1]!;
  const share = (n: number): string => `${((n / subjectTotal) * 100).toFixed(1)}%`;
  const comparison = compareComponents(columns.map((c) => c.profile)).slice(0, rows);
  const components = table(
    ['component (self CPU)', ...columns.map((c) => `${c.label} µs/${unit}`), `extra in ${subject.label}`, `share of ${subject.label}`],
    [
      ['**all busy CPU**', ...totals.map(us), us(subjectTotal - totals[0]!), '100%'],
      ...comparison.map((c) => [c.name, ...c.costs.map(us), us(c.costs[1]! - c.costs[0]!), share(c.costs[1]!)]),
    ],
  );
  const s = subject.profile;
  const functions = table(
    [`hottest functions in the ${subject.label} process (self)`, `µs/${unit}`, 'share'],
    s.summary.functions.slice(0, rows).map((f) => [`\`${f.name}\``, us(perUnit(s, f.selfMs)), share(perUnit(s, f.selfMs))]),
  );
  const own = table(
    ['netpol-guard code (inclusive: itself and what it calls)', `µs/${unit}`, 'share'],
    s.summary.own.slice(0, rows).map((f) => [`\`${f.name}\``, us(perUnit(s, f.inclusiveMs)), share(perUnit(s, f.inclusiveMs))]),
  );
  const windows = columns.map((c) => `${c.label} ${c.profile.units} ${unit}s in ${(c.profile.summary.windowMs / 1000).toFixed(1)} s`).join(', ');
  return `#### ${title}\n\nProfiled windows: ${windows}.\n\n${components}\n\n${functions}\n\n${own}`;
}
