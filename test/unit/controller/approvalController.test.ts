import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { pino } from 'pino';
import type { GrantRequest } from '../../../src/approval/grantRequest.js';
import { ApprovalApiError, type ApprovalApi } from '../../../src/approval/requestApi.js';
import { buildConfig } from '../../../src/config/load.js';
import type { GuardConfig } from '../../../src/config/types.js';
import { ApprovalController, type RequestTransition } from '../../../src/controller/approvalController.js';
import type { WatchEventType } from '../../../src/kube/watchStream.js';
import { approval, at, grantRequest, REQUEST_UID } from '../approval/fixtures.js';
import { waitFor } from '../sweeper/support.js';

function config(): GuardConfig {
  const built = buildConfig({ profiles: [{ name: 'prod', match: { namespaces: ['prod-*'] }, approval: { required: 2, pendingTTL: '1h' } }] }, 'test');
  if (!built.ok) throw new Error(built.errors.join('; '));
  return built.config;
}

/** An in-memory API server for the approval controller: requests (list + watch), policies, status writes. */
class FakeApprovalApi implements ApprovalApi {
  readonly stored = new Map<string, GrantRequest>();
  readonly policies = new Map<string, V1NetworkPolicy>();
  readonly calls: string[] = [];
  private rv = 100;
  private listeners = new Set<(type: WatchEventType, object: unknown) => void>();
  failCreate: ((policy: V1NetworkPolicy) => number | undefined) | undefined;

  requests: ApprovalApi['requests'] = {
    list: async () => ({ items: [...this.stored.values()].map((r) => structuredClone(r)), continueToken: undefined, resourceVersion: String(this.rv) }),
    watch: (_params, onEvent) => {
      this.listeners.add(onEvent);
      let end!: (value: unknown) => void;
      const ended = new Promise<unknown>((resolve) => {
        end = resolve;
      });
      return {
        connected: Promise.resolve(true),
        ended,
        abort: () => {
          this.listeners.delete(onEvent);
          end(null);
        },
      };
    },
  };

  put(request: GrantRequest, type: WatchEventType = 'ADDED'): GrantRequest {
    const copy = structuredClone(request);
    copy.metadata!.resourceVersion = String(++this.rv);
    this.stored.set(copy.metadata!.uid!, copy);
    for (const listener of this.listeners) listener(type, structuredClone(copy));
    return copy;
  }

  remove(uid: string): void {
    const request = this.stored.get(uid)!;
    this.stored.delete(uid);
    for (const listener of this.listeners) listener('DELETED', structuredClone(request));
  }

  async replaceStatus(request: GrantRequest): Promise<GrantRequest> {
    this.calls.push(`status ${request.metadata!.name} ${request.status?.phase}`);
    const current = this.stored.get(request.metadata!.uid!);
    if (current === undefined) throw new ApprovalApiError('status', undefined, 404);
    if (current.metadata!.resourceVersion !== request.metadata!.resourceVersion) throw new ApprovalApiError('status', undefined, 409);
    return this.put({ ...current, status: request.status! }, 'MODIFIED');
  }

  async readPolicy(namespace: string, name: string): Promise<V1NetworkPolicy | undefined> {
    return structuredClone(this.policies.get(`${namespace}/${name}`));
  }

  async createPolicy(namespace: string, policy: V1NetworkPolicy): Promise<V1NetworkPolicy> {
    this.calls.push(`create ${policy.metadata!.name}`);
    const failure = this.failCreate?.(policy);
    if (failure !== undefined) throw new ApprovalApiError('create', undefined, failure);
    const key = `${namespace}/${policy.metadata!.name}`;
    if (this.policies.has(key)) throw new ApprovalApiError('create', undefined, 409);
    const created = structuredClone(policy);
    created.metadata!.uid = `policy-${this.policies.size + 1}`;
    created.metadata!.resourceVersion = String(++this.rv);
    this.policies.set(key, created);
    return created;
  }

  async deletePolicy(target: { namespace: string; name: string; uid: string }): Promise<'deleted' | 'gone' | 'conflict'> {
    this.calls.push(`delete ${target.name}`);
    const key = `${target.namespace}/${target.name}`;
    if (!this.policies.has(key)) return 'gone';
    this.policies.delete(key);
    return 'deleted';
  }

  async namespaceLabels(): Promise<Record<string, string>> {
    return {};
  }

  async createEvent(): Promise<void> {}
  close(): void {}
}

/** `prepare` runs before the informer's first list (the fake's watch does not replay older events). */
function setup(initial: GrantRequest[] = [], prepare: (api: FakeApprovalApi) => void = () => undefined, nowAt = at(20)) {
  const api = new FakeApprovalApi();
  prepare(api);
  for (const request of initial) api.put(request);
  const transitions: [RequestTransition, string | undefined][] = [];
  let now = new Date(nowAt);
  const controller = new ApprovalController({
    api,
    config,
    now: () => now,
    logger: pino({ level: 'silent' }),
    tickMs: 20,
    onTransition: (t, r) => transitions.push([t, r.status?.phase]),
  });
  const leadership = new AbortController();
  controller.start();
  const acting = controller.actWhile(leadership.signal);
  return {
    api,
    controller,
    transitions,
    setNow: (text: string) => {
      now = new Date(text);
    },
    async stop() {
      leadership.abort();
      await acting;
      await controller.stop();
    },
  };
}

const twoApprovals = () => ({ phase: 'Pending' as const, requiredApprovals: 2, approvals: [approval('bob', 5), approval('dave', 12)] });

describe('approval controller', () => {
  it('approves, creates the policy once with both approvers and the expiry from the second approval, then Active', async () => {
    const t = setup([grantRequest(twoApprovals())]);
    try {
      await waitFor(() => t.api.stored.get(REQUEST_UID)?.status?.phase === 'Active', 'Active', 3_000);
      const status = t.api.stored.get(REQUEST_UID)!.status!;
      assert.equal(status.approvedAt, at(12));
      assert.equal(status.expiresAt, at(42));
      assert.equal(status.policyName, 'db-debug');
      const policy = t.api.policies.get('prod-payments/db-debug')!;
      assert.equal(policy.metadata?.annotations?.['netpol-guard.io/approved-by'], 'bob,dave');
      assert.equal(policy.metadata?.annotations?.['netpol-guard.io/expires-at'], at(42));
      assert.equal(policy.metadata?.annotations?.['netpol-guard.io/requested-by'], 'alice');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(t.api.calls.filter((c) => c.startsWith('create')), ['create db-debug'], 'ticks after Active create nothing');
      assert.deepEqual(t.transitions.map(([e]) => e), ['approved']);
      assert.deepEqual(t.controller.approvalOf(policy), { grantRequest: 'db-debug', approvals: [approval('bob', 5), approval('dave', 12)] });
    } finally {
      await t.stop();
    }
  });

  it('a second leader finding the policy already created (left Approved) adopts it instead of creating twice', async () => {
    const approved = grantRequest({ ...twoApprovals(), phase: 'Approved', approvedAt: at(12), expiresAt: at(42) });
    const t = setup([approved]);
    // The previous leader's creation: same name, owned by this request.
    const { approvedPolicy } = await import('../../../src/approval/policyForRequest.js');
    t.api.policies.set('prod-payments/db-debug', { ...approvedPolicy(approved, 'db-debug', ['bob', 'dave'], new Date(at(42)), config().keys), metadata: { ...approvedPolicy(approved, 'db-debug', ['bob', 'dave'], new Date(at(42)), config().keys).metadata, uid: 'p1', resourceVersion: '1' } });
    try {
      await waitFor(() => t.api.stored.get(REQUEST_UID)?.status?.phase === 'Active', 'Active', 3_000);
      assert.equal(t.api.policies.size, 1);
      assert.equal(t.api.stored.get(REQUEST_UID)!.status!.policyName, 'db-debug');
    } finally {
      await t.stop();
    }
  });

  it('a name taken by somebody else\'s policy: the deterministic second name', async () => {
    const t = setup([grantRequest(twoApprovals())], (api) => api.policies.set('prod-payments/db-debug', { metadata: { name: 'db-debug', namespace: 'prod-payments', uid: 'other' } }));
    try {
      await waitFor(() => t.api.stored.get(REQUEST_UID)?.status?.phase === 'Active', 'Active', 3_000);
      assert.equal(t.api.stored.get(REQUEST_UID)!.status!.policyName, 'db-debug-7c1e2d3f4a');
      assert.equal(t.api.policies.get('prod-payments/db-debug')!.metadata!.uid, 'other', 'the other policy is untouched');
    } finally {
      await t.stop();
    }
  });

  it('a webhook denial of the create leaves the request Approved and backs off; nothing is created', async () => {
    const t = setup([grantRequest(twoApprovals())], (api) => {
      api.failCreate = () => 403;
    });
    try {
      await waitFor(() => t.api.stored.get(REQUEST_UID)?.status?.phase === 'Approved', 'Approved', 3_000);
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.equal(t.api.policies.size, 0);
      assert.equal(t.api.calls.filter((c) => c.startsWith('create')).length, 1, 'retried only after retryMs, not every tick');
    } finally {
      await t.stop();
    }
  });

  it('one approval of two waits; past pendingTTL it lapses and nothing is created; Denied never creates', async () => {
    const denied = grantRequest({ phase: 'Denied', requiredApprovals: 2, approvals: [approval('bob', 5), approval('dave', 6)], denial: { by: 'carol', at: at(7), reason: 'no' } }, { uid: 'denied-uid', name: 'denied' });
    const t = setup([grantRequest({ phase: 'Pending', requiredApprovals: 2, approvals: [approval('bob', 5)] }), denied]);
    try {
      await new Promise((resolve) => setTimeout(resolve, 80));
      assert.equal(t.api.stored.get(REQUEST_UID)!.status!.phase, 'Pending');
      t.setNow(at(61));
      await waitFor(() => t.api.stored.get(REQUEST_UID)?.status?.phase === 'Lapsed', 'Lapsed', 3_000);
      assert.equal(t.api.policies.size, 0);
      assert.deepEqual(t.transitions.map(([e]) => e), ['lapsed']);
      assert.equal(t.api.stored.get('denied-uid')!.status!.phase, 'Denied');
    } finally {
      await t.stop();
    }
  });

  it('the policy expiring (reaped by the sweeper) closes the request Expired; a revoke closes it Revoked by whom', async () => {
    const t = setup([grantRequest(twoApprovals())]);
    try {
      await waitFor(() => t.api.stored.get(REQUEST_UID)?.status?.phase === 'Active', 'Active', 3_000);
      const policy = t.api.policies.get('prod-payments/db-debug')!;
      t.setNow(at(42, 1));
      t.controller.reaped(policy.metadata!.uid!, { deletedAt: new Date(at(42, 1)), policy });
      await waitFor(() => t.api.stored.get(REQUEST_UID)?.status?.phase === 'Expired', 'Expired', 3_000);
      assert.equal(t.api.stored.get(REQUEST_UID)!.status!.closedAt, at(42, 1));

      // A request filed while the controller watches arrives as a watch event.
      t.setNow(at(20));
      const other = t.api.put(grantRequest(twoApprovals(), { uid: 'second-uid', name: 'second' }));
      await waitFor(() => t.api.stored.get('second-uid')?.status?.phase === 'Active', 'second Active', 3_000);
      const second = t.api.policies.get('prod-payments/second')!;
      const revoked = { ...second, metadata: { ...second.metadata, annotations: { ...second.metadata!.annotations, 'netpol-guard.io/revoked-by': 'carol', 'netpol-guard.io/revoked-at': at(30) } } };
      t.controller.observe({ type: 'delete', key: second.metadata!.uid!, object: revoked }, { listing: false, reaping: false });
      await waitFor(() => t.api.stored.get('second-uid')?.status?.phase === 'Revoked', 'Revoked', 3_000);
      assert.match(t.api.stored.get('second-uid')!.status!.message!, /revoked by carol/);
      assert.ok(other);
    } finally {
      await t.stop();
    }
  });

  it('deleting the request deletes its policy (no garbage collector needed) and says why for the record', async () => {
    const t = setup([grantRequest(twoApprovals())]);
    try {
      await waitFor(() => t.api.stored.get(REQUEST_UID)?.status?.phase === 'Active', 'Active', 3_000);
      const policy = t.api.policies.get('prod-payments/db-debug')!;
      t.api.remove(REQUEST_UID);
      await waitFor(() => !t.api.policies.has('prod-payments/db-debug'), 'policy deleted', 3_000);
      assert.match(t.controller.removalNote(policy) ?? '', /GrantRequest db-debug was deleted/);
    } finally {
      await t.stop();
    }
  });

  it('a request just filed is accepted as Pending with the count required, and announced once as `requested`', async () => {
    const t = setup([grantRequest({})]);
    try {
      await waitFor(() => t.api.stored.get(REQUEST_UID)?.status?.requiredApprovals === 2, 'Pending written', 3_000);
      assert.equal(t.api.stored.get(REQUEST_UID)!.status!.phase, 'Pending');
      await new Promise((resolve) => setTimeout(resolve, 80));
      assert.deepEqual(t.transitions, [['requested', 'Pending']]);
    } finally {
      await t.stop();
    }
  });

  it('a denial written by an approver ends the request Denied, announced once; nothing is created', async () => {
    const t = setup([grantRequest({ phase: 'Pending', requiredApprovals: 2, approvals: [approval('bob', 5)] })]);
    try {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const current = t.api.stored.get(REQUEST_UID)!;
      t.api.put({ ...current, status: { ...current.status, denial: { by: 'carol', at: at(15), reason: 'no' } } }, 'MODIFIED');
      await waitFor(() => t.api.stored.get(REQUEST_UID)?.status?.phase === 'Denied', 'Denied', 3_000);
      await new Promise((resolve) => setTimeout(resolve, 80));
      assert.deepEqual(t.transitions, [['denied', 'Denied']]);
      assert.equal(t.api.policies.size, 0);
    } finally {
      await t.stop();
    }
  });

  it('a standby acts on nothing', async () => {
    const api = new FakeApprovalApi();
    api.put(grantRequest(twoApprovals()));
    const controller = new ApprovalController({ api, config, now: () => new Date(at(20)), logger: pino({ level: 'silent' }), tickMs: 10 });
    controller.start();
    await controller.whenSynced();
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(api.calls, []);
    await controller.stop();
  });
});
