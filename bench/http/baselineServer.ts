/**
 * The baseline the webhook is compared with: a bare fastify HTTPS server on the same Node with the
 * same certificate and TLS floor, parsing the same JSON body and answering an AdmissionReview of
 * exactly the size the real server answers, with no netpol-guard logic (no validation, no rules,
 * no logging, no metrics).
 *
 * usage: node baselineServer.js PORT CERT_FILE KEY_FILE SIZES_JSON
 *   SIZES_JSON maps "<path> <request bytes>" to the response size in bytes, as measured on the
 *   real server; a request not in the map gets 500 so a misconfigured benchmark cannot pass.
 */
import { readFileSync } from 'node:fs';
import { fastify, type FastifyReply, type FastifyRequest } from 'fastify';

const [portText, certFile, keyFile, sizesJson] = process.argv.slice(2);
if (portText === undefined || certFile === undefined || keyFile === undefined || sizesJson === undefined) {
  process.stderr.write('usage: baselineServer.js PORT CERT_FILE KEY_FILE SIZES_JSON\n');
  process.exit(2);
}
const responseSizes = new Map<string, number>(Object.entries(JSON.parse(sizesJson) as Record<string, number>));
/** Padding per "<path> <request bytes> <uid length>", computed once. */
const paddings = new Map<string, string>();

const app = fastify({
  https: { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), minVersion: 'TLSv1.2' },
  logger: false,
  bodyLimit: 4 * 1024 * 1024,
});

function answer(request: FastifyRequest, reply: FastifyReply): unknown {
  const path = request.url;
  const size = responseSizes.get(`${path} ${request.headers['content-length'] ?? ''}`);
  const uid = (request.body as { request?: { uid?: unknown } } | null)?.request?.uid;
  if (size === undefined || typeof uid !== 'string') {
    reply.code(500);
    return { error: `baseline has no response size for ${path} with ${request.headers['content-length']} bytes` };
  }
  const key = `${path} ${size} ${uid.length}`;
  let padding = paddings.get(key);
  if (padding === undefined) {
    const bare = JSON.stringify(review(uid, '')).length;
    padding = 'x'.repeat(Math.max(0, size - bare));
    paddings.set(key, padding);
  }
  return review(uid, padding);
}

function review(uid: string, padding: string): unknown {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true, warnings: [padding] } };
}

app.post('/validate', async (request, reply) => answer(request, reply));
app.post('/mutate', async (request, reply) => answer(request, reply));
app.get('/readyz', async () => ({ ok: true }));

app.listen({ port: Number(portText), host: '127.0.0.1' }).catch((err: unknown) => {
  process.stderr.write(`baseline server cannot listen: ${(err as Error).message}\n`);
  process.exit(1);
});
process.on('SIGINT', () => {
  app.close().then(() => process.exit(0), () => process.exit(1));
});
