import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { extendCommand } from '../../../src/cli/extend.js';
import { listCommand } from '../../../src/cli/list.js';
import { revokeCommand } from '../../../src/cli/revoke.js';
import { FakeApiServer, grantPolicy } from '../../helpers/fakeApiServer.js';
import { captureIo, kubeconfigFile, NOW, statusBody } from '../operator/support.js';

const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);
const MIN = 60_000;
const HOUR = 3_600_000;

describe('list, extend and revoke against the fake API server', () => {
  let fake: FakeApiServer;
  let kubeconfig: string;

  before(async () => {
    fake = await FakeApiServer.start();
    kubeconfig = kubeconfigFile(fake);
  });
  after(async () => {
    await fake.stop();
  });
  beforeEach(() => {
    fake.reset();
  });

  describe('list', () => {
    it('shows only temporary grants of the namespace, soonest expiry first, expired flagged', async () => {
      fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'later', expiresAt: at(2 * HOUR), ticket: 'INC-2', requestedBy: 'alice' }));
      fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'overdue', expiresAt: at(-3 * MIN), ticket: 'INC-1', requestedBy: 'bob' }));
      fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'permanent', temporary: false }));
      fake.putPolicy(grantPolicy({ namespace: 'shop', name: 'elsewhere', expiresAt: at(HOUR) }));
      const io = captureIo();
      assert.equal(await listCommand.run(['-n', 'payments', '--kubeconfig', kubeconfig], io), 0, io.err);
      const lines = io.out.trimEnd().split('\n');
      assert.equal(lines.length, 3, io.out);
      assert.match(lines[0]!, /^NAMESPACE +NAME +TICKET +REQUESTED-BY +EXPIRES +ACCESS$/);
      assert.match(lines[1]!, /^payments +overdue +INC-1 +bob +EXPIRED 3m ago +egress from app=client to 10\.20\.30\.0\/24 on 5432\/TCP$/);
      assert.match(lines[2]!, /^payments +later +INC-2 +alice +in 2h +egress/);
      const listing = fake.requestsFor('list');
      assert.equal(listing.length, 1);
      assert.equal(listing[0]!.path, '/apis/networking.k8s.io/v1/namespaces/payments/networkpolicies');
      assert.equal(listing[0]!.query.labelSelector, 'netpol-guard.io/temporary=true');
    });

    it('lists every namespace with -A, page by page', async () => {
      for (let i = 0; i < 260; i++) {
        fake.putPolicy(grantPolicy({ namespace: `ns-${i % 3}`, name: `g-${String(i).padStart(3, '0')}`, expiresAt: at((i + 1) * MIN) }));
      }
      const io = captureIo();
      assert.equal(await listCommand.run(['-A', '-o', 'json', '--kubeconfig', kubeconfig], io), 0, io.err);
      const json = JSON.parse(io.out) as { grants: Array<{ name: string; expiresInSeconds: number }> };
      assert.equal(json.grants.length, 260);
      assert.equal(json.grants[0]!.name, 'g-000');
      assert.equal(json.grants[259]!.name, 'g-259');
      const pages = fake.requestsFor('list');
      assert.equal(pages.length, 2);
      assert.equal(pages[0]!.path, '/apis/networking.k8s.io/v1/networkpolicies');
      assert.equal(pages[0]!.query.limit, '250');
      assert.ok(pages[1]!.query.continue);
    });

    it('uses the kubeconfig namespace by default and says when there is nothing', async () => {
      const io = captureIo();
      assert.equal(await listCommand.run(['--kubeconfig', kubeconfig, '-o', 'wide'], io), 0);
      assert.equal(io.out, '');
      assert.equal(io.err, 'No temporary grants in namespace default.\n');
    });

    it('names the namespace RBAC refuses', async () => {
      fake.failNext('list', {
        status: 403,
        body: statusBody(403, 'Forbidden', 'networkpolicies.networking.k8s.io is forbidden: User "dave" cannot list resource "networkpolicies" in API group "networking.k8s.io" in the namespace "payments"'),
      });
      const io = captureIo();
      assert.equal(await listCommand.run(['-n', 'payments', '--kubeconfig', kubeconfig], io), 1);
      assert.match(io.err, /^netpol-guard list: forbidden: user "dave" may not list networkpolicies.networking.k8s.io in namespace "payments"/);
    });

    it('rejects conflicting and unknown flags', async () => {
      for (const [argv, message] of [
        [['-n', 'a', '-A'], /choose -n NAMESPACE or -A/],
        [['-o', 'yaml'], /must be wide or json/],
        [['extra'], /positional/i],
      ] as const) {
        const io = captureIo();
        assert.equal(await listCommand.run([...argv, '--kubeconfig', kubeconfig], io), 2);
        assert.match(io.err, message);
      }
      assert.equal(fake.requests.length, 0);
    });
  });

  describe('extend', () => {
    it('writes the new ttl and expires-at with a resourceVersion precondition and prints the stored expiry', async () => {
      const stored = fake.putPolicy(
        grantPolicy({ namespace: 'payments', name: 'g', expiresAt: at(10 * MIN), grantedAt: at(-HOUR), ticket: 'INC-1', annotations: { 'netpol-guard.io/ttl': '1h10m' } }),
      );
      const io = captureIo();
      assert.equal(await extendCommand.run(['g', '-n', 'payments', '--for', '1h', '--ticket', 'chg-9', '--kubeconfig', kubeconfig], io), 0, io.err);
      const patch = fake.requestsFor('patch');
      assert.equal(patch.length, 1);
      assert.deepEqual(patch[0]!.body, {
        metadata: {
          resourceVersion: stored.metadata!.resourceVersion,
          annotations: { 'netpol-guard.io/ttl': '1h', 'netpol-guard.io/expires-at': '2026-03-01T03:14:00Z', 'netpol-guard.io/ticket': 'CHG-9' },
        },
      });
      assert.equal(fake.getPolicy('payments', 'g')?.metadata?.annotations?.['netpol-guard.io/expires-at'], '2026-03-01T03:14:00Z');
      assert.equal(
        io.out,
        [
          'extended payments/g',
          '  expires:  2026-03-01T03:14:00Z (in 1h)',
          '  was:      2026-03-01T02:24:00Z (in 10m)',
          '  ticket:   CHG-9',
          '  revoke:   netpol-guard revoke g -n payments',
          '',
        ].join('\n'),
      );
    });

    it('moves the expiry even when the ttl text is unchanged', async () => {
      fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'g', expiresAt: at(5 * MIN), grantedAt: at(-HOUR), ticket: 'INC-1', annotations: { 'netpol-guard.io/ttl': '2h' } }));
      const io = captureIo();
      assert.equal(await extendCommand.run(['g', '-n', 'payments', '--for', '2h', '--kubeconfig', kubeconfig], io), 0, io.err);
      assert.match(io.out, /expires: +2026-03-01T04:14:00Z \(in 2h\)/);
    });

    it('re-reads and retries when the grant changed between read and patch', async () => {
      fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'g', expiresAt: at(10 * MIN), grantedAt: at(-HOUR), ticket: 'INC-1' }));
      fake.beforeNext('patch', () => {
        const current = fake.getPolicy('payments', 'g')!;
        current.metadata!.annotations!['example.com/note'] = 'edited meanwhile';
        fake.putPolicy(current);
      });
      const io = captureIo();
      assert.equal(await extendCommand.run(['g', '-n', 'payments', '--for', '1h', '--kubeconfig', kubeconfig], io), 0, io.err);
      assert.deepEqual(fake.requestsFor('patch').map((r) => r.status), [409, 200]);
      assert.equal(fake.requestsFor('get').length, 2);
      assert.equal(fake.getPolicy('payments', 'g')?.metadata?.annotations?.['example.com/note'], 'edited meanwhile');
    });

    it('refuses what the webhook would deny, before sending', async () => {
      fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'g', expiresAt: at(10 * MIN), grantedAt: at(-70 * HOUR), ticket: 'INC-1' }));
      for (const [ttl, rule] of [
        ['48h', 'expiry-too-far'],
        ['3h', 'lifetime-exceeded'],
      ] as const) {
        const io = captureIo();
        assert.equal(await extendCommand.run(['g', '-n', 'payments', '--for', ttl, '--kubeconfig', kubeconfig], io), 1);
        assert.match(io.err, new RegExp(`refused: extending payments/g by ${ttl} would be denied under the built-in config; nothing was sent\\n  \\[${rule}\\]`));
      }
      assert.equal(fake.requestsFor('patch').length, 0);
    });

    it('refuses a policy that is not a grant, and a grant that is not there', async () => {
      fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'base', temporary: false }));
      const io = captureIo();
      assert.equal(await extendCommand.run(['base', '-n', 'payments', '--for', '1h', '--kubeconfig', kubeconfig], io), 1);
      assert.match(io.err, /payments\/base is not a netpol-guard temporary grant/);
      const missing = captureIo();
      assert.equal(await extendCommand.run(['nope', '-n', 'payments', '--for', '1h', '--kubeconfig', kubeconfig], missing), 1);
      assert.match(missing.err, /grant payments\/nope not found/);
      assert.equal(fake.requestsFor('patch').length, 0);
    });

    it('prints a server-side denial of the patch', async () => {
      fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'g', expiresAt: at(10 * MIN), grantedAt: at(-HOUR), ticket: 'INC-1' }));
      fake.failNext('patch', {
        status: 403,
        body: statusBody(403, 'Forbidden', 'admission webhook "validate.netpol-guard.io" denied the request: netpol-guard denied NetworkPolicy payments/g: 1 problem(s)\n[expiry-too-far] x; y'),
      });
      const io = captureIo();
      assert.equal(await extendCommand.run(['g', '-n', 'payments', '--for', '1h', '--kubeconfig', kubeconfig], io), 1);
      assert.match(io.err, /denied by admission webhook "validate.netpol-guard.io":\n  netpol-guard denied NetworkPolicy payments\/g: 1 problem\(s\)\n  \[expiry-too-far\] x; y\n$/);
    });

    it('requires a name and a valid --for', async () => {
      for (const [argv, message] of [
        [['-n', 'payments', '--for', '1h'], /name the grant to extend/],
        [['g', '-n', 'payments'], /--for DURATION is required/],
        [['g', '--for', '1 hour'], /--for "1 hour" is not a duration/],
        [['a', 'b', '--for', '1h'], /extend one grant at a time/],
      ] as const) {
        const io = captureIo();
        assert.equal(await extendCommand.run([...argv, '--kubeconfig', kubeconfig], io), 2);
        assert.match(io.err, message);
      }
      assert.equal(fake.requests.length, 0);
    });
  });

  describe('revoke', () => {
    it('without the webhook: updates the fresh read (uid and resourceVersion), deletes what the update returned, warns the revocation is unstamped', async () => {
      const stored = fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'g', expiresAt: at(HOUR), ticket: 'INC-1' }));
      const io = captureIo();
      assert.equal(await revokeCommand.run(['g', '-n', 'payments', '--kubeconfig', kubeconfig], io), 0, io.err);
      assert.equal(fake.hasPolicy('payments', 'g'), false);
      const patches = fake.requestsFor('patch');
      assert.equal(patches.length, 1);
      assert.deepEqual(patches[0]!.body, {
        metadata: {
          uid: stored.metadata!.uid,
          resourceVersion: stored.metadata!.resourceVersion,
          annotations: { 'netpol-guard.io/revoked-by': 'requested', 'netpol-guard.io/revoked-at': null },
        },
      });
      const deletes = fake.requestsFor('delete');
      assert.equal(deletes.length, 1);
      assert.deepEqual((deletes[0]!.body as { preconditions: unknown }).preconditions, {
        uid: stored.metadata!.uid,
        resourceVersion: String(Number(stored.metadata!.resourceVersion) + 1),
      });
      assert.match(io.err, /warning: the revocation of payments\/g could not be stamped: the update came back without a netpol-guard.io\/revoked-by stamp .* deleting anyway\. Its history record will say Deleted/);
      assert.equal(
        io.out,
        'revoked payments/g\n  access:   egress from app=client to 10.20.30.0/24 on 5432/TCP (closed)\n  ticket:   INC-1\n  was due:  2026-03-01T03:14:00Z\n',
      );
    });

    it('treats a grant that is already gone as success', async () => {
      const io = captureIo();
      assert.equal(await revokeCommand.run(['g', '-n', 'payments', '--kubeconfig', kubeconfig], io), 0, io.err);
      assert.equal(io.out, 'payments/g is already gone (revoked or swept); nothing to do\n');
      fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'g', expiresAt: at(HOUR) }));
      fake.beforeNext('delete', () => void fake.removePolicy('payments', 'g'));
      const raced = captureIo();
      assert.equal(await revokeCommand.run(['g', '-n', 'payments', '--kubeconfig', kubeconfig], raced), 0, raced.err);
      assert.match(raced.out, /already gone/);
    });

    it('re-checks and retries when the grant changed after the read', async () => {
      fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'g', expiresAt: at(HOUR) }));
      fake.beforeNext('delete', () => {
        const current = fake.getPolicy('payments', 'g')!;
        current.metadata!.annotations!['netpol-guard.io/expires-at'] = '2026-03-01T05:00:00Z';
        fake.putPolicy(current);
      });
      const io = captureIo();
      assert.equal(await revokeCommand.run(['g', '-n', 'payments', '--kubeconfig', kubeconfig], io), 0, io.err);
      assert.deepEqual(fake.requestsFor('delete').map((r) => r.status), [409, 200]);
      assert.match(io.out, /was due: +2026-03-01T05:00:00Z/);
    });

    it('never deletes a policy that stopped being a grant in between', async () => {
      fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'g', expiresAt: at(HOUR) }));
      fake.beforeNext('delete', () => {
        const current = fake.getPolicy('payments', 'g')!;
        delete current.metadata!.labels!['netpol-guard.io/temporary'];
        fake.putPolicy(current);
      });
      const io = captureIo();
      assert.equal(await revokeCommand.run(['g', '-n', 'payments', '--kubeconfig', kubeconfig], io), 1);
      assert.match(io.err, /is not a netpol-guard temporary grant/);
      assert.ok(fake.hasPolicy('payments', 'g'));
    });

    it('refuses a permanent policy unless --force', async () => {
      fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'base', temporary: false }));
      const io = captureIo();
      assert.equal(await revokeCommand.run(['base', '-n', 'payments', '--kubeconfig', kubeconfig], io), 1);
      assert.match(io.err, /refused: payments\/base is not a netpol-guard temporary grant .* Add --force/);
      assert.equal(fake.requestsFor('delete').length, 0);
      const forced = captureIo();
      assert.equal(await revokeCommand.run(['base', '-n', 'payments', '--force', '--kubeconfig', kubeconfig], forced), 0, forced.err);
      assert.equal(fake.hasPolicy('payments', 'base'), false);
    });

    it('names verb, resource and namespace when RBAC forbids the delete', async () => {
      fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'g', expiresAt: at(HOUR) }));
      fake.failNext('delete', {
        status: 403,
        body: statusBody(403, 'Forbidden', 'networkpolicies.networking.k8s.io "g" is forbidden: User "erin" cannot delete resource "networkpolicies" in API group "networking.k8s.io" in the namespace "payments"'),
      });
      const io = captureIo();
      assert.equal(await revokeCommand.run(['g', '-n', 'payments', '--kubeconfig', kubeconfig], io), 1);
      assert.match(io.err, /forbidden: user "erin" may not delete networkpolicies.networking.k8s.io in namespace "payments"/);
    });
  });
});
