import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createSecureContext } from 'node:tls';

/** Facts about a certificate that are safe to log and expose (no key material). */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  serialNumber: string;
  fingerprint256: string;
  notBefore: Date;
  notAfter: Date;
  subjectAltName: string | undefined;
}

/** A PEM certificate chain and its private key, checked to belong together. */
export interface KeyPairPem {
  cert: string;
  key: string;
}

/** Why a pair that parsed and matched is still refused: its validity window does not hold `now`. */
export type ValidityProblem = 'not-yet-valid' | 'expired';

export type KeyPairCheck =
  | { ok: true; info: CertificateInfo }
  | {
      ok: false;
      error: string;
      /** Set when the pair itself is sound and only the clock refuses it (see ValidityProblem). */
      validity?: { problem: ValidityProblem; info: CertificateInfo };
    };

/**
 * How far in the future notBefore may lie and the pair still load. Kept to seconds: the API server
 * verifies with its own clock, and every second a not-yet-valid certificate is served is a second
 * in which every verified handshake fails (and, with failurePolicy Fail, every NetworkPolicy write).
 */
export const NOT_BEFORE_TOLERANCE_MS = 5_000;

export function describeCertificate(x509: X509Certificate): CertificateInfo {
  return {
    subject: x509.subject,
    issuer: x509.issuer,
    serialNumber: x509.serialNumber,
    fingerprint256: x509.fingerprint256,
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    subjectAltName: x509.subjectAltName,
  };
}

/**
 * Whether `cert` (the leaf, first in the PEM) and `key` form a usable serving pair: both parse,
 * the key is the certificate's, Node can build a TLS context from them, and `now` lies inside the
 * certificate's validity window: notAfter is in the future and notBefore is not (beyond
 * NOT_BEFORE_TOLERANCE_MS). Used before every (re)load so a half-written, mismatched, expired or
 * not-yet-valid rotation (a certificate issued by a machine whose clock runs ahead, or pre-issued
 * for a later rotation) never replaces a working pair.
 */
export function checkKeyPair(pair: KeyPairPem, now: Date): KeyPairCheck {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(pair.cert);
  } catch (err) {
    return { ok: false, error: `certificate does not parse as PEM X.509: ${errorText(err)}` };
  }
  let matches: boolean;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(pair.key));
  } catch (err) {
    return { ok: false, error: `private key does not parse: ${errorText(err)}` };
  }
  if (!matches) return { ok: false, error: 'private key does not belong to the certificate' };
  try {
    createSecureContext({ cert: pair.cert, key: pair.key });
  } catch (err) {
    return { ok: false, error: `TLS cannot use this certificate and key: ${errorText(err)}` };
  }
  const info = describeCertificate(x509);
  if (info.notAfter.getTime() <= now.getTime()) {
    return {
      ok: false,
      error: `certificate expired at ${info.notAfter.toISOString()} (${validityWindow(info)}; now ${now.toISOString()})`,
      validity: { problem: 'expired', info },
    };
  }
  if (info.notBefore.getTime() > now.getTime() + NOT_BEFORE_TOLERANCE_MS) {
    return {
      ok: false,
      error: `certificate is not valid yet: notBefore ${info.notBefore.toISOString()} is in the future (${validityWindow(info)}; now ${now.toISOString()})`,
      validity: { problem: 'not-yet-valid', info },
    };
  }
  return { ok: true, info };
}

/** `valid 2026-01-01T00:00:00.000Z to 2027-01-01T00:00:00.000Z`, for log lines and errors. */
export function validityWindow(info: Pick<CertificateInfo, 'notBefore' | 'notAfter'>): string {
  return `valid ${info.notBefore.toISOString()} to ${info.notAfter.toISOString()}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
