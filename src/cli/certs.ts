/**
 * `netpol-guard certs`: issue (or rotate) the webhook's serving certificate under a private CA and
 * write what a cluster needs to trust it: the TLS Secret, a caBundle patch for both webhook
 * configurations and, with --apply-to, a kustomize overlay so `kubectl apply -k OUT` installs it.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import {
  CA_CERT_FILE,
  CA_KEY_FILE,
  DEFAULT_CA_VALIDITY_DAYS,
  DEFAULT_NAMESPACE,
  DEFAULT_SERVICE,
  DEFAULT_SERVING_VALIDITY_DAYS,
  checkCertificateAuthority,
  certificatePaths,
  generateCA,
  generateServingCert,
  readKeyPair,
  servingNames,
  writeFileAtomic,
  writeKeyPair,
  type KeyPairPem,
} from '../tls/certs.js';
import {
  CA_PATCH_FILE,
  caBundle,
  type ImageOverride,
  OVERLAY_FILE,
  parseImageReference,
  renderOverlay,
  renderTlsSecret,
  renderWebhookCaPatch,
  SECRET_FILE,
  TLS_SECRET_NAME,
} from '../tls/manifests.js';
import type { CommandIo } from '../operator/runtime.js';
import { defineCommand, type FlagValues, LONG_NAMESPACE_OPTION, parseCommandArgs } from './command.js';

/** The replaced CA, still trusted in caBundle until the next run without --rotate-ca. */
export const PREVIOUS_CA_FILE = 'ca-previous.crt';

const DAY_MS = 86_400_000;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;
const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

function usage(prog: string): string {
  return `usage: ${prog} certs [options]

Create a CA and a webhook serving certificate it signs, and write the Kubernetes objects that
install them. Re-running keeps the CA (so caBundle stays valid) and issues a new serving
certificate.

options:
  --service NAME        Service the API server calls (default ${DEFAULT_SERVICE})
  --namespace NS        its namespace (default ${DEFAULT_NAMESPACE})
  --out DIR             output directory (default certs); created mode 0700
  --ip ADDR             extra IP address SAN, repeatable (e.g. 127.0.0.1 for local runs)
  --dns NAME            extra DNS SAN, repeatable
  --days N              serving certificate validity in days (default ${DEFAULT_SERVING_VALIDITY_DAYS};
                        capped at the CA's expiry)
  --ca-days N           validity of a new CA in days (default ${DEFAULT_CA_VALIDITY_DAYS})
  --rotate-ca           replace the CA; caBundle trusts the old CA too until the next plain run
  --apply-to DIR        make OUT a kustomize overlay of the base in DIR (e.g. manifests/):
                        writes OUT/${OVERLAY_FILE}, so \`kubectl apply -k OUT\` installs everything
  --component DIR       kustomize component to add to that overlay, repeatable
                        (e.g. manifests/components/sweeper-cronjob)
  --image REF           image for every container in that overlay (e.g. registry/netpol-guard:0.1.0)
  --print-ca-bundle     print the base64 caBundle on stdout (the summary goes to stderr)
  -h, --help            show this help

writes into OUT:
  ${CA_CERT_FILE}, ca.key          the CA (key mode 0600); kept across runs
  tls.crt, tls.key        the serving certificate (key mode 0600); new on every run
  ${SECRET_FILE}             Secret ${TLS_SECRET_NAME} (kubernetes.io/tls, with ca.crt), mode 0600
  ${CA_PATCH_FILE}   patch setting caBundle on both webhook configurations
  ${OVERLAY_FILE}      with --apply-to only; a later run without --apply-to keeps it as is,
                          so rotating is \`${prog} certs --out OUT && kubectl apply -k OUT\`
`;
}

export interface CertsFlags {
  service: string;
  namespace: string;
  outDir: string;
  ipAddresses: string[];
  extraDnsNames: string[];
  servingDays: number;
  caDays: number;
  rotateCA: boolean;
  applyTo: string | undefined;
  components: string[];
  image: ImageOverride | undefined;
  printCABundle: boolean;
}

export type CertsFlagsResult = { ok: true; flags: CertsFlags } | { ok: false; help: true } | { ok: false; help: false; error: string };

const CERTS_OPTIONS = {
  service: { type: 'string' },
  ...LONG_NAMESPACE_OPTION,
  out: { type: 'string' },
  ip: { type: 'string', multiple: true },
  dns: { type: 'string', multiple: true },
  days: { type: 'string' },
  'ca-days': { type: 'string' },
  'rotate-ca': { type: 'boolean' },
  'apply-to': { type: 'string' },
  component: { type: 'string', multiple: true },
  image: { type: 'string' },
  'print-ca-bundle': { type: 'boolean' },
} as const;

/** Pure: argv after `certs` → validated flags, or an error naming the offending flag. */
export function parseCertsFlags(argv: string[]): CertsFlagsResult {
  const parsed = parseCommandArgs({ options: CERTS_OPTIONS }, argv);
  return parsed.ok ? certsFlagsFrom(parsed.values) : parsed;
}

/** Pure: the parsed flags → validated flags, or an error naming the offending flag. */
function certsFlagsFrom(values: FlagValues<typeof CERTS_OPTIONS>): Exclude<CertsFlagsResult, { help: true }> {
  const fail = (error: string) => ({ ok: false, help: false, error }) as const;

  const service = values.service ?? DEFAULT_SERVICE;
  if (!DNS_LABEL.test(service)) return fail(`--service "${service}" is not a valid Service name (a DNS label: lowercase letters, digits, '-')`);
  const namespace = values.namespace ?? DEFAULT_NAMESPACE;
  if (!DNS_LABEL.test(namespace)) return fail(`--namespace "${namespace}" is not a valid namespace name (a DNS label)`);
  const outDir = values.out ?? 'certs';
  if (outDir.trim() === '') return fail('--out must name a directory');

  const ipAddresses = values.ip ?? [];
  const badIp = ipAddresses.find((ip) => isIP(ip) === 0);
  if (badIp !== undefined) return fail(`--ip "${badIp}" is not an IPv4 or IPv6 address`);
  const extraDnsNames = values.dns ?? [];
  const badDns = extraDnsNames.find((name) => !DNS_NAME.test(name));
  if (badDns !== undefined) return fail(`--dns "${badDns}" is not a valid DNS name (lowercase, no wildcard)`);

  const servingDays = parsePositiveInteger(values.days, DEFAULT_SERVING_VALIDITY_DAYS);
  if (servingDays === undefined) return fail(`--days "${values.days}" must be a positive whole number of days`);
  const caDays = parsePositiveInteger(values['ca-days'], DEFAULT_CA_VALIDITY_DAYS);
  if (caDays === undefined) return fail(`--ca-days "${values['ca-days']}" must be a positive whole number of days`);

  const applyTo = values['apply-to'];
  const components = values.component ?? [];
  if (applyTo === undefined && components.length > 0) return fail('--component needs --apply-to (it is added to the overlay that writes)');
  if (applyTo === undefined && values.image !== undefined) return fail('--image needs --apply-to (it is set in the overlay that writes)');
  let image: ImageOverride | undefined;
  if (values.image !== undefined) {
    const parsed = parseImageReference(values.image);
    if (typeof parsed === 'string') return fail(`--image: ${parsed}`);
    image = parsed;
  }

  return {
    ok: true,
    flags: {
      service,
      namespace,
      outDir,
      ipAddresses: dedupe(ipAddresses),
      extraDnsNames: dedupe(extraDnsNames),
      servingDays,
      caDays,
      rotateCA: values['rotate-ca'] === true,
      applyTo,
      components,
      image,
      printCABundle: values['print-ca-bundle'] === true,
    },
  };
}

function parsePositiveInteger(text: string | undefined, fallback: number): number | undefined {
  if (text === undefined) return fallback;
  if (!/^[0-9]+$/.test(text)) return undefined;
  const value = Number(text);
  return value > 0 && Number.isSafeInteger(value) ? value : undefined;
}

function dedupe(values: string[]): string[] {
  return [...new Set(values)];
}

function hasKustomization(dir: string): boolean {
  return KUSTOMIZATION_FILES.some((file) => existsSync(path.join(dir, file)));
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** `from` → `to` as a kustomize path: relative, '/'-separated. */
function kustomizePath(from: string, to: string): string {
  return path.relative(from, to).split(path.sep).join('/') || '.';
}

/** Problems with the --apply-to / --component directories for an overlay in `outDir`. */
function checkOverlayInputs(outDir: string, applyTo: string, components: string[]): string | undefined {
  if (!isDirectory(applyTo) || !hasKustomization(applyTo)) return `--apply-to ${applyTo}: not a directory with a kustomization.yaml`;
  const fromBase = path.relative(applyTo, outDir);
  // Kustomize refuses an overlay inside its own base (it would include itself).
  const outside = fromBase === '..' || fromBase.startsWith(`..${path.sep}`) || path.isAbsolute(fromBase);
  if (!outside) {
    return `--out ${outDir} is inside --apply-to ${applyTo}; kustomize cannot load an overlay from within its base, so pick an output directory outside it (e.g. certs/)`;
  }
  for (const component of components) {
    if (!isDirectory(component) || !hasKustomization(component)) return `--component ${component}: not a directory with a kustomization.yaml`;
  }
  return undefined;
}

interface CAOutcome {
  ca: KeyPairPem;
  generated: boolean;
  /** Why a new CA was made (empty when the existing one was kept). */
  reasons: string[];
  /** The replaced CA's certificate while it is still within its validity, to keep trusting it. */
  previous: string | undefined;
}

/** Why `pair` can never work as a CA, whatever the date; undefined when it can. */
function brokenCAReason(pair: KeyPairPem): string | undefined {
  try {
    const cert = new X509Certificate(pair.cert);
    if (!cert.ca) return `${CA_CERT_FILE} is not a CA certificate`;
    if (!cert.checkPrivateKey(createPrivateKey(pair.key))) return `${CA_KEY_FILE} does not belong to ${CA_CERT_FILE}`;
    return undefined;
  } catch (err) {
    return `${CA_CERT_FILE}/${CA_KEY_FILE} do not parse: ${(err as Error).message}`;
  }
}

/**
 * Keep the CA in `dir` if it is sound (and not being rotated), else make a new one. A CA that is
 * merely near expiry is replaced on its own; a half-present or broken one is an error unless
 * --rotate-ca says to start over, since replacing it silently would change caBundle.
 */
async function resolveCA(dir: string, flags: CertsFlags, now: Date): Promise<CAOutcome | { error: string }> {
  const paths = certificatePaths(dir);
  const existing = readKeyPair(paths.caCert, paths.caKey);
  const startOver = (reasons: string[], previous: string | undefined) =>
    generateCA({ validityDays: flags.caDays, now }).then((ca): CAOutcome => ({ ca, generated: true, reasons, previous }));

  if (existing === undefined) {
    const present = [paths.caCert, paths.caKey].filter((file) => existsSync(file)).map((file) => path.basename(file));
    if (present.length > 0 && !flags.rotateCA) {
      return { error: `${present.join(', ')} exists in ${dir} without its pair; restore the missing file, or pass --rotate-ca to make a new CA (caBundle changes)` };
    }
    return startOver([flags.rotateCA ? '--rotate-ca' : 'no CA in the output directory'], undefined);
  }
  const broken = brokenCAReason(existing);
  if (broken !== undefined) {
    if (!flags.rotateCA) return { error: `${broken} (in ${dir}); fix it, or pass --rotate-ca to make a new CA (caBundle changes)` };
    return startOver(['--rotate-ca', broken], undefined);
  }
  const problems = checkCertificateAuthority(existing, now);
  if (problems.length === 0 && !flags.rotateCA) return { ca: existing, generated: false, reasons: [], previous: undefined };
  // A near-expiry or rotated CA still verifies today; keep trusting it so the switch is seamless.
  const stillValid = checkCertificateAuthority(existing, now, 0).length === 0;
  return startOver(flags.rotateCA ? ['--rotate-ca'] : problems, stillValid ? existing.cert : undefined);
}

function certificateFacts(pem: string): { serial: string; notAfter: Date } {
  const x509 = new X509Certificate(pem);
  return { serial: x509.serialNumber, notAfter: new Date(x509.validTo) };
}

export const certsCommand = defineCommand({
  name: 'certs',
  summary: 'create or rotate the webhook certificates (Secret, caBundle)',
  usage,
  options: CERTS_OPTIONS,
  validate: certsFlagsFrom,
  onUsageError: { pointTo: 'options' },
  run: async ({ flags, io, say }) => issue(flags, io, say),
});

/** Keep or replace the CA, issue a serving certificate, and write the files that install them. */
async function issue(flags: CertsFlags, io: CommandIo, say: (text: string) => void): Promise<number> {
  const outDir = path.resolve(io.cwd(), flags.outDir);
  const applyTo = flags.applyTo === undefined ? undefined : path.resolve(io.cwd(), flags.applyTo);
  const components = flags.components.map((c) => path.resolve(io.cwd(), c));
  if (applyTo !== undefined) {
    const problem = checkOverlayInputs(outDir, applyTo, components);
    if (problem !== undefined) {
      say(problem);
      return 2;
    }
  }

  const now = io.now();
  const names = servingNames({ service: flags.service, namespace: flags.namespace, includeLoopback: false });
  const dnsNames = dedupe([...names.dnsNames, ...flags.extraDnsNames]);

  const resolved = await resolveCA(outDir, flags, now);
  if ('error' in resolved) {
    say(resolved.error);
    return 2;
  }
  const caOutcome = resolved;
  const caNotAfter = certificateFacts(caOutcome.ca.cert).notAfter;
  // A serving certificate outliving its CA would stop verifying when the CA expires.
  const caDaysLeft = Math.floor((caNotAfter.getTime() - now.getTime()) / DAY_MS);
  const servingDays = Math.min(flags.servingDays, caDaysLeft);
  const serving = await generateServingCert({
    ca: caOutcome.ca,
    dnsNames,
    ipAddresses: flags.ipAddresses,
    commonName: names.commonName,
    validityDays: servingDays,
    now,
  });

  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const paths = certificatePaths(outDir);
  const previousFile = path.join(outDir, PREVIOUS_CA_FILE);
  if (caOutcome.generated) writeKeyPair(paths.caCert, paths.caKey, caOutcome.ca);
  writeKeyPair(paths.cert, paths.key, serving);
  if (caOutcome.previous !== undefined) writeFileAtomic(previousFile, caOutcome.previous, 0o644);
  else rmSync(previousFile, { force: true });

  const trusted = [caOutcome.ca.cert, ...(caOutcome.previous === undefined ? [] : [caOutcome.previous])];
  const bundle = caBundle(trusted);
  const written = [
    ...(caOutcome.generated ? [CA_CERT_FILE, path.basename(paths.caKey)] : []),
    ...(caOutcome.previous !== undefined ? [PREVIOUS_CA_FILE] : []),
    path.basename(paths.cert),
    path.basename(paths.key),
    SECRET_FILE,
    CA_PATCH_FILE,
  ];
  writeFileAtomic(path.join(outDir, SECRET_FILE), renderTlsSecret({ namespace: flags.namespace, serving, caCert: caOutcome.ca.cert }), 0o600);
  writeFileAtomic(path.join(outDir, CA_PATCH_FILE), renderWebhookCaPatch(bundle), 0o644);
  if (applyTo !== undefined) {
    const overlay = renderOverlay({
      base: kustomizePath(outDir, applyTo),
      components: components.map((c) => kustomizePath(outDir, c)),
      image: flags.image,
    });
    writeFileAtomic(path.join(outDir, OVERLAY_FILE), overlay, 0o644);
    written.push(OVERLAY_FILE);
  }

  const caInfo = certificateFacts(caOutcome.ca.cert);
  const servingInfo = certificateFacts(serving.cert);
  const display = path.relative(io.cwd(), outDir) || '.';
  const summary = [
    caOutcome.generated
      ? `CA: new (${caOutcome.reasons.join('; ')}), serial ${caInfo.serial}, expires ${caInfo.notAfter.toISOString()}`
      : `CA: kept, serial ${caInfo.serial}, expires ${caInfo.notAfter.toISOString()}`,
    `serving certificate: new, serial ${servingInfo.serial}, expires ${servingInfo.notAfter.toISOString()}`,
    `  names: ${[...dnsNames, ...flags.ipAddresses].join(', ')}`,
    ...(servingDays < flags.servingDays ? [`  validity capped at ${servingDays} days by the CA's expiry`] : []),
    ...(caOutcome.previous !== undefined
      ? [`caBundle: new and previous CA (${PREVIOUS_CA_FILE}); once the new certificate is served, run again without --rotate-ca to drop the old CA`]
      : [`caBundle: ${caOutcome.generated ? 'new CA' : 'unchanged'}`]),
    `wrote ${written.map((f) => path.join(display, f)).join(', ')}`,
    applyTo !== undefined || hasKustomization(outDir)
      ? `next: kubectl apply -k ${display}`
      : `next: kubectl apply -f ${path.join(display, SECRET_FILE)}, and add ${path.join(display, CA_PATCH_FILE)} to your kustomization's patches`,
  ];
  if (flags.printCABundle) {
    io.stderr(`${summary.join('\n')}\n`);
    io.stdout(`${bundle}\n`);
  } else {
    io.stdout(`${summary.join('\n')}\n`);
  }
  return 0;
}
