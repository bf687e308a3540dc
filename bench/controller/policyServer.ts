/**
 * The NetworkPolicy side of the takeover benchmark, in its own process: test/helpers' FakeApiServer
 * (HTTPS, paginated list, watch, delete with preconditions) holding COUNT grants of the controller
 * dataset, DUE of them already past their expiry by a second at NOW_MS.
 *
 * usage: node policyServer.js COUNT DUE NOW_MS KUBECONFIG_OUT   (IPC: sends {ready}; answers
 * {count} with {count}; exits on disconnect)
 */
import { writeFileSync } from 'node:fs';
import { FakeApiServer } from '../../test/helpers/fakeApiServer.js';
import { benchGrant } from './dataset.js';

const [countText, dueText, nowText, kubeconfigOut] = process.argv.slice(2);
const count = Number(countText);
const due = Number(dueText);
const nowMs = Number(nowText);
if (!Number.isInteger(count) || !Number.isInteger(due) || !Number.isFinite(nowMs) || kubeconfigOut === undefined) {
  process.stderr.write('usage: policyServer.js COUNT DUE NOW_MS KUBECONFIG_OUT\n');
  process.exit(2);
}

const fake = await FakeApiServer.start({ recordRequests: false, historyLimit: 100_000 });
for (let i = 0; i < count; i++) fake.putPolicy(benchGrant(i, i < due ? -1_000 : undefined, nowMs), { notify: false });
writeFileSync(kubeconfigOut, fake.kubeconfigText(), { mode: 0o600 });
process.send?.({ ready: true });
process.on('message', (message: { count?: boolean }) => {
  if (message.count) process.send?.({ count: fake.policyCount });
});
process.on('disconnect', () => {
  fake.stop().then(() => process.exit(0), () => process.exit(1));
});
