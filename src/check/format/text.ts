import { formatFinding } from '../../policy/findings.js';
import { RULE_IDS } from '../../policy/ruleIds.js';
import { RULE_CATALOG } from '../ruleCatalog.js';
import { INVALID_MANIFEST_RULE_ID, type CheckReport, type PolicyResult } from '../run.js';

export interface TextOptions {
  /** After the results, explain each rule that fired once: why it exists and how to fix it. */
  explain?: boolean;
}

/**
 * Human output: one headline per policy (`file#doc namespace/name: DENIED`), then one indented
 * `[rule-id] path reason; hint` line per finding, then a summary line.
 */
export function formatText(report: CheckReport, options: TextOptions = {}): string {
  const lines: string[] = [];
  for (const result of report.results) {
    const profile = result.profile === undefined ? '' : ` (profile ${result.profile})`;
    lines.push(`${resultLabel(result)}: ${result.verdict === 'denied' ? 'DENIED' : result.verdict === 'warn' ? 'WARN' : 'ALLOWED'}${profile}`);
    if (result.profileNote !== undefined) lines.push(`  note: ${result.profileNote}`);
    for (const error of result.errors) {
      lines.push(`  [${INVALID_MANIFEST_RULE_ID}] ${error.path === '' ? '' : `${error.path} `}${error.message}`);
    }
    // A denied policy can also carry warn-only findings; mark those so the reader knows which ones block.
    const denyFirst = [...result.findings].sort((a, b) => (a.action === b.action ? 0 : a.action === 'deny' ? -1 : 1));
    for (const finding of denyFirst) {
      const marker = result.verdict === 'denied' && finding.action === 'warn' ? 'warning: ' : '';
      lines.push(`  ${marker}${formatFinding(finding)}`);
    }
  }
  // A rule that could not run is said once, so a clean result is not mistaken for a full check.
  for (const rule of report.skippedRules ?? []) lines.push(`note: rule ${rule.ruleId} skipped: ${rule.reason}`);
  lines.push(summaryLine(report));
  if (options.explain) lines.push(...explanations(report));
  return `${lines.join('\n')}\n`;
}

/** One paragraph per rule that fired (catalog order, invalid-manifest last), from the rule registry. */
function explanations(report: CheckReport): string[] {
  const fired = new Set<string>();
  for (const result of report.results) {
    if (result.errors.length > 0) fired.add(INVALID_MANIFEST_RULE_ID);
    for (const finding of result.findings) fired.add(finding.ruleId);
  }
  if (fired.size === 0) return [];
  const lines = ['', 'why these rules fired:'];
  for (const id of [...RULE_IDS, INVALID_MANIFEST_RULE_ID] as const) {
    if (!fired.has(id)) continue;
    const rule = RULE_CATALOG[id];
    lines.push(`  [${id}] ${rule.short}`, `    ${rule.full}`, `    fix: ${rule.help}`);
  }
  return lines;
}

/** `file#doc namespace/name`, with `.items[i]` for objects that came from a List. */
export function resultLabel(result: PolicyResult): string {
  const where = `${result.source}#${result.document}${result.item === undefined ? '' : `.items[${result.item}]`}`;
  if (result.name === undefined) return result.namespace === undefined ? where : `${where} ${result.namespace}/<unnamed>`;
  return `${where} ${result.namespace ?? 'default'}/${result.name}`;
}

export function summaryLine(report: CheckReport): string {
  const s = report.summary;
  const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
  const invalid = s.invalid > 0 ? ` (${s.invalid} invalid)` : '';
  return (
    `checked ${plural(s.policies, 'NetworkPolicy', 'NetworkPolicies')} in ${plural(s.files, 'file', 'files')}: ` +
    `${s.denied} denied${invalid}, ${s.warned} with warnings, ${s.allowed} allowed; ` +
    `${plural(s.skipped, 'other document', 'other documents')} skipped`
  );
}
