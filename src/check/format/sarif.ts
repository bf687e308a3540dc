import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { GuardConfig } from '../../config/types.js';
import { RULE_IDS } from '../../policy/ruleIds.js';
import { STDIN_NAME } from '../discover.js';
import { RULE_CATALOG } from '../ruleCatalog.js';
import { INVALID_MANIFEST_RULE_ID, type CheckReport, type PolicyResult } from '../run.js';

/**
 * `--format sarif`: SARIF 2.1.0 for code-scanning tools. One result per finding and per structural
 * error; allowed policies produce no results. Artifact URIs are relative to the working directory
 * (base id SRCROOT), which is what repository-based viewers resolve against; stdin is "stdin".
 */
export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';
export const TOOL_INFORMATION_URI = 'https://netpol-guard.io/';
const SRCROOT = 'SRCROOT';
const FINGERPRINT_KEY = 'netpolGuardFinding/v1';

type SarifLevel = 'error' | 'warning' | 'note' | 'none';

export interface SarifFormatContext {
  toolVersion: string;
  config: GuardConfig;
  /** Absolute working directory; recorded as the SRCROOT base so relative URIs can be resolved. */
  cwd?: string;
}

/** Rule ids in reportingDescriptor order; ruleIndex points into this. */
export const SARIF_RULE_IDS = [...RULE_IDS, INVALID_MANIFEST_RULE_ID] as const;

export function formatSarif(report: CheckReport, context: SarifFormatContext): string {
  return `${JSON.stringify(buildSarif(report, context), null, 2)}\n`;
}

export function buildSarif(report: CheckReport, context: SarifFormatContext): Record<string, unknown> {
  const ruleIndex = new Map<string, number>(SARIF_RULE_IDS.map((id, i) => [id, i]));
  const rules = SARIF_RULE_IDS.map((id) => {
    const doc = RULE_CATALOG[id];
    const level = defaultLevel(id, context.config);
    return {
      id,
      shortDescription: { text: doc.short },
      fullDescription: { text: doc.full },
      help: { text: doc.help },
      defaultConfiguration: { level, ...(level === 'none' && { enabled: false }) },
      properties: { tags: ['kubernetes', 'networkpolicy', 'security'] },
    };
  });

  const results: Record<string, unknown>[] = [];
  for (const policy of report.results) {
    for (const error of policy.errors) {
      const where = error.path === '' ? '' : `${error.path} `;
      results.push(
        result(policy, INVALID_MANIFEST_RULE_ID, ruleIndex, 'error', `${subject(policy)}: ${where}${error.message}`, error.path, error),
      );
    }
    for (const finding of policy.findings) {
      results.push(
        result(
          policy,
          finding.ruleId,
          ruleIndex,
          finding.action === 'deny' ? 'error' : 'warning',
          `${subject(policy)}: ${finding.path} ${finding.reason}; ${finding.hint}`,
          finding.path,
          finding,
        ),
      );
    }
  }

  return {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'netpol-guard',
            informationUri: TOOL_INFORMATION_URI,
            version: context.toolVersion,
            semanticVersion: context.toolVersion,
            rules,
          },
        },
        ...(context.cwd !== undefined && { originalUriBaseIds: { [SRCROOT]: { uri: directoryUri(context.cwd) } } }),
        results,
      },
    ],
  };
}

function result(
  policy: PolicyResult,
  ruleId: string,
  ruleIndex: Map<string, number>,
  level: SarifLevel,
  text: string,
  path: string,
  at: { line: number; column: number },
): Record<string, unknown> {
  const uri = artifactUri(policy.source);
  return {
    ruleId,
    ruleIndex: ruleIndex.get(ruleId),
    level,
    message: { text },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri, ...(policy.source !== STDIN_NAME && { uriBaseId: SRCROOT }) },
          region: { startLine: at.line, startColumn: at.column },
        },
        ...(policy.name !== undefined && {
          logicalLocations: [{ fullyQualifiedName: `${policy.namespace ?? 'default'}/${policy.name}`, kind: 'resource' }],
        }),
      },
    ],
    // Keyed on what the problem is, not on its line, so moving a policy within a file keeps its identity.
    partialFingerprints: { [FINGERPRINT_KEY]: fingerprint(uri, policy, ruleId, path) },
    properties: {
      document: policy.document,
      ...(policy.item !== undefined && { item: policy.item }),
      ...(policy.namespace !== undefined && { namespace: policy.namespace }),
      ...(policy.name !== undefined && { name: policy.name }),
      path,
    },
  };
}

function subject(policy: PolicyResult): string {
  if (policy.name !== undefined) return `NetworkPolicy ${policy.namespace ?? 'default'}/${policy.name}`;
  return `document ${policy.document}${policy.item === undefined ? '' : ` item ${policy.item}`}`;
}

function defaultLevel(id: (typeof SARIF_RULE_IDS)[number], config: GuardConfig): SarifLevel {
  if (id === INVALID_MANIFEST_RULE_ID) return 'error';
  const action = config.rules[id];
  if (action === 'off') return 'none';
  return action === 'warn' || config.mode === 'warn' ? 'warning' : 'error';
}

/** Relative path → URI reference: each segment percent-encoded, `/` kept. */
export function artifactUri(source: string): string {
  if (source === STDIN_NAME) return 'stdin';
  return source.split('/').map(encodeURIComponent).join('/');
}

function directoryUri(cwd: string): string {
  const href = pathToFileURL(cwd).href;
  return href.endsWith('/') ? href : `${href}/`;
}

function fingerprint(uri: string, policy: PolicyResult, ruleId: string, path: string): string {
  const identity = policy.name !== undefined ? `${policy.namespace ?? 'default'}/${policy.name}` : `#${policy.document}.${policy.item ?? ''}`;
  return createHash('sha256').update([uri, identity, ruleId, path].join('\u0000')).digest('hex');
}
