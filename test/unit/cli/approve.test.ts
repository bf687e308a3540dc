// `approve` and `deny` against a fake GrantRequest client that runs the real admission decisions
// (stamp, then validate) with the caller as userInfo, as the API server would with the webhook.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import jsonpatch from 'fast-json-patch';
import type { GrantRequest } from '../../../src/approval/grantRequest.js';
import { decideStatusWrite, stampStatusWrite } from '../../../src/approval/statusWrites.js';
import { approvalCommand } from '../../../src/cli/approve.js';
import { approvalPatch, describeApproval } from '../../../src/operator/approvalWrite.js';
import type { GrantRequestApi } from '../../../src/operator/grantRequestApi.js';
import { captureIo } from '../operator/support.js';

const NOW = new Date('2026-12-01T09:05:00Z');
const CONTROLLER = 'system:serviceaccount:netpol-guard:netpol-guard';

function kubeconfig(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netpol-guard-approve-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'kubeconfig');
  fs.writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: prod-pay}}]
current-context: x
`,
  );
  return file;
}
const KUBECONFIG = kubeconfig();

function stored(status: GrantRequest['status'] = { phase: 'Pending', approvals: [] }): GrantRequest {
  return {
    apiVersion: 'netpol-guard.io/v1alpha1',
    kind: 'GrantRequest',
    metadata: { name: 'debug-db', namespace: 'prod-pay', uid: 'u', resourceVersion: '7' },
    spec: { policy: {}, duration: '1h', ticket: 'INC-1', requestedBy: 'alice' },
    status,
  };
}

class FakeRequests implements GrantRequestApi {
  readonly server = 'https://fake';
  patches: Record<string, unknown>[] = [];
  /** Someone else's write lands between our read and our patch this many times. */
  conflicts = 0;
  constructor(
    public object: GrantRequest | undefined,
    private readonly user: string,
    private readonly canApprove = true,
  ) {}
  async read(): Promise<GrantRequest | undefined> {
    return structuredClone(this.object);
  }
  async mergePatchStatus(_namespace: string, _name: string, patch: Record<string, unknown>): Promise<GrantRequest> {
    this.patches.push(structuredClone(patch));
    const old = this.object!;
    if (this.conflicts > 0 || (patch['metadata'] as { resourceVersion?: string }).resourceVersion !== old.metadata?.resourceVersion) {
      this.conflicts--;
      this.object = { ...old, metadata: { ...old.metadata, resourceVersion: String(Number(old.metadata!.resourceVersion) + 1) } };
      throw Object.assign(new Error('conflict'), { code: 409, body: { kind: 'Status', code: 409, reason: 'Conflict', message: 'the object has been modified' } });
    }
    const written = jsonpatch.applyPatch(structuredClone(old), [{ op: 'replace', path: '/status', value: { ...old.status, ...(patch['status'] as object) } }]).newDocument;
    const input = { namespace: 'prod-pay', name: 'debug-db', old, updated: written, username: this.user, controllerUsers: new Set([CONTROLLER]) };
    const updated = jsonpatch.applyPatch(written, stampStatusWrite(input, NOW) as jsonpatch.Operation[]).newDocument;
    const verdict = decideStatusWrite({ ...input, updated }, this.canApprove);
    if (!verdict.allowed) {
      const message = `admission webhook "validate.netpol-guard.io" denied the request: ${verdict.message}`;
      throw Object.assign(new Error(message), { code: 403, body: { kind: 'Status', code: 403, reason: 'Forbidden', message } });
    }
    this.object = { ...updated, metadata: { ...updated.metadata, resourceVersion: String(Number(old.metadata!.resourceVersion) + 1) } };
    return structuredClone(this.object);
  }
}

const run = async (kind: 'approve' | 'deny', api: FakeRequests, args: string[]) => {
  const io = captureIo();
  const code = await approvalCommand(kind, () => api).run([...args, '--kubeconfig', KUBECONFIG], io);
  return { code, out: io.out, err: io.err };
};

describe('approve', () => {
  it('appends a blank entry (the webhook stamps it) with the comment, conditional on resourceVersion, and says what happens next', async () => {
    const api = new FakeRequests(stored({ phase: 'Pending', requiredApprovals: 1, approvals: [] }), 'bob');
    const r = await run('approve', api, ['debug-db', '--comment', 'checked']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(api.patches, [{ metadata: { resourceVersion: '7' }, status: { approvals: [{ by: '', at: '', comment: 'checked' }] } }]);
    assert.equal(
      r.out,
      'approved GrantRequest prod-pay/debug-db (ticket INC-1, requested by alice)\n' +
        '  by:      bob at 2026-12-01T09:05:00Z ("checked")\n' +
        '  count:   1 of 1 distinct approver(s): bob\n' +
        '  next:    enough approvals; the netpol-guard controller now creates the grant, open for 1h from this approval until 2026-12-01T10:05:00Z\n',
    );
  });

  it('with fewer approvers than required it prints the command for the next one', () => {
    const after = stored({ phase: 'Pending', requiredApprovals: 2, approvals: [{ by: 'bob', at: '2026-12-01T09:05:00Z' }] });
    assert.deepEqual(describeApproval(after, 'approve', 2, 'kubectl netpol-guard').slice(2), [
      '  count:   1 of 2 distinct approver(s): bob',
      '  next:    1 more approver(s) needed, anyone but alice, bob: kubectl netpol-guard approve debug-db -n prod-pay',
    ]);
  });

  it('when neither the request nor the local config knows the count, it does not guess one', async () => {
    const r = await run('approve', new FakeRequests(stored(), 'bob'), ['debug-db']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /\n {2}count: +1 distinct approver\(s\): bob\n {2}next: +the netpol-guard controller creates the grant once the profile's number of approvers is reached \(netpol-guard approve debug-db -n prod-pay for another\)\n$/);
  });

  it('keeps earlier approvals in the merge patch (a merge patch replaces the list)', () => {
    const patch = approvalPatch(stored({ phase: 'Pending', approvals: [{ by: 'bob', at: 'x' }] }), 'approve', undefined);
    assert.deepEqual(patch, { metadata: { resourceVersion: '7' }, status: { approvals: [{ by: 'bob', at: 'x' }, { by: '', at: '' }] } });
  });

  it('self-approval: the webhook\'s message is shown, exit 1', async () => {
    const r = await run('approve', new FakeRequests(stored(), 'alice'), ['debug-db', '-n', 'prod-pay']);
    assert.equal(r.code, 1);
    assert.match(r.err, /denied by admission webhook "validate\.netpol-guard\.io":/);
    assert.match(r.err, /you \(alice\) filed this request; nobody approves their own access \(two-person rule\)/);
  });

  it('forbidden by the SubjectAccessReview: the webhook\'s message, exit 1', async () => {
    const r = await run('approve', new FakeRequests(stored(), 'carol', false), ['debug-db']);
    assert.equal(r.code, 1);
    assert.match(r.err, /carol may not approve grantrequests\.netpol-guard\.io in namespace prod-pay/);
  });

  it('re-reads and retries when someone else wrote in between (409)', async () => {
    const api = new FakeRequests(stored(), 'bob');
    api.conflicts = 1;
    const r = await run('approve', api, ['debug-db']);
    assert.equal(r.code, 0, r.err);
    assert.equal(api.patches.length, 2);
    assert.equal((api.patches[1]!['metadata'] as { resourceVersion: string }).resourceVersion, '8');
  });

  it('refuses locally what is not Pending, or does not exist', async () => {
    const approved = await run('approve', new FakeRequests(stored({ phase: 'Active', approvals: [], message: 'open until 10:05' }), 'bob'), ['debug-db']);
    assert.equal(approved.code, 1);
    assert.match(approved.err, /cannot approve GrantRequest prod-pay\/debug-db: it is Active \(open until 10:05\); only a Pending request takes approvals or a denial/);
    const missing = await run('approve', new FakeRequests(undefined, 'bob'), ['nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no GrantRequest prod-pay\/nope/);
  });

  it('usage errors exit 2', async () => {
    assert.equal((await run('approve', new FakeRequests(stored(), 'bob'), [])).code, 2);
    assert.equal((await run('approve', new FakeRequests(stored(), 'bob'), ['a', 'b'])).code, 2);
    assert.equal((await run('approve', new FakeRequests(stored(), 'bob'), ['Not_A_Name'])).code, 2);
  });
});

describe('deny', () => {
  it('needs --reason', async () => {
    const r = await run('deny', new FakeRequests(stored(), 'bob'), ['debug-db']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--reason is required/);
  });

  it('writes the denial (stamped by the webhook) and says nothing opens', async () => {
    const api = new FakeRequests(stored(), 'bob');
    const r = await run('deny', api, ['debug-db', '--reason', 'use the replica']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(api.patches, [{ metadata: { resourceVersion: '7' }, status: { denial: { by: '', at: '', reason: 'use the replica' } } }]);
    assert.match(r.out, /^denied GrantRequest prod-pay\/debug-db \(ticket INC-1, requested by alice\)\n {2}by: +bob at 2026-12-01T09:05:00Z\n {2}reason: +use the replica\n {2}next: +nothing is opened/);
    const again = await run('deny', api, ['debug-db', '--reason', 'again']);
    assert.equal(again.code, 1);
    assert.match(again.err, /already denied by bob: use the replica/);
  });
});
