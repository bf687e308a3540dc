import { parseArgs } from 'node:util';
import { defaultConfig, loadConfigFile } from '../config/load.js';
import type { GuardConfig } from '../config/types.js';
import { discoverSources } from '../check/discover.js';
import { formatJson } from '../check/format/json.js';
import { formatSarif } from '../check/format/sarif.js';
import { formatText } from '../check/format/text.js';
import { checkSources } from '../check/run.js';
import { toolVersion } from '../check/toolVersion.js';
import { formatTimestamp, parseTimestamp } from '../lifecycle/timestamp.js';

/**
 * `netpol-guard check`: run the admission rules over manifests before they reach a cluster (CI,
 * pre-commit, review). Exit 0 nothing denied, 1 something denied or invalid, 2 usage or read error.
 */
export const DEFAULT_CHECK_USER = 'netpol-guard-check';

const FORMATS = ['text', 'json', 'sarif'] as const;
type Format = (typeof FORMATS)[number];

const USAGE = `usage: netpol-guard check [options] PATH...

Evaluate every NetworkPolicy in the given YAML/JSON files as the admission webhook would judge
its creation. PATH is a file, a directory (searched recursively for *.yaml, *.yml, *.json) or -
for stdin. Multi-document YAML and kind: List are understood; other kinds are skipped.

options:
  --config FILE      platform config (YAML or JSON); default: the built-in config
  --now TIME         evaluate at this RFC 3339 time instead of the current time
  --format FORMAT    text (default), json or sarif
  --user NAME        username to evaluate as (default: ${DEFAULT_CHECK_USER})
  --group GROUP      a group of that user; repeat for several (default: none)
  -h, --help         show this help

exit status: 0 nothing denied, 1 a policy is denied or invalid, 2 usage or read error
`;

export async function checkCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        now: { type: 'string' },
        format: { type: 'string', default: 'text' },
        user: { type: 'string', default: DEFAULT_CHECK_USER },
        group: { type: 'string', multiple: true, default: [] },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    return usageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length === 0) return usageError('no PATH given');
  const format = values.format as Format;
  if (!(FORMATS as readonly string[]).includes(format)) return usageError(`--format must be one of ${FORMATS.join(', ')}, not "${values.format}"`);
  if (values.user === '') return usageError('--user must not be empty');

  let now = new Date();
  if (values.now !== undefined) {
    const parsedNow = parseTimestamp(values.now);
    if (!parsedNow.ok) return usageError(`--now: ${parsedNow.error}`);
    now = parsedNow.date;
  }

  let config: GuardConfig;
  if (values.config === undefined) config = defaultConfig();
  else {
    const loaded = loadConfigFile(values.config);
    if (!loaded.ok) {
      process.stderr.write(`netpol-guard check: invalid config:\n${loaded.errors.map((e) => `  ${e}\n`).join('')}`);
      return 2;
    }
    config = loaded.config;
  }

  const cwd = process.cwd();
  const discovery = await discoverSources(positionals, { cwd, readStdin });
  if (discovery.errors.length > 0) {
    process.stderr.write(discovery.errors.map((e) => `netpol-guard check: ${e}\n`).join(''));
    return 2;
  }

  if (discovery.sources.length === 0) {
    // Not an error (an empty directory is a valid input), but a wrong path in CI should not pass silently.
    process.stderr.write('netpol-guard check: warning: no .yaml, .yml or .json files found\n');
  }
  const user = { username: values.user, groups: values.group };
  const report = checkSources(discovery.sources, { config, now, user });
  const version = toolVersion();
  const output =
    format === 'json'
      ? formatJson(report, { toolVersion: version, now: formatTimestamp(now), user })
      : format === 'sarif'
        ? formatSarif(report, { toolVersion: version, config, cwd })
        : formatText(report);
  await writeStdout(output);
  return report.summary.denied > 0 ? 1 : 0;
}

function usageError(message: string): number {
  process.stderr.write(`netpol-guard check: ${message}\n\n${USAGE}`);
  return 2;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Resolve once the output is handed to the OS, so a large SARIF document is never cut off by exit. */
function writeStdout(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (err) => (err ? reject(err) : resolve()));
  });
}
