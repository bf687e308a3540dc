/**
 * Reads the monitoring component (manifests/components/monitoring) for tests: its alert rules,
 * the dashboard's PromQL, the metric names an expression selects, and the files promtool checks.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { REPO_ROOT } from '../fixtures/paths.js';

export const MONITORING_DIR = path.join(REPO_ROOT, 'manifests', 'components', 'monitoring');

/** The alerts issue #18 asks for (webhook unavailable/erroring is three: down, calls failing, 5xx). */
export const ALERT_NAMES = [
  'NetpolGuardWebhookDown',
  'NetpolGuardWebhookCallsFailing',
  'NetpolGuardWebhookErrors',
  'NetpolGuardCertificateExpiringSoon',
  'NetpolGuardConfigStale',
  'NetpolGuardControllerNoLeader',
  'NetpolGuardExpiryLagHigh',
  'NetpolGuardDeletionsFailing',
  'NetpolGuardInvalidGrants',
  'NetpolGuardNotificationsFailing',
  'NetpolGuardClusterViewStale',
] as const;

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

export interface ServiceMonitor {
  metadata: { name: string; namespace?: string };
  spec: {
    selector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
    endpoints: {
      port: string;
      scheme?: string;
      path?: string;
      relabelings?: { targetLabel?: string; replacement?: string }[];
      tlsConfig?: { serverName?: string; ca?: { secret?: { name: string; key: string } } };
    }[];
  };
}

export function ruleGroups(): RuleGroup[] {
  const rule = parse(readFileSync(path.join(MONITORING_DIR, 'prometheusrule.yaml'), 'utf8')) as { kind: string; spec: { groups: RuleGroup[] } };
  if (rule.kind !== 'PrometheusRule') throw new Error('prometheusrule.yaml is not a PrometheusRule');
  return rule.spec.groups;
}

export function alertRules(): AlertRule[] {
  return ruleGroups().flatMap((g) => g.rules);
}

/** The PrometheusRule's spec as a Prometheus rule file (what `promtool check rules` reads). */
export function promtoolRulesFile(): string {
  return stringify({ groups: ruleGroups() });
}

interface DashboardPanel {
  title: string;
  targets?: { expr: string }[];
}

export function dashboardExpressions(): { titles: string[]; expressions: string[] } {
  const dashboard = JSON.parse(readFileSync(path.join(MONITORING_DIR, 'dashboard.json'), 'utf8')) as { panels: DashboardPanel[] };
  return {
    titles: dashboard.panels.map((p) => p.title),
    expressions: dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
  };
}

/**
 * The dashboard's queries as recording rules, so `promtool check rules` parses each one. Grafana's
 * $__rate_interval is replaced by a fixed range, which is what Grafana does at query time.
 */
export function dashboardAsRulesFile(): string {
  const rules = dashboardExpressions().expressions.map((expr, i) => ({ record: `netpol_guard_dashboard:query_${i}`, expr: expr.replaceAll('$__rate_interval', '5m') }));
  return stringify({ groups: [{ name: 'netpol-guard-dashboard-queries', rules }] });
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects. Strings, label matchers, ranges and grouping
 * lists are removed first; an identifier followed by "(" is a function or aggregation.
 */
export function metricNamesIn(expr: string): Set<string> {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const word = m[1]!;
    if (m[2] !== undefined || KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return names;
}

/** GitHub's heading anchors of a Markdown document (lowercase, punctuation dropped, spaces → -). */
export function githubAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6} +(.+?) *$/gm)) {
    anchors.add(
      m[1]!
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\- _]/gu, '')
        .replace(/ /g, '-'),
    );
  }
  return anchors;
}
