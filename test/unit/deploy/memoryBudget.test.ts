/**
 * The webhook's memory settings follow from the server's caps (issue #19): the arithmetic in
 * manifests/deployment.yaml's comments, as a test, so a cap raised in code without the heap flag
 * and memory limit (or the other way round) fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_BODY_LIMIT_BYTES } from '../../../src/server/app.js';
import { DEFAULT_SERVER_BOUNDS } from '../../../src/server/bounds.js';
import { REPO_ROOT } from '../../fixtures/paths.js';

const MiB = 1024 * 1024;
/** Measured live heap of an idle `serve` (with default metrics) is about 30 MiB; rounded up. */
const IDLE_HEAP_MiB = 35;
/** Parsed JSON of policy-shaped bodies takes up to ~10x the text (many small objects). */
const PARSED_PER_TEXT_BYTE = 10;
/** Node itself outside the old-space heap: code, new space, runtime (measured ~45 MiB). */
const NODE_OUTSIDE_HEAP_MiB = 50;
/** TLS and socket buffers per open connection (5,000 idle TLS connections cost ~200 MiB). */
const PER_CONNECTION_KiB = 45;

function webhookContainer(): { heapMiB: number; memoryLimitMiB: number } {
  const docs = parseAllDocuments(readFileSync(path.join(REPO_ROOT, 'manifests', 'deployment.yaml'), 'utf8')).map((d) => d.toJS() as any);
  const container = docs.find((d) => d?.kind === 'Deployment').spec.template.spec.containers.find((c: any) => c.name === 'webhook');
  const options = container.env.find((e: any) => e.name === 'NODE_OPTIONS').value as string;
  const heap = /--max-old-space-size=(\d+)/.exec(options);
  const limit = /^(\d+)Mi$/.exec(container.resources.limits.memory);
  assert.ok(heap && limit, `heap flag ${options}, memory limit ${container.resources.limits.memory}`);
  return { heapMiB: Number(heap[1]), memoryLimitMiB: Number(limit[1]) };
}

describe('webhook memory budget', () => {
  it('the heap flag holds the worst case the caps allow', () => {
    const b = DEFAULT_SERVER_BOUNDS;
    const largeBodies = (b.largeBodySlots * DEFAULT_BODY_LIMIT_BYTES * (1 + PARSED_PER_TEXT_BYTE)) / MiB;
    const smallBodiesInFlight = (b.maxConnections * b.largeBodyBytes) / MiB;
    const worstHeap = IDLE_HEAP_MiB + largeBodies + smallBodiesInFlight;
    const { heapMiB } = webhookContainer();
    assert.ok(worstHeap <= heapMiB, `worst-case heap ${worstHeap.toFixed(0)} MiB > --max-old-space-size=${heapMiB}`);
  });

  it('the memory limit holds the heap, Node itself and every connection', () => {
    const { heapMiB, memoryLimitMiB } = webhookContainer();
    const connections = (DEFAULT_SERVER_BOUNDS.maxConnections * PER_CONNECTION_KiB) / 1024;
    const rss = heapMiB + NODE_OUTSIDE_HEAP_MiB + connections;
    assert.ok(rss <= memoryLimitMiB, `worst-case RSS ${rss.toFixed(0)} MiB > limit ${memoryLimitMiB}Mi`);
  });

  it('the Dockerfile default heap flag is the webhook\'s', () => {
    const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, new RegExp(`^ENV NODE_OPTIONS=--max-old-space-size=${webhookContainer().heapMiB}$`, 'm'));
  });
});
