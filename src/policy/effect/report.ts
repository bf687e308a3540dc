/**
 * `explain`'s three renderings of one PolicyEffect and the findings the webhook would give: a
 * readable text report, JSON for scripts (counts as decimal strings: they can exceed 2^53), and
 * Graphviz DOT (targets, peers and ports as a graph). Pure: strings in, strings out.
 */
import { DEFAULT_PROFILE_NAME } from '../../config/load.js';
import type { Evaluation } from '../evaluate.js';
import { formatFinding } from '../findings.js';
import { formatAddress } from '../cidr.js';
import { formatCount } from '../addressSet.js';
import type { DirectionEffect, PodRef, PolicyEffect } from './analyze.js';
import { describePorts } from './portAllow.js';
import { effectSummary } from './summary.js';

/** Pods and pairs listed before "… and N more". */
const LISTED = 20;

function podName(ref: PodRef, namespace: string): string {
  return ref.namespace === namespace ? ref.name : `${ref.namespace}/${ref.name}`;
}

function listPods(refs: readonly PodRef[], namespace: string): string {
  if (refs.length === 0) return 'none';
  const shown = refs.slice(0, LISTED).map((r) => podName(r, namespace));
  return refs.length > LISTED ? `${shown.join(', ')} … and ${refs.length - LISTED} more` : shown.join(', ');
}

function verdict(evaluation: Evaluation): string {
  // The profile is named when one other than the top level judged, as the webhook's denial does.
  const profile = evaluation.profile === DEFAULT_PROFILE_NAME ? '' : ` (profile ${evaluation.profile})`;
  if (!evaluation.allowed) return `DENIED${profile}`;
  return `${evaluation.warnings.length > 0 ? 'ALLOWED with warnings' : 'ALLOWED'}${profile}`;
}

export function formatEffectText(effect: PolicyEffect, evaluation: Evaluation): string {
  const ns = effect.namespace;
  const lines: string[] = [`NetworkPolicy ${ns}/${effect.policyName}: ${verdict(evaluation)}`, effectSummary(effect)];
  for (const d of effect.directions) lines.push('', ...directionText(d, ns));
  lines.push('');
  const findings = evaluation.findings;
  if (findings.length === 0) lines.push('findings: none');
  else lines.push('findings:', ...findings.map((f) => `  ${f.action}: ${formatFinding(f)}`));
  return `${lines.join('\n')}\n`;
}

function directionText(d: DirectionEffect, ns: string): string[] {
  const arrow = d.direction === 'ingress' ? '←' : '→';
  const out = [`${d.direction}:`];
  out.push(`  targets (${d.targets.length}): ${listPods(d.targets, ns)}`);
  if (d.rules.length === 0) out.push(`  rules: none (the policy only isolates for ${d.direction})`);
  else out.push('  rules:', ...d.rules.map((r) => `    ${arrow} ${r}`));
  const peers = d.peers;
  if (peers.any) out.push('  peers: any peer (every pod of every namespace, every address)');
  else {
    out.push(`  peer pods (${peers.pods.length}) in ${peers.namespaces.length} namespace(s)${peers.namespaces.length > 0 ? ` [${peers.namespaces.join(', ')}]` : ''}: ${listPods(peers.pods, ns)}`);
    for (const b of peers.ipBlocks) out.push(`  ipBlock ${b.cidr}${b.except.length > 0 ? ` except ${b.except.join(', ')}` : ''}: ${formatCount(b.addresses)} addresses`);
  }
  out.push(`  ports: ${describePorts(peers.ports)}`);
  for (const g of d.groups) {
    const label = g.selectedBy.length === 0 ? `newly isolated (${g.pods.length})` : `already selected by ${g.selectedBy.join(', ')} (${g.pods.length})`;
    out.push(`  ${label}: ${listPods(g.pods, ns)}`, `    today: ${g.acceptsBefore}`, `    after: ${g.acceptsAfter}`);
  }
  out.push(`  newly allowed: ${formatCount(d.delta.podConnections)} pod connection(s), ${formatCount(d.delta.addressConnections)} address connection(s) (target × peer × port)`);
  for (const p of d.delta.pods.slice(0, LISTED)) out.push(`    ${flow(d, listPods(p.peers, ns), listPods(p.targets, ns))} on ${describePorts(p.ports)}`);
  if (d.delta.pods.length > LISTED) out.push(`    … and ${d.delta.pods.length - LISTED} more`);
  for (const a of d.delta.addresses.slice(0, LISTED)) {
    const ranges = a.ranges.map(([first, last]) => (first === last ? formatAddress(a.family, first) : `${formatAddress(a.family, first)}-${formatAddress(a.family, last)}`));
    out.push(`    ${flow(d, ranges.join(', '), listPods(a.targets, ns))} on ${describePorts(a.ports)}`);
  }
  return out;
}

/** "peers → targets" for ingress, "targets → peers" for egress: the way the connection goes. */
function flow(d: DirectionEffect, peers: string, targets: string): string {
  return d.direction === 'ingress' ? `${peers} → ${targets}` : `${targets} → ${peers}`;
}

/** The effect and findings as plain JSON (bigints as decimal strings, ports as text). */
export function effectJson(effect: PolicyEffect, evaluation: Evaluation): unknown {
  return {
    namespace: effect.namespace,
    name: effect.policyName,
    allowed: evaluation.allowed,
    profile: evaluation.profile,
    summary: effectSummary(effect),
    directions: effect.directions.map((d) => ({
      direction: d.direction,
      targets: d.targets,
      rules: d.rules,
      peers: {
        any: d.peers.any,
        pods: d.peers.pods,
        namespaces: d.peers.namespaces,
        ipBlocks: d.peers.ipBlocks.map((b) => ({ cidr: b.cidr, except: b.except, addresses: b.addresses.toString() })),
        addresses: { ipv4: d.peers.addresses[4].toString(), ipv6: d.peers.addresses[6].toString() },
        ports: describePorts(d.peers.ports),
      },
      newlyIsolated: d.newlyIsolated,
      groups: d.groups,
      delta: {
        podConnections: d.delta.podConnections,
        addressConnections: d.delta.addressConnections.toString(),
        pods: d.delta.pods.map((p) => ({ peers: p.peers, targets: p.targets, ports: describePorts(p.ports) })),
        addresses: d.delta.addresses.map((a) => ({
          targets: a.targets,
          ranges: a.ranges.map(([first, last]) => [formatAddress(a.family, first), formatAddress(a.family, last)]),
          ports: describePorts(a.ports),
        })),
      },
    })),
    findings: evaluation.findings,
  };
}

/** Graphviz: one box for the targets of each direction, peers around it, edges labelled with ports. */
export function effectDot(effect: PolicyEffect): string {
  const ns = effect.namespace;
  const lines = [`digraph "${esc(`${ns}/${effect.policyName}`)}" {`, '  rankdir=LR;', '  node [fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=9];'];
  effect.directions.forEach((d, i) => {
    const targets = `targets_${i}`;
    const isolated = new Set(d.newlyIsolated.map((p) => `${p.namespace}/${p.name}`));
    const rows = d.targets.slice(0, LISTED).map((p) => (isolated.has(`${p.namespace}/${p.name}`) ? `${p.name} (newly isolated)` : p.name));
    if (d.targets.length > LISTED) rows.push(`… and ${d.targets.length - LISTED} more`);
    const color = isolated.size > 0 ? 'red' : 'black';
    lines.push(`  ${targets} [shape=box, color=${color}, label="${esc(`${d.direction} targets in ${ns} (${d.targets.length})\n${rows.join('\n')}`)}"];`);
    const ports = esc(describePorts(d.peers.ports));
    const edge = (peer: string): string => (d.direction === 'ingress' ? `  ${peer} -> ${targets} [label="${ports}"];` : `  ${targets} -> ${peer} [label="${ports}"];`);
    if (d.peers.any) {
      lines.push(`  any_${i} [shape=ellipse, style=dashed, label="any peer"];`, edge(`any_${i}`));
      return;
    }
    d.peers.pods.slice(0, LISTED).forEach((p, j) => lines.push(`  pod_${i}_${j} [shape=ellipse, label="${esc(podName(p, ns))}"];`, edge(`pod_${i}_${j}`)));
    if (d.peers.pods.length > LISTED) lines.push(`  morepods_${i} [shape=ellipse, style=dotted, label="… ${d.peers.pods.length - LISTED} more pods"];`, edge(`morepods_${i}`));
    d.peers.ipBlocks.forEach((b, j) => lines.push(`  cidr_${i}_${j} [shape=note, label="${esc(`${b.cidr}\n${formatCount(b.addresses)} addresses`)}"];`, edge(`cidr_${i}_${j}`)));
  });
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

function esc(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
