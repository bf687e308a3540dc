/**
 * The grantrecords API for the controller benchmark, in its own process: HTTPS with a CA the client
 * verifies, a bearer token, paginated lists with continue tokens, and create / replace / delete
 * with the API server's resourceVersion rules (409 on a moved record, 404 on a missing one), so the
 * real KubeGrantRecordClient (client-node's CustomObjectsApi) runs its whole wire path.
 *
 * usage: node grantRecordServer.js KUBECONFIG_OUT SEED_FILE|-
 *   SEED_FILE: a JSON array of GrantRecords stored before serving (the prune and takeover cases).
 * IPC: sends {ready, seeded}; answers {count} with {count, byState}; exits on disconnect.
 */
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { GrantRecord } from '../../src/controller/grantRecord.js';
import { fakeApiIdentity, writeFakeKubeconfig } from '../fakeApiIdentity.js';

const PREFIX = '/apis/netpol-guard.io/v1alpha1/grantrecords';

const [kubeconfigOut, seedFile] = process.argv.slice(2);
if (kubeconfigOut === undefined || seedFile === undefined) {
  process.stderr.write('usage: grantRecordServer.js KUBECONFIG_OUT SEED_FILE|-\n');
  process.exit(2);
}

const records = new Map<string, GrantRecord>();
/** Sorted names, rebuilt lazily when a list starts after a create or delete (lists page over it). */
let sortedNames: string[] | undefined;
let nextResourceVersion = 1;

function store(record: GrantRecord): GrantRecord {
  const stored: GrantRecord = { ...record, metadata: { ...record.metadata, resourceVersion: String(nextResourceVersion++) } };
  if (!records.has(stored.metadata.name!)) sortedNames = undefined;
  records.set(stored.metadata.name!, stored);
  return stored;
}

if (seedFile !== '-') for (const record of JSON.parse(readFileSync(seedFile, 'utf8')) as GrantRecord[]) store(record);

const identity = await fakeApiIdentity('bench-grantrecords');
const { token } = identity;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  send(res, code, { apiVersion: 'v1', kind: 'Status', status: 'Failure', code, reason, message });
}

const server = createServer({ key: identity.key, cert: identity.cert }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.headers.authorization !== `Bearer ${token}`) return status(res, 401, 'Unauthorized', 'bad token');
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : undefined;
    if (url.pathname === PREFIX) {
      if (req.method === 'GET') {
        sortedNames ??= [...records.keys()].sort();
        const limit = Number(url.searchParams.get('limit') ?? '0') || sortedNames.length;
        const start = Number(url.searchParams.get('continue') ?? '0');
        const names = sortedNames.slice(start, start + limit);
        const next = start + limit < sortedNames.length ? String(start + limit) : undefined;
        return send(res, 200, {
          apiVersion: 'netpol-guard.io/v1alpha1',
          kind: 'GrantRecordList',
          metadata: { resourceVersion: String(nextResourceVersion), ...(next !== undefined ? { continue: next } : {}) },
          items: names.flatMap((n) => records.get(n) ?? []),
        });
      }
      if (req.method === 'POST') {
        const record = body as unknown as GrantRecord;
        if (records.has(record.metadata.name!)) return status(res, 409, 'AlreadyExists', 'exists');
        return send(res, 201, store(record));
      }
    } else if (url.pathname.startsWith(`${PREFIX}/`)) {
      const name = decodeURIComponent(url.pathname.slice(PREFIX.length + 1));
      const stored = records.get(name);
      if (req.method === 'GET') return stored ? send(res, 200, stored) : status(res, 404, 'NotFound', 'not found');
      if (req.method === 'PUT') {
        const record = body as unknown as GrantRecord;
        if (stored === undefined) return status(res, 404, 'NotFound', 'not found');
        if (stored.metadata.resourceVersion !== record.metadata.resourceVersion) return status(res, 409, 'Conflict', 'moved');
        return send(res, 200, store(record));
      }
      if (req.method === 'DELETE') {
        if (stored === undefined) return status(res, 404, 'NotFound', 'not found');
        const wanted = (body?.preconditions as { resourceVersion?: string } | undefined)?.resourceVersion;
        if (wanted !== undefined && wanted !== stored.metadata.resourceVersion) return status(res, 409, 'Conflict', 'moved');
        records.delete(name);
        sortedNames = undefined;
        return send(res, 200, { apiVersion: 'v1', kind: 'Status', status: 'Success' });
      }
    }
    status(res, 404, 'NotFound', `no route for ${req.method} ${url.pathname}`);
  });
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;
writeFakeKubeconfig(kubeconfigOut, port, identity);
process.send?.({ ready: true, seeded: records.size });
process.on('message', (message: { count?: boolean }) => {
  if (message.count) {
    const byState: Record<string, number> = {};
    for (const r of records.values()) byState[r.status.state] = (byState[r.status.state] ?? 0) + 1;
    process.send?.({ count: records.size, byState });
  }
});
process.on('disconnect', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
