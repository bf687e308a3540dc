/**
 * Certificate generation for netpol-guard: a private CA and a serving certificate it signs, both
 * ECDSA P-256 / SHA-256 (the same algorithms as the cert-manager component).
 *
 * Files in a certificates directory (the layout `serve` and `certs` share):
 *   ca.crt   CA certificate (PEM): the webhook configurations' caBundle; clients trust this
 *   ca.key   CA private key (PEM PKCS#8, mode 0600): only needed to issue new serving certs
 *   tls.crt  serving certificate (PEM), signed by ca.crt
 *   tls.key  serving private key (PEM PKCS#8, mode 0600)
 * tls.crt/tls.key are also the key names of a kubernetes.io/tls Secret, so the directory can be
 * turned into the Secret the Deployment mounts.
 */
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { generate } from 'selfsigned';
import { checkKeyPair, type KeyPairPem } from './keypair.js';

export type { KeyPairPem } from './keypair.js';

export const CA_CERT_FILE = 'ca.crt';
export const CA_KEY_FILE = 'ca.key';
export const SERVING_CERT_FILE = 'tls.crt';
export const SERVING_KEY_FILE = 'tls.key';

export const DEFAULT_SERVICE = 'netpol-guard';
export const DEFAULT_NAMESPACE = 'netpol-guard';
export const DEFAULT_CA_COMMON_NAME = 'netpol-guard-ca';
export const DEFAULT_CA_VALIDITY_DAYS = 3650;
export const DEFAULT_SERVING_VALIDITY_DAYS = 365;
/** Reuse a certificate only while it has at least this long left, so a restart renews in time. */
export const DEFAULT_RENEW_BEFORE_DAYS = 30;

const DAY_MS = 86_400_000;
/** notBefore is set this far back so a peer whose clock runs a little behind still accepts it. */
const CLOCK_SKEW_MS = 60 * 60 * 1000;

export interface CertificatePaths {
  dir: string;
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

export function certificatePaths(dir: string): CertificatePaths {
  return {
    dir,
    caCert: path.join(dir, CA_CERT_FILE),
    caKey: path.join(dir, CA_KEY_FILE),
    cert: path.join(dir, SERVING_CERT_FILE),
    key: path.join(dir, SERVING_KEY_FILE),
  };
}

export interface ServingNames {
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
}

/**
 * The names a serving certificate needs: the in-cluster Service names the API server dials
 * (`<service>.<namespace>.svc` is what clientConfig.service resolves to) and, unless
 * `includeLoopback` is false, the loopback names used for local runs and tests.
 */
export function servingNames(
  options: { service?: string; namespace?: string; clusterDomain?: string; includeLoopback?: boolean } = {},
): ServingNames {
  const service = options.service ?? DEFAULT_SERVICE;
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const clusterDomain = options.clusterDomain ?? 'cluster.local';
  const inCluster = [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.${clusterDomain}`];
  const withLoopback = options.includeLoopback !== false;
  return {
    commonName: `${service}.${namespace}.svc`,
    dnsNames: withLoopback ? ['localhost', ...inCluster] : inCluster,
    ipAddresses: withLoopback ? ['127.0.0.1', '::1'] : [],
  };
}

export interface GenerateCAOptions {
  commonName?: string;
  validityDays?: number;
  now?: Date;
}

/** A new self-signed CA that may sign leaf certificates only (pathLen 0). */
export async function generateCA(options: GenerateCAOptions = {}): Promise<KeyPairPem> {
  const now = options.now ?? new Date();
  const result = await generate([{ name: 'commonName', value: options.commonName ?? DEFAULT_CA_COMMON_NAME }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    ...validity(now, options.validityDays ?? DEFAULT_CA_VALIDITY_DAYS),
    extensions: [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: result.cert, key: result.private };
}

export interface GenerateServingCertOptions {
  /** The CA that signs it (an ECDSA key, as generateCA makes). */
  ca: KeyPairPem;
  dnsNames: string[];
  ipAddresses?: string[];
  /** Default: the first DNS name (or IP address). Clients verify SANs only; CN is for people. */
  commonName?: string;
  validityDays?: number;
  now?: Date;
}

/** A new serving (server auth) certificate with a fresh key, signed by `ca`. */
export async function generateServingCert(options: GenerateServingCertOptions): Promise<KeyPairPem> {
  const ipAddresses = options.ipAddresses ?? [];
  const badIp = ipAddresses.find((ip) => isIP(ip) === 0);
  if (badIp !== undefined) throw new Error(`not an IP address: "${badIp}"`);
  const commonName = options.commonName ?? options.dnsNames[0] ?? ipAddresses[0];
  if (commonName === undefined) throw new Error('a serving certificate needs at least one DNS name or IP address');
  const now = options.now ?? new Date();
  const result = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    ca: { cert: options.ca.cert, key: options.ca.key },
    ...validity(now, options.validityDays ?? DEFAULT_SERVING_VALIDITY_DAYS),
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      // ECDSA keys sign the handshake; keyEncipherment only applies to RSA key transport.
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...options.dnsNames.map((value) => ({ type: 2 as const, value })),
          ...ipAddresses.map((ip) => ({ type: 7 as const, ip })),
        ],
      },
    ],
  });
  return { cert: result.cert, key: result.private };
}

function validity(now: Date, days: number): { notBeforeDate: Date; notAfterDate: Date } {
  if (!Number.isFinite(days) || days <= 0) throw new Error(`validity must be a positive number of days, got ${days}`);
  return { notBeforeDate: new Date(now.getTime() - CLOCK_SKEW_MS), notAfterDate: new Date(now.getTime() + days * DAY_MS) };
}

/** Reasons `pair` cannot serve as the CA at `now` (empty when it can). */
export function checkCertificateAuthority(pair: KeyPairPem, now: Date, renewBeforeDays = DEFAULT_RENEW_BEFORE_DAYS): string[] {
  const check = checkKeyPair(pair, now);
  if (!check.ok) return [`CA: ${check.error}`];
  const problems: string[] = [];
  const x509 = new X509Certificate(pair.cert);
  if (!x509.ca) problems.push('CA: certificate is not a CA (basicConstraints cA is false)');
  problems.push(...expiryProblems('CA', check.info.notAfter, now, renewBeforeDays));
  return problems;
}

export interface ServingRequirements {
  dnsNames: string[];
  ipAddresses?: string[];
  now: Date;
  renewBeforeDays?: number;
}

/**
 * Reasons `pair` cannot serve as the serving certificate (empty when it can): it must match its
 * key, be signed by `ca`, name every required DNS name and IP address, and not be due for renewal.
 */
export function checkServingCertificate(pair: KeyPairPem, ca: KeyPairPem, required: ServingRequirements): string[] {
  const check = checkKeyPair(pair, required.now);
  if (!check.ok) return [`serving certificate: ${check.error}`];
  const problems: string[] = [];
  const leaf = new X509Certificate(pair.cert);
  const caCert = new X509Certificate(ca.cert);
  if (!leaf.checkIssued(caCert) || !leaf.verify(caCert.publicKey)) {
    problems.push('serving certificate: not signed by the CA in this directory');
  }
  for (const name of required.dnsNames) {
    if (leaf.checkHost(name, { wildcards: false }) !== name) problems.push(`serving certificate: does not name ${name}`);
  }
  for (const ip of required.ipAddresses ?? []) {
    if (leaf.checkIP(ip) === undefined) problems.push(`serving certificate: does not name IP ${ip}`);
  }
  problems.push(...expiryProblems('serving certificate', check.info.notAfter, required.now, required.renewBeforeDays ?? DEFAULT_RENEW_BEFORE_DAYS));
  return problems;
}

function expiryProblems(what: string, notAfter: Date, now: Date, renewBeforeDays: number): string[] {
  if (notAfter.getTime() - now.getTime() < renewBeforeDays * DAY_MS) {
    return [`${what}: expires ${notAfter.toISOString()}, within ${renewBeforeDays} days`];
  }
  return [];
}

/** Reads a PEM pair; undefined when either file does not exist (other read errors throw). */
export function readKeyPair(certFile: string, keyFile: string): KeyPairPem | undefined {
  const cert = readIfExists(certFile);
  const key = readIfExists(keyFile);
  return cert === undefined || key === undefined ? undefined : { cert, key };
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Writes a pair so that a reader (or a crash) never sees a half-written file: each file is
 * written beside its target and renamed over it. The key is written first and with mode 0600; a
 * watcher that sees the new key with the old certificate rejects the mismatch and retries.
 */
export function writeKeyPair(certFile: string, keyFile: string, pair: KeyPairPem): void {
  mkdirSync(path.dirname(certFile), { recursive: true, mode: 0o700 });
  mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o700 });
  writeFileAtomic(keyFile, pair.key, 0o600);
  writeFileAtomic(certFile, pair.cert, 0o644);
}

/** Readers see the old content or the new, never a partial file (write beside, then rename). */
export function writeFileAtomic(file: string, content: string, mode: number): void {
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    writeFileSync(temp, content, { mode, flag: 'wx' });
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

export interface EnsureCertificatesOptions {
  dir: string;
  dnsNames: string[];
  ipAddresses?: string[];
  commonName?: string;
  now?: Date;
  caCommonName?: string;
  caValidityDays?: number;
  servingValidityDays?: number;
  renewBeforeDays?: number;
}

export interface EnsureCertificatesResult {
  paths: CertificatePaths;
  ca: 'reused' | 'generated';
  serving: 'reused' | 'generated';
  /** Why anything was generated (empty when both were reused); for the log. */
  reasons: string[];
}

/**
 * Makes `dir` hold a usable CA and serving certificate for the given names, reusing what is there
 * while it is still good: a CA is replaced only when missing, broken or near expiry (which also
 * replaces the serving certificate, since the old one no longer chains); a serving certificate is
 * replaced when it is missing, broken, near expiry, not signed by the CA or missing a name.
 */
export async function ensureCertificates(options: EnsureCertificatesOptions): Promise<EnsureCertificatesResult> {
  const now = options.now ?? new Date();
  const renewBeforeDays = options.renewBeforeDays ?? DEFAULT_RENEW_BEFORE_DAYS;
  const paths = certificatePaths(options.dir);
  const reasons: string[] = [];

  let ca = readKeyPair(paths.caCert, paths.caKey);
  let caState: EnsureCertificatesResult['ca'] = 'reused';
  const caProblems = ca === undefined ? [`CA: ${CA_CERT_FILE} or ${CA_KEY_FILE} not found`] : checkCertificateAuthority(ca, now, renewBeforeDays);
  if (ca === undefined || caProblems.length > 0) {
    reasons.push(...caProblems);
    ca = await generateCA({ commonName: options.caCommonName, validityDays: options.caValidityDays, now });
    writeKeyPair(paths.caCert, paths.caKey, ca);
    caState = 'generated';
  }

  const required: ServingRequirements = { dnsNames: options.dnsNames, ipAddresses: options.ipAddresses, now, renewBeforeDays };
  const serving = readKeyPair(paths.cert, paths.key);
  const servingProblems =
    serving === undefined
      ? [`serving certificate: ${SERVING_CERT_FILE} or ${SERVING_KEY_FILE} not found`]
      : checkServingCertificate(serving, ca, required);
  let servingState: EnsureCertificatesResult['serving'] = 'reused';
  if (servingProblems.length > 0) {
    reasons.push(...servingProblems);
    const fresh = await generateServingCert({
      ca,
      dnsNames: options.dnsNames,
      ipAddresses: options.ipAddresses,
      commonName: options.commonName,
      validityDays: options.servingValidityDays,
      now,
    });
    writeKeyPair(paths.cert, paths.key, fresh);
    servingState = 'generated';
  }
  return { paths, ca: caState, serving: servingState, reasons };
}
