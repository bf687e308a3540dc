/**
 * What the benchmarks' fake API servers (each in its own process) share: a self-signed serving
 * certificate for 127.0.0.1 that clients verify, a bearer token, and the kubeconfig that names
 * all three, so the real client-node clients run their whole TLS and auth path.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { generate } from 'selfsigned';

export interface FakeApiIdentity {
  token: string;
  key: string;
  cert: string;
}

export async function fakeApiIdentity(commonName: string): Promise<FakeApiIdentity> {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ],
  });
  return { token: randomBytes(16).toString('hex'), key: pems.private, cert: pems.cert };
}

/** A kubeconfig (mode 0600: it holds the token) for the fake server listening on 127.0.0.1:`port`. */
export function writeFakeKubeconfig(file: string, port: number, identity: FakeApiIdentity): void {
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: `https://127.0.0.1:${port}`, 'certificate-authority-data': Buffer.from(identity.cert).toString('base64') } }],
      users: [{ name: 'fake', user: { token: identity.token } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
      'current-context': 'fake',
    }),
    { mode: 0o600 },
  );
}
