import { defaultConfig, loadConfigFile } from '../config/load.js';
import { parseLabelList } from '../config/profiles.js';
import type { GuardConfig } from '../config/types.js';
import { discoverSources } from '../check/discover.js';
import { formatJson } from '../check/format/json.js';
import { formatSarif } from '../check/format/sarif.js';
import { formatText } from '../check/format/text.js';
import { checkSources, policyNamespaces } from '../check/run.js';
import { toolVersion } from '../check/toolVersion.js';
import { formatTimestamp, parseTimestamp } from '../lifecycle/timestamp.js';
import { CONFIG_OPTION, defineCommand, KUBECONFIG_OPTION, resolveConfigPath } from './command.js';

/**
 * `netpol-guard check`: run the admission rules over manifests before they reach a cluster (CI,
 * pre-commit, review). Exit 0 nothing denied, 1 something denied or invalid, 2 usage or read error.
 */
export const DEFAULT_CHECK_USER = 'netpol-guard-check';

const FORMATS = ['text', 'json', 'sarif'] as const;
type Format = (typeof FORMATS)[number];

function usage(prog: string): string {
  return `usage: ${prog} check [options] PATH...

Evaluate every NetworkPolicy in the given YAML/JSON files as the admission webhook would judge
its creation. PATH is a file, a directory (searched recursively for *.yaml, *.yml, *.json) or -
for stdin. Multi-document YAML and kind: List are understood; other kinds are skipped.

options:
  --config FILE      platform config (YAML or JSON); default: $NETPOL_GUARD_CONFIG, else the
                     built-in config
  --now TIME         evaluate at this RFC 3339 time instead of the current time
  --format FORMAT    text (default), json or sarif
  --user NAME        username to evaluate as (default: ${DEFAULT_CHECK_USER})
  --group GROUP      a group of that user; repeat for several (default: none)
  --explain          after the results, explain once each rule that fired: why it exists and
                     how to fix it (text format)
  --namespace-labels K=V,...  labels of the namespace(s) checked, to choose the config's profile
                     as the webhook would from the live namespace (profiles matching on labels)
  --cluster          read each checked namespace's labels from the live cluster instead (one
                     GET per namespace with your kubeconfig; a missing namespace is an error).
                     Only the labels: rules that need pods and policies stay skipped ('explain'
                     runs them). Without --cluster, check never contacts a cluster
  --kubeconfig FILE  with --cluster: default $KUBECONFIG, else ~/.kube/config
  -h, --help         show this help

exit status: 0 nothing denied, 1 a policy is denied or invalid, 2 usage or read error (also:
--cluster could not read a namespace)
`;
}

export const checkCommand = defineCommand({
  name: 'check',
  summary: 'evaluate NetworkPolicy manifests offline',
  usage,
  options: {
    ...CONFIG_OPTION,
    now: { type: 'string' },
    format: { type: 'string', default: 'text' },
    user: { type: 'string', default: DEFAULT_CHECK_USER },
    group: { type: 'string', multiple: true, default: [] },
    explain: { type: 'boolean', default: false },
    'namespace-labels': { type: 'string' },
    cluster: { type: 'boolean', default: false },
    ...KUBECONFIG_OPTION,
  },
  positionals: { name: 'PATH', min: 1 },
  onUsageError: 'usage',
  run: async ({ flags, positionals, io, say, usageError }) => {
    const format = flags.format as Format;
    if (!(FORMATS as readonly string[]).includes(format)) return usageError(`--format must be one of ${FORMATS.join(', ')}, not "${flags.format}"`);
    if (flags.user === '') return usageError('--user must not be empty');
    if (flags.explain && format !== 'text') return usageError(`--explain is for the text format; ${format} output already carries each rule's description`);
    if (flags.cluster && flags['namespace-labels'] !== undefined) return usageError('give either --cluster (read the live labels) or --namespace-labels, not both');
    if (!flags.cluster && flags.kubeconfig !== undefined) return usageError('--kubeconfig is read only with --cluster; check is offline otherwise');

    let now = io.now();
    if (flags.now !== undefined) {
      const parsedNow = parseTimestamp(flags.now);
      if (!parsedNow.ok) return usageError(`--now: ${parsedNow.error}`);
      now = parsedNow.date;
    }

    let config: GuardConfig;
    const configPath = resolveConfigPath(flags.config, io.env);
    if (configPath === undefined) config = defaultConfig();
    else {
      const loaded = loadConfigFile(configPath);
      if (!loaded.ok) {
        say(`invalid config:\n${loaded.errors.map((e) => `  ${e}`).join('\n')}`);
        return 2;
      }
      config = loaded.config;
    }

    const cwd = io.cwd();
    const discovery = await discoverSources(positionals, { cwd, readStdin: io.readStdin });
    if (discovery.errors.length > 0) {
      for (const error of discovery.errors) say(error);
      return 2;
    }

    if (discovery.sources.length === 0) {
      // Not an error (an empty directory is a valid input), but a wrong path in CI should not pass silently.
      say('warning: no .yaml, .yml or .json files found');
    }
    const user = { username: flags.user, groups: flags.group };
    let namespaceLabels: Record<string, string> | undefined;
    if (flags['namespace-labels'] !== undefined) {
      const parsedLabels = parseLabelList(flags['namespace-labels']);
      if (!parsedLabels.ok) return usageError(`--namespace-labels: ${parsedLabels.error}`);
      namespaceLabels = parsedLabels.labels;
    }
    let labelsByNamespace: ReadonlyMap<string, Readonly<Record<string, string>>> | undefined;
    if (flags.cluster) {
      // Loaded only here: @kubernetes/client-node takes seconds to load, and check is offline by default.
      const { readLiveNamespaceLabelsWith } = await import('./liveNamespaces.js');
      labelsByNamespace = await readLiveNamespaceLabelsWith(flags.kubeconfig, policyNamespaces(discovery.sources), say);
      if (labelsByNamespace === undefined) return 2;
    }
    const report = checkSources(discovery.sources, {
      config,
      now,
      user,
      ...(namespaceLabels !== undefined && { namespaceLabels }),
      ...(labelsByNamespace !== undefined && { labelsByNamespace }),
    });
    const version = toolVersion();
    // A large SARIF document is not cut off: main sets process.exitCode and never calls exit().
    io.stdout(
      format === 'json'
        ? formatJson(report, { toolVersion: version, now: formatTimestamp(now), user })
        : format === 'sarif'
          ? formatSarif(report, { toolVersion: version, config, cwd })
          : formatText(report, { explain: flags.explain }),
    );
    return report.summary.denied > 0 ? 1 : 0;
  },
});
