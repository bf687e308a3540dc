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

export type KeyPairCheck = { ok: true; info: CertificateInfo } | { ok: false; error: string };

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
 * the key is the certificate's, Node can build a TLS context from them, and the certificate has not
 * expired at `now`. Used before every (re)load so a half-written or mismatched rotation never
 * replaces a working pair.
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
    return { ok: false, error: `certificate expired at ${info.notAfter.toISOString()}` };
  }
  return { ok: true, info };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
