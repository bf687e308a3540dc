import type { RequestUser } from '../../policy/evaluate.js';
import type { CheckReport } from '../run.js';

/**
 * `--format json`: a stable, versioned structure for scripts. Fields are only ever added; a
 * breaking change bumps formatVersion.
 *
 * {
 *   "formatVersion": 1,
 *   "tool": { "name": "netpol-guard", "version": "0.1.0" },
 *   "evaluatedAt": "2026-11-23T18:00:00Z",          // the --now used
 *   "user": { "username": "netpol-guard-check", "groups": [] },
 *   "summary": { "files", "policies", "allowed", "warned", "denied", "invalid", "skipped" },
 *   "policies": [{
 *     "file": "deploy/db.yaml",                      // relative to the working directory; "<stdin>" for -
 *     "document": 0,                                 // 0-based index in the YAML stream
 *     "item": 2,                                     // only for objects from a List
 *     "line": 1,                                     // 1-based line where the object starts
 *     "namespace": "payments",                       // metadata.namespace or "default"; absent if unreadable
 *     "name": "allow-db",                            // absent when the document has none
 *     "verdict": "allowed" | "warn" | "denied",      // invalid documents are "denied"
 *     "disposition": "evaluated" | "exempt-namespace" | "break-glass" | "permanent-principal" | "no-access-granted" | "revocation-only",
 *                                                    // absent for invalid documents
 *     "expiresAt": "…Z", "ticket": "INC-1",          // when the grant carries them
 *     "findings": [{ "ruleId", "action": "deny" | "warn", "path", "reason", "hint", "line", "column" }],
 *     "errors":   [{ "path", "message", "line", "column" }]   // structural errors; non-empty = invalid
 *   }],
 *   "skipped": [{ "file", "document", "item"?, "line", "kind"? }]   // documents that are not NetworkPolicies
 *   "skippedRules"?: [{ "ruleId", "reason" }]   // rules that could not run (e.g. no cluster view)
 * }
 */
export const JSON_FORMAT_VERSION = 1;

export interface JsonFormatContext {
  toolVersion: string;
  now: string;
  user: RequestUser;
}

export function formatJson(report: CheckReport, context: JsonFormatContext): string {
  const document = {
    formatVersion: JSON_FORMAT_VERSION,
    tool: { name: 'netpol-guard', version: context.toolVersion },
    evaluatedAt: context.now,
    user: { username: context.user.username, groups: [...context.user.groups] },
    summary: report.summary,
    policies: report.results.map((r) => ({
      file: r.source,
      document: r.document,
      ...(r.item !== undefined && { item: r.item }),
      line: r.line,
      ...(r.namespace !== undefined && { namespace: r.namespace }),
      ...(r.name !== undefined && { name: r.name }),
      verdict: r.verdict,
      ...(r.disposition !== undefined && { disposition: r.disposition }),
      ...(r.expiresAt !== undefined && { expiresAt: r.expiresAt }),
      ...(r.ticket !== undefined && { ticket: r.ticket }),
      ...(r.profile !== undefined && { profile: r.profile }),
      ...(r.profileNote !== undefined && { profileNote: r.profileNote }),
      findings: r.findings.map((f) => ({
        ruleId: f.ruleId,
        action: f.action,
        path: f.path,
        reason: f.reason,
        hint: f.hint,
        line: f.line,
        column: f.column,
      })),
      errors: r.errors.map((e) => ({ path: e.path, message: e.message, line: e.line, column: e.column })),
    })),
    skipped: report.skipped.map((s) => ({
      file: s.source,
      document: s.document,
      ...(s.item !== undefined && { item: s.item }),
      line: s.line,
      ...(s.kind !== undefined && { kind: s.kind }),
    })),
    ...(report.skippedRules !== undefined && { skippedRules: report.skippedRules.map((r) => ({ ruleId: r.ruleId, reason: r.reason })) }),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
