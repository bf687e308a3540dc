import type { V1NetworkPolicyPort } from '@kubernetes/client-node';
import { parseLabelList } from '../config/profiles.js';
import { type FlagValues, parseCommandArgs } from '../cli/command.js';
import { parseDuration } from '../lifecycle/duration.js';
import { formatAddress, parseCidr } from '../policy/cidr.js';
import { parsePort } from './ports.js';
import { isDnsLabel, isDnsSubdomain, parseNamespaceSelector, parseSelector } from './selectors.js';

export type GrantDirection = 'ingress' | 'egress';
/** `report`: --dry-run, explain's report of the grant (in `reportFormat`); yaml/json: the manifest. */
export type GrantOutput = 'apply' | 'yaml' | 'json' | 'report';
export type GrantReportFormat = 'text' | 'json' | 'dot';

/**
 * Everything `grant` was asked for, syntax-checked but not judged: a missing ticket, TTL, port or
 * peer is left absent so the rules engine (not the flag parser) says what is wrong, in the same
 * words the webhook would.
 */
export interface GrantRequest {
  direction: GrantDirection;
  namespace: string | undefined;
  name: string | undefined;
  /** spec.podSelector: the pods receiving (ingress) or sending (egress) the traffic. */
  podSelector: Record<string, string> | undefined;
  /** Resolve spec.podSelector from this pod's labels instead. */
  podName: string | undefined;
  cidrs: string[];
  peerPods: Record<string, string> | undefined;
  peerNamespaces: Record<string, string> | undefined;
  ports: V1NetworkPolicyPort[];
  /** As typed (e.g. `2h`); already known to parse. */
  ttl: string | undefined;
  ticket: string | undefined;
  output: GrantOutput;
  /** The --dry-run report's format (-o text|json|dot); text unless -o says otherwise. */
  reportFormat: GrantReportFormat;
  /** `--cluster`: choose the profile from the live namespace's labels. */
  cluster: boolean;
  configPath: string | undefined;
  kubeconfig: string | undefined;
  skipLocalCheck: boolean;
  /** `--namespace-labels`: the namespace's labels, to choose the config's profile for the local check. */
  namespaceLabels?: Record<string, string>;
  /** Where approval is required: wait for the request to open, be denied or lapse (--wait). */
  wait?: boolean;
  /** Where approval is required: why, for the approvers (--reason). */
  reason?: string;
}

export type GrantRequestResult = { ok: true; request: GrantRequest } | { ok: false; help: false; error: string };
export type GrantFlagsResult = GrantRequestResult | { ok: false; help: true };

/**
 * The flag names of each direction. The pods the policy selects are the "local" end of the
 * traffic, so they are named after the side they are on: `--to` for ingress (traffic comes to
 * them), `--from` for egress (traffic leaves from them); the peers are the other side.
 */
export interface DirectionFlags {
  pods: string;
  pod: string;
  cidr: string;
  peerPods: string;
  peerNamespace: string;
}

export const DIRECTION_FLAGS: Record<GrantDirection, DirectionFlags> = {
  ingress: { pods: 'to', pod: 'to-pod', cidr: 'from-cidr', peerPods: 'from-pods', peerNamespace: 'from-namespace' },
  egress: { pods: 'from', pod: 'from-pod', cidr: 'to-cidr', peerPods: 'to-pods', peerNamespace: 'to-namespace' },
};

export const GRANT_OPTIONS = {
  namespace: { type: 'string', short: 'n' },
  name: { type: 'string' },
  egress: { type: 'boolean' },
  ingress: { type: 'boolean' },
  to: { type: 'string', multiple: true },
  'to-pod': { type: 'string', multiple: true },
  from: { type: 'string', multiple: true },
  'from-pod': { type: 'string', multiple: true },
  'from-cidr': { type: 'string', multiple: true },
  'from-pods': { type: 'string', multiple: true },
  'from-namespace': { type: 'string', multiple: true },
  'to-cidr': { type: 'string', multiple: true },
  'to-pods': { type: 'string', multiple: true },
  'to-namespace': { type: 'string', multiple: true },
  port: { type: 'string', multiple: true },
  for: { type: 'string' },
  ticket: { type: 'string' },
  'dry-run': { type: 'boolean' },
  output: { type: 'string', short: 'o' },
  config: { type: 'string' },
  kubeconfig: { type: 'string' },
  'skip-local-check': { type: 'boolean' },
  'namespace-labels': { type: 'string' },
  cluster: { type: 'boolean' },
  wait: { type: 'boolean' },
  reason: { type: 'string' },
} as const;

const fail = (error: string): GrantRequestResult => ({ ok: false, help: false, error });

/** Pure: argv after `grant` → a request, or an error naming the flag and the value. */
export function parseGrantFlags(argv: string[]): GrantFlagsResult {
  const parsed = parseCommandArgs({ options: GRANT_OPTIONS }, argv);
  return parsed.ok ? grantRequestFrom(parsed.values) : parsed;
}

/** Pure: the parsed flags of `grant` → a request, or an error naming the flag and the value. */
export function grantRequestFrom(values: FlagValues<typeof GRANT_OPTIONS>): GrantRequestResult {
  if (values.egress && values.ingress) return fail('choose one of --ingress (the default) or --egress');
  const direction: GrantDirection = values.egress ? 'egress' : 'ingress';
  const flags = DIRECTION_FLAGS[direction];
  const other = DIRECTION_FLAGS[direction === 'ingress' ? 'egress' : 'ingress'];

  for (const key of Object.keys(other) as (keyof DirectionFlags)[]) {
    const flag = other[key];
    if (values[flag as keyof typeof values] !== undefined) return fail(misplacedFlag(direction, flag, flags[key]));
  }

  const namespace = values.namespace;
  if (namespace !== undefined && !isDnsLabel(namespace)) return fail(`-n/--namespace "${namespace}" is not a valid namespace name`);
  const name = values.name;
  if (name !== undefined && !isDnsSubdomain(name)) {
    return fail(`--name "${name}" is not a valid object name (lower-case letters, digits, "-" and ".", at most 253)`);
  }

  const podsValues = values[flags.pods as 'to' | 'from'] ?? [];
  const podValues = values[flags.pod as 'to-pod' | 'from-pod'] ?? [];
  if (podsValues.length > 1) return fail(`--${flags.pods} given ${podsValues.length} times; write one selector with commas, e.g. app=db,tier=primary`);
  if (podValues.length > 1) return fail(`--${flags.pod} given ${podValues.length} times; a grant selects the pods of one pod's labels`);
  if (podsValues.length > 0 && podValues.length > 0) return fail(`use either --${flags.pods} or --${flags.pod}, not both`);
  let podSelector: Record<string, string> | undefined;
  if (podsValues[0] !== undefined) {
    const parsed = parseSelector(podsValues[0]);
    if (!parsed.ok) return fail(`--${flags.pods} ${parsed.error}`);
    podSelector = parsed.matchLabels;
  }
  const podName = podValues[0];
  if (podName !== undefined && !isDnsSubdomain(podName)) return fail(`--${flags.pod} "${podName}" is not a valid pod name`);

  const cidrs: string[] = [];
  for (const text of values[flags.cidr as 'from-cidr' | 'to-cidr'] ?? []) {
    const problem = cidrProblem(text.trim());
    if (problem !== undefined) return fail(`--${flags.cidr} ${problem}`);
    if (!cidrs.includes(text.trim())) cidrs.push(text.trim());
  }

  const peerPodsValues = values[flags.peerPods as 'from-pods' | 'to-pods'] ?? [];
  const peerNsValues = values[flags.peerNamespace as 'from-namespace' | 'to-namespace'] ?? [];
  if (peerPodsValues.length > 1) return fail(`--${flags.peerPods} given ${peerPodsValues.length} times; write one selector with commas`);
  if (peerNsValues.length > 1) return fail(`--${flags.peerNamespace} given ${peerNsValues.length} times; name one namespace or one selector`);
  let peerPods: Record<string, string> | undefined;
  if (peerPodsValues[0] !== undefined) {
    const parsed = parseSelector(peerPodsValues[0]);
    if (!parsed.ok) return fail(`--${flags.peerPods} ${parsed.error}`);
    peerPods = parsed.matchLabels;
  }
  let peerNamespaces: Record<string, string> | undefined;
  if (peerNsValues[0] !== undefined) {
    const parsed = parseNamespaceSelector(peerNsValues[0]);
    if (!parsed.ok) return fail(`--${flags.peerNamespace} ${parsed.error}`);
    peerNamespaces = parsed.matchLabels;
  }

  const ports: V1NetworkPolicyPort[] = [];
  for (const text of values.port ?? []) {
    const parsed = parsePort(text);
    if (!parsed.ok) return fail(`--port ${parsed.error}`);
    const key = JSON.stringify(parsed.port);
    if (!ports.some((p) => JSON.stringify(p) === key)) ports.push(parsed.port);
  }

  const ttl = values.for?.trim();
  if (ttl !== undefined) {
    const parsed = parseDuration(ttl);
    if (!parsed.ok) return fail(`--for ${parsed.error}`);
  }

  if (values.wait === true && (values['dry-run'] || values.output !== undefined)) return fail('--wait waits for a request that is sent; it cannot go with --dry-run or -o');
  if (values.reason !== undefined && (values.reason.length > 1024 || values.reason.trim() === '')) return fail('--reason must be 1 to 1024 characters');
  // --dry-run prints explain's report (-o text|json|dot), or with -o yaml the manifest as kubectl's
  // --dry-run -o yaml would; without --dry-run, -o yaml|json print the manifest.
  let output: GrantOutput = 'apply';
  let reportFormat: GrantReportFormat = 'text';
  const o = values.output;
  const isReportFormat = o === 'text' || o === 'json' || o === 'dot';
  if (values['dry-run']) {
    if (o === undefined || isReportFormat) {
      output = 'report';
      if (o !== undefined) reportFormat = o;
    } else if (o === 'yaml') output = 'yaml';
    else return fail(`-o/--output with --dry-run must be text, json or dot (the report) or yaml (the manifest), not "${o}"`);
  } else if (o !== undefined) {
    if (o === 'yaml' || o === 'json') output = o;
    else if (isReportFormat) return fail(`-o ${o} is a format of the --dry-run report: add --dry-run (or use -o yaml or json for the manifest)`);
    else return fail(`-o/--output must be yaml or json, not "${o}"`);
  }
  const cluster = values.cluster ?? false;
  if (values['namespace-labels'] !== undefined) {
    if (cluster) return fail('give either --cluster (read the live labels) or --namespace-labels, not both');
    if (output === 'report') return fail("--dry-run reads the live namespace's labels itself; drop --namespace-labels");
  }
  for (const flag of ['config', 'kubeconfig', 'ticket'] as const) {
    if (values[flag] === '') return fail(`--${flag} must not be empty`);
  }

  let namespaceLabels: Record<string, string> | undefined;
  if (values['namespace-labels'] !== undefined) {
    const labels = parseLabelList(values['namespace-labels']);
    if (!labels.ok) return { ok: false, help: false, error: `--namespace-labels: ${labels.error}` };
    namespaceLabels = labels.labels;
  }
  return {
    ok: true,
    request: {
      ...(namespaceLabels !== undefined && { namespaceLabels }),
      direction,
      namespace,
      name,
      podSelector,
      podName,
      cidrs,
      peerPods,
      peerNamespaces,
      ports,
      ttl,
      ticket: values.ticket,
      output,
      reportFormat,
      cluster,
      configPath: values.config,
      kubeconfig: values.kubeconfig,
      skipLocalCheck: values['skip-local-check'] ?? false,
      ...(values.wait === true && { wait: true }),
      ...(values.reason !== undefined && { reason: values.reason }),
    },
  };
}

function misplacedFlag(direction: GrantDirection, given: string, instead: string): string {
  if (direction === 'ingress') {
    if (given === 'from' || given === 'from-pod') {
      return `--${given} selects the sending pods of an --egress grant; an ingress grant takes its sources from --from-pods, --from-namespace or --from-cidr, and --to/--to-pod select the pods receiving the traffic`;
    }
    return `--${given} names destinations of an --egress grant; for an ingress grant use --${instead} (or add --egress to open outbound traffic)`;
  }
  if (given === 'to' || given === 'to-pod') {
    return `with --egress, --from/--from-pod select the pods sending the traffic and --to-pods, --to-namespace or --to-cidr name the destinations; --${given} is for ingress grants`;
  }
  return `--${given} names sources of an ingress grant; with --egress use --${instead}`;
}

/**
 * A CIDR that parses and has no host bits set: `198.51.100.7/24` is almost always a typo for the
 * /24 network or the /32 host, and the difference matters for what gets opened.
 */
export function cidrProblem(text: string): string | undefined {
  const parsed = parseCidr(text);
  if (!parsed.ok) return parsed.error;
  const { cidr } = parsed;
  if (!cidr.hostBits || cidr.mapped) return undefined;
  if (cidr.family === 4) {
    const address = text.slice(0, text.indexOf('/'));
    return `"${text}" has host bits set; did you mean ${formatAddress(4, cidr.network)}/${cidr.prefix} (the network) or ${address}/32 (one host)?`;
  }
  return `"${text}" has host bits set beyond /${cidr.prefix}; write the network address, or /128 for one host`;
}
