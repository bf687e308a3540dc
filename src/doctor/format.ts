import type { CheckResult } from './types.js';

const MARK = { ok: '✓', problem: '✗', unknown: '?' } as const;

/** One line per check, and for a problem or an unknown its fix on the next line. */
export function formatText(results: readonly CheckResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${MARK[r.status]} ${r.id}: ${r.detail}`);
    if (r.status !== 'ok' && r.fix !== undefined) lines.push(`    fix: ${r.fix}`);
  }
  const problems = results.filter((r) => r.status === 'problem').length;
  const unknown = results.filter((r) => r.status === 'unknown').length;
  lines.push(problems + unknown === 0 ? `all ${results.length} checks passed` : `${problems} problem(s), ${unknown} could not be checked, of ${results.length} checks`);
  return `${lines.join('\n')}\n`;
}

export function formatJson(results: readonly CheckResult[], exitCode: number): string {
  return `${JSON.stringify({ exitCode, checks: results }, null, 2)}\n`;
}
