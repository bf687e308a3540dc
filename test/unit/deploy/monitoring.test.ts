/**
 * The monitoring component: what it renders with the base, that its ServiceMonitors select the
 * Services and ports that exist, that every alert the issue asks for is there with a summary, a
 * description and a runbook that exists in the README, and that the dashboard has its panels.
 * PromQL validity and alert behaviour are promtool's job (test/e2e/monitoring.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { V1ConfigMap, V1Deployment, V1Service } from '@kubernetes/client-node';
import { KUBECTL_SKIP, MANIFESTS_DIR, REPO_ROOT, asKubeObjects, componentDir, findObject, kustomize, readKustomization, type KubeObject } from './support.js';
import { ALERT_NAMES, alertRules, dashboardExpressions, githubAnchors, metricNamesIn, type ServiceMonitor } from '../../helpers/monitoring.js';
import { readmeMetricsTable } from '../../helpers/metricsText.js';

const README = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

describe('monitoring component: rules and dashboard', () => {
  const rules = alertRules();

  it('has every alert the operations issue lists, each once', () => {
    assert.deepEqual(rules.map((r) => r.alert).sort(), [...ALERT_NAMES].sort());
  });

  it('every alert has a severity, a summary, a description of what users lose, and a runbook in the README', () => {
    const anchors = githubAnchors(README);
    for (const rule of rules) {
      assert.match(rule.labels?.severity ?? '', /^(critical|warning)$/, rule.alert);
      assert.ok((rule.annotations?.summary ?? '').length > 10, `${rule.alert}: summary`);
      assert.ok((rule.annotations?.description ?? '').length > 60, `${rule.alert}: description`);
      const url = rule.annotations?.runbook_url ?? '';
      const anchor = /#([a-z0-9-]+)$/.exec(url)?.[1];
      assert.equal(anchor, rule.alert.toLowerCase(), `${rule.alert}: runbook anchor is the alert's own`);
      assert.ok(anchors.has(anchor!), `${rule.alert}: README has no heading for #${anchor}`);
    }
  });

  it('the dashboard is labelled for the Grafana sidecar and has the panels the issue asks for', () => {
    const kustomization = readKustomization(componentDir('monitoring')) as unknown as { configMapGenerator: { options: { labels: Record<string, string> } }[] };
    assert.equal(kustomization.configMapGenerator[0]!.options.labels['grafana_dashboard'], '1');
    const { titles, expressions } = dashboardExpressions();
    for (const wanted of [
      'Admissions by verdict',
      'Rule findings by rule id',
      'Admission latency',
      'Live grants by namespace',
      'Grants opened and closed',
      'Expiry lag',
      'Controller leader',
      'Certificate days left',
    ]) {
      assert.ok(titles.includes(wanted), `panel "${wanted}"`);
    }
    assert.ok(expressions.length >= titles.length, 'every panel queries something');
  });
});

/**
 * Metrics other branches add in parallel, which the alerts already use: h-notify's notification
 * outcomes and h-view's cluster-view staleness. Each entry must go once its metric is in the README
 * table (the test below fails until it does), so a name that never arrives stays visible here.
 */
const PENDING_FROM_OTHER_BRANCHES: string[] = [];

describe('metric names used by alerts and panels', () => {
  const table = readmeMetricsTable(path.join(REPO_ROOT, 'README.md'));
  const used = new Set([...alertRules().map((r) => r.expr), ...dashboardExpressions().expressions].flatMap((e) => [...metricNamesIn(e)]));

  it('every netpol_guard_* name is a documented metric (the table is checked against the real /metrics)', () => {
    const family = (name: string) => (table.has(name) ? name : name.replace(/_(bucket|sum|count)$/, ''));
    const unknown = [...used].filter((n) => n.startsWith('netpol_guard_') && !table.has(family(n)) && !PENDING_FROM_OTHER_BRANCHES.includes(n));
    assert.deepEqual(unknown, []);
    for (const n of used) assert.match(n, /^(netpol_guard_|apiserver_admission_webhook_|up$)/, `${n}: only ours, the API server's (checked in e2e) and up`);
    assert.ok(used.size >= 12, [...used].join(', '));
  });

  it('a pending name leaves the list once its metric is documented', () => {
    for (const name of PENDING_FROM_OTHER_BRANCHES) assert.ok(!table.has(name), `${name} is documented now: remove it from PENDING_FROM_OTHER_BRANCHES`);
  });

  it('metricNamesIn finds selectors, not functions, labels, ranges or grouping', () => {
    assert.deepEqual(
      [...metricNamesIn('histogram_quantile(0.99, sum by (le, name) (rate(apiserver_x_bucket{name=~"a\\\\.b", job="up"}[5m]))) > 30')],
      ['apiserver_x_bucket'],
    );
    assert.deepEqual([...metricNamesIn('(sum(a_metric{x="y"}) or vector(0)) < 1 and on (job) b_metric offset 5m')].sort(), ['a_metric', 'b_metric']);
    assert.deepEqual([...metricNamesIn('absent(up{job="w"} == 1)')], ['up']);
    assert.deepEqual([...metricNamesIn('min by (certificate) (m_seconds) - time() < 14 * 86400')], ['m_seconds']);
  });
});

describe('monitoring component rendered with the base', { skip: KUBECTL_SKIP }, () => {
  let workDir = '';
  let rendered: KubeObject[] = [];
  before(() => {
    workDir = mkdtempSync(path.join(tmpdir(), 'netpol-guard-monitoring-'));
    symlinkSync(MANIFESTS_DIR, path.join(workDir, 'manifests'), 'dir');
    const overlay = path.join(workDir, 'overlay');
    mkdirSync(overlay);
    writeFileSync(path.join(overlay, 'kustomization.yaml'), 'resources:\n  - ../manifests\ncomponents:\n  - ../manifests/components/monitoring\n');
    rendered = kustomize(overlay);
  });
  after(() => {
    if (workDir !== '') rmSync(workDir, { recursive: true, force: true });
  });

  it('adds two ServiceMonitors, a PrometheusRule, the controller metrics Service and the dashboard ConfigMap', () => {
    const base = kustomize(MANIFESTS_DIR).map((o) => `${o.kind}/${o.metadata.name}`);
    const added = rendered.map((o) => `${o.kind}/${o.metadata.name}`).filter((n) => !base.includes(n)).sort();
    assert.deepEqual(added, [
      'ConfigMap/netpol-guard-dashboard',
      'PrometheusRule/netpol-guard',
      'Service/netpol-guard-controller-metrics',
      'ServiceMonitor/netpol-guard-controller',
      'ServiceMonitor/netpol-guard-webhook',
    ]);
    const dashboard = findObject<V1ConfigMap>(rendered, 'ConfigMap', 'netpol-guard-dashboard');
    assert.equal(dashboard.metadata?.labels?.['grafana_dashboard'], '1');
    const json = JSON.parse(dashboard.data?.['netpol-guard.json'] ?? '') as { uid: string };
    assert.equal(json.uid, 'netpol-guard');
    for (const o of rendered.filter((r) => !base.includes(`${r.kind}/${r.metadata.name}`))) assert.equal(o.metadata.namespace, 'netpol-guard', `${o.kind}/${o.metadata.name}`);
  });

  it('each ServiceMonitor selects exactly one Service, whose named port reaches a container port', () => {
    const services = rendered.filter((o) => o.kind === 'Service') as unknown as V1Service[];
    const deployment = findObject<V1Deployment>(rendered, 'Deployment', 'netpol-guard');
    const podLabels = deployment.spec!.template.metadata!.labels!;
    const containerPorts = deployment.spec!.template.spec!.containers.flatMap((c) => c.ports ?? []);
    const expectedJob: Record<string, string> = { 'netpol-guard-webhook': 'netpol-guard-webhook', 'netpol-guard-controller': 'netpol-guard-controller' };
    for (const monitor of rendered.filter((o) => o.kind === 'ServiceMonitor') as unknown as ServiceMonitor[]) {
      const selected = services.filter((s) => selects(monitor.spec.selector, s.metadata?.labels ?? {}));
      assert.deepEqual(selected.map((s) => s.metadata?.name).length, 1, `${monitor.metadata.name} selects ${selected.map((s) => s.metadata?.name).join(', ')}`);
      const service = selected[0]!;
      assert.ok(Object.entries(service.spec!.selector!).every(([k, v]) => podLabels[k] === v), `${service.metadata?.name} selects the pods`);
      for (const endpoint of monitor.spec.endpoints) {
        const port = service.spec!.ports!.find((p) => p.name === endpoint.port);
        assert.ok(port, `${monitor.metadata.name}: Service ${service.metadata?.name} has port ${endpoint.port}`);
        assert.ok(containerPorts.some((c) => c.name === port.targetPort || c.containerPort === port.targetPort), `${endpoint.port} targets a container port`);
        assert.deepEqual(endpoint.relabelings, [{ targetLabel: 'job', replacement: expectedJob[monitor.metadata.name] }], 'the job label the alerts use');
        if (endpoint.scheme === 'https') {
          const tlsVolume = deployment.spec!.template.spec!.volumes!.find((v) => v.name === 'tls');
          assert.equal(endpoint.tlsConfig?.ca?.secret?.name, tlsVolume?.secret?.secretName, 'verifies with the CA of the served Secret');
          assert.equal(endpoint.tlsConfig?.ca?.secret?.key, 'ca.crt');
          assert.equal(endpoint.tlsConfig?.serverName, 'netpol-guard.netpol-guard.svc');
        }
      }
    }
  });

  it('the component files are all listed (nothing orphaned)', () => {
    const listed = readKustomization(componentDir('monitoring')).resources ?? [];
    for (const file of listed) assert.ok(asKubeObjects(path.join(componentDir('monitoring'), file)).length > 0, file);
  });
});

function selects(selector: ServiceMonitor['spec']['selector'], labels: Record<string, string>): boolean {
  const exact = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const expressions = (selector.matchExpressions ?? []).every((e) => {
    if (e.operator === 'DoesNotExist') return !(e.key in labels);
    if (e.operator === 'Exists') return e.key in labels;
    if (e.operator === 'In') return (e.values ?? []).includes(labels[e.key] ?? '');
    if (e.operator === 'NotIn') return !(e.values ?? []).includes(labels[e.key] ?? '');
    throw new Error(`unknown operator ${e.operator}`);
  });
  return exact && expressions;
}
