/**
 * The API server for the sweeper benchmark, in its own process: test/helpers' FakeApiServer (real
 * HTTPS, bearer token, paginated lists with continue tokens) holding `count` labelled grants
 * spread over 100 namespaces, 1% of them expired. Pages are cut from a sorted key index, so a page
 * costs the same at 100k as at 1k.
 *
 * usage: node fakeListServer.js COUNT KUBECONFIG_OUT   (IPC: sends {ready, populateSeconds}, exits on disconnect)
 */
import { writeFileSync } from 'node:fs';
import { FakeApiServer, grantPolicy } from '../../test/helpers/fakeApiServer.js';
import { isExpired, NAMESPACES } from './dataset.js';

const [countText, kubeconfigOut] = process.argv.slice(2);
const count = Number(countText);
if (!Number.isInteger(count) || count < 1 || kubeconfigOut === undefined) {
  process.stderr.write('usage: fakeListServer.js COUNT KUBECONFIG_OUT\n');
  process.exit(2);
}

const started = process.hrtime.bigint();
const fake = await FakeApiServer.start({ recordRequests: false, historyLimit: 1 });
const nowMs = Date.now();
for (let i = 0; i < count; i++) {
  const expired = isExpired(i);
  fake.putPolicy(
    grantPolicy({
      namespace: `team-${String(i % NAMESPACES).padStart(3, '0')}`,
      name: `grant-${String(i).padStart(6, '0')}`,
      expiresAt: new Date(nowMs + (expired ? -3_600_000 : 3_600_000 + (i % 7_200) * 1_000)),
      grantedAt: new Date(nowMs - 3_600_000),
      ticket: `INC-${1000 + (i % 9000)}`,
      requestedBy: `user${i % 500}@example.com`,
    }),
    { notify: false },
  );
}
writeFileSync(kubeconfigOut, fake.kubeconfigText(), { mode: 0o600 });
process.send?.({ ready: true, populateSeconds: Number(process.hrtime.bigint() - started) / 1e9 });
process.on('disconnect', () => {
  fake.stop().then(() => process.exit(0), () => process.exit(1));
});
