// Over 400 lines: one controller's event handling, its leader gate and its three API-facing steps (status, open, remove) belong together.
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { owningRequestUid, approvedPolicy, policyNameCandidates } from '../approval/policyForRequest.js';
import { phaseOf } from '../approval/approvals.js';
import type { GrantRequest, GrantRequestStatus } from '../approval/grantRequest.js';
import { ApprovalApiError, type ApprovalApi } from '../approval/requestApi.js';
import { type AccessEnd, approversOf, closedStatus, nextStep } from '../approval/requestDecision.js';
import { resolveProfile } from '../config/profiles.js';
import type { GuardConfig } from '../config/types.js';
import { describeApiError } from '../kube/apiErrors.js';
import { Informer, type InformerEvent } from '../kube/informer.js';
import { formatTimestamp } from '../lifecycle/timestamp.js';
import { closeReason } from './grantRecord.js';
import type { GrantObserver } from './recorder.js';

/** What happened to a request, for notifications (see requestNotification). */
export type RequestTransition = 'requested' | 'approved' | 'denied' | 'lapsed';

export interface ApprovalControllerOptions {
  api: ApprovalApi;
  /** The config in force (reloads apply at the next step). */
  config: () => GuardConfig;
  /** The API server's time, as the sweeper estimates it. */
  now: () => Date;
  logger: Logger;
  /** Only this namespace's requests (default: all). */
  namespace?: string;
  /** A request transition this leader made (its status write succeeded, so each is told once). Must not block. */
  onTransition?: (transition: RequestTransition, request: GrantRequest) => void;
  /** How often every open request is looked at again (lapses, retries); default 5 s. */
  tickMs?: number;
  /** After a failed create, how long before trying that request again; default 30 s. */
  retryMs?: number;
}

/**
 * The leader's GrantRequest loop. Every replica keeps an informer of the requests; the leader acts:
 * a Pending request with enough distinct approvers becomes Approved (its clock starts at the
 * deciding approval), then its NetworkPolicy is created (owner reference to the request) and the
 * request is Active; a Pending one past approval.pendingTTL Lapses. As the Sweeper's observer it
 * follows the policies it created: expired, revoked or deleted, the request ends Expired or
 * Revoked. A deleted request takes its access with it: the controller deletes the policy itself,
 * since garbage collection needs a kube-controller-manager that not every control plane runs.
 * Decisions are pure (src/approval/requestDecision.ts); this class only sequences API calls.
 */
export class ApprovalController implements GrantObserver {
  private readonly opts: ApprovalControllerOptions;
  private readonly informer: Informer<GrantRequest, GrantRequest>;
  private readonly chains = new Map<string, Promise<void>>();
  private readonly queued = new Set<string>();
  /** Request uid → earliest time (ms) to try opening its access again after a failure. */
  private readonly retryAfter = new Map<string, number>();
  private readonly reportedInvalid = new Set<string>();
  /** Policies this process is deleting because their request was deleted. */
  private readonly removing = new Set<string>();
  private readonly namespaceLabels = new Map<string, { labels: Record<string, string> | undefined; readAtMs: number }>();
  private leadership: AbortSignal | undefined;

  constructor(options: ApprovalControllerOptions) {
    this.opts = options;
    this.informer = new Informer<GrantRequest, GrantRequest>({
      source: options.api.requests,
      keyOf: (request) => request.metadata?.uid,
      project: (request) => request,
      name: 'grant requests',
      logger: options.logger,
    });
    this.informer.subscribe((event) => this.onRequestEvent(event));
  }

  start(): void {
    this.informer.start();
  }

  async stop(): Promise<void> {
    await this.informer.stop();
    await this.idle();
  }

  whenSynced(): Promise<void> {
    return this.informer.whenSynced();
  }

  /** The requests the informer holds now. */
  requests(): GrantRequest[] {
    return this.informer.list();
  }

  /** Every step queued so far has finished. */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.all(this.chains.values());
  }

  /** Act while `signal` is not aborted: look at every request now and every tick, and follow events. */
  async actWhile(signal: AbortSignal): Promise<void> {
    this.leadership = signal;
    const ended = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await Promise.race([this.informer.whenSynced().catch(() => undefined), ended]);
    const tick = (): void => {
      for (const uid of this.informer.keys()) this.enqueue(uid);
    };
    if (!signal.aborted) tick();
    const timer = setInterval(tick, this.opts.tickMs ?? 5_000);
    timer.unref();
    await ended;
    clearInterval(timer);
    await this.idle();
  }

  private get leading(): boolean {
    return this.leadership !== undefined && !this.leadership.aborted;
  }

  private onRequestEvent(event: InformerEvent<GrantRequest>): void {
    if (!this.leading) return;
    const request = event.object;
    if (event.type === 'delete') {
      this.serially(event.key, () => this.removeAccessOf(request));
      return;
    }
    this.enqueue(event.key);
  }

  /** Look at the request `uid` once more, after its earlier steps; at most one look waits. */
  private enqueue(uid: string): void {
    if (this.queued.has(uid)) return;
    this.queued.add(uid);
    this.serially(uid, async () => {
      this.queued.delete(uid);
      await this.step(uid);
    });
  }

  private serially(uid: string, work: () => Promise<void>): void {
    const previous = this.chains.get(uid) ?? Promise.resolve();
    const next = previous.then(work).catch((err: unknown) => {
      this.opts.logger.error({ request: uid, error: describeApiError(err) }, 'grant request step failed; trying again at the next tick');
    });
    this.chains.set(uid, next);
    void next.finally(() => {
      if (this.chains.get(uid) === next) this.chains.delete(uid);
    });
  }

  private async step(uid: string): Promise<void> {
    if (!this.leading) return;
    const request = this.informer.get(uid);
    if (request === undefined) return;
    const phase = phaseOf(request);
    if (phase !== 'Pending' && phase !== 'Approved') return;
    const config = await this.profileFor(request);
    if (config === undefined) return;
    const now = this.opts.now();
    const step = nextStep(request, config.approval, now);
    switch (step.kind) {
      case 'approve': {
        const written = await this.writeStatus(request, step.status);
        if (written === undefined) return;
        this.log(written, 'grant request approved');
        this.tell('approved', written);
        const again = nextStep(written, config.approval, this.opts.now());
        if (again.kind === 'open') await this.open(written, again.expiresAt, config);
        return;
      }
      case 'deny': {
        const written = await this.writeStatus(request, step.status);
        if (written !== undefined) {
          this.log(written, 'grant request denied', { by: written.status?.denial?.by });
          this.tell('denied', written);
        }
        return;
      }
      case 'lapse': {
        const written = await this.writeStatus(request, step.status);
        if (written !== undefined) {
          this.log(written, 'grant request lapsed');
          this.tell('lapsed', written);
        }
        return;
      }
      case 'accept': {
        // Written once per request (the status write carries resourceVersion), so `requested` is
        // announced once, also across leader changes.
        const written = await this.writeStatus(request, step.status);
        if (written !== undefined) {
          this.log(written, 'grant request filed', { requestedBy: written.spec?.requestedBy, required: written.status?.requiredApprovals });
          this.tell('requested', written);
        }
        return;
      }
      case 'expire': {
        const written = await this.writeStatus(request, step.status);
        if (written !== undefined) this.log(written, 'grant request expired before its access could be opened');
        return;
      }
      case 'open':
        if ((this.retryAfter.get(uid) ?? 0) > now.getTime()) return;
        await this.open(request, step.expiresAt, config);
        return;
      case 'invalid':
        if (!this.reportedInvalid.has(uid)) {
          this.reportedInvalid.add(uid);
          this.opts.logger.warn({ request: nameOf(request), reason: step.reason }, 'grant request cannot be acted on');
        }
        return;
      case 'wait':
      case 'none':
        return;
    }
  }

  /** The config of the request's namespace profile; undefined (logged) when the namespace cannot be read. */
  private async profileFor(request: GrantRequest): Promise<GuardConfig | undefined> {
    const config = this.opts.config();
    const namespace = request.metadata!.namespace!;
    if (!config.profiles.some((p) => p.match.namespaceSelector !== undefined)) return resolveProfile(config, namespace, undefined).config;
    // Read at most every LABELS_TTL_MS per namespace: every open request is looked at each tick.
    const nowMs = Date.now();
    let cached = this.namespaceLabels.get(namespace);
    if (cached === undefined || nowMs - cached.readAtMs > LABELS_TTL_MS) {
      cached = { labels: await this.opts.api.namespaceLabels(namespace), readAtMs: nowMs };
      this.namespaceLabels.set(namespace, cached);
    }
    if (cached.labels === undefined) return undefined;
    return resolveProfile(config, namespace, cached.labels).config;
  }

  /**
   * Create the policy of an approved request (idempotent: a policy this request already owns under
   * one of its candidate names is taken as created), then mark the request Active.
   */
  private async open(request: GrantRequest, expiresAt: Date, config: GuardConfig): Promise<void> {
    const uid = request.metadata!.uid!;
    const namespace = request.metadata!.namespace!;
    const approvers = approversOf(request);
    let opened: V1NetworkPolicy | undefined;
    for (const name of policyNameCandidates(request)) {
      if (!this.leading) return;
      try {
        opened = await this.opts.api.createPolicy(namespace, approvedPolicy(request, name, approvers, expiresAt, config.keys));
        this.log(request, 'access opened', { policy: name, expiresAt: formatTimestamp(expiresAt), approvedBy: approvers });
        break;
      } catch (err) {
        if (!(err instanceof ApprovalApiError) || err.status !== 409) {
          this.retryAfter.set(uid, this.opts.now().getTime() + (this.opts.retryMs ?? 30_000));
          this.opts.logger.error({ request: nameOf(request), policy: name, error: describeApiError(err), detail: apiMessage(err) }, 'could not create the policy of an approved request; trying again later');
          return;
        }
        const existing = await this.opts.api.readPolicy(namespace, name);
        if (existing !== undefined && owningRequestUid(existing) === uid) {
          opened = existing;
          break;
        }
      }
    }
    if (opened === undefined) {
      this.opts.logger.error({ request: nameOf(request), tried: policyNameCandidates(request) }, 'every policy name of the request is taken by another policy');
      return;
    }
    this.retryAfter.delete(uid);
    const status: GrantRequestStatus = { ...request.status, phase: 'Active', policyName: opened.metadata!.name!, expiresAt: formatTimestamp(expiresAt), message: `access open until ${formatTimestamp(expiresAt)}` };
    await this.writeStatus(request, status, { retries: 5 });
  }

  /**
   * Write `status` over the request's. On 409 (the request moved on) the write is redone on the
   * informer's newer copy up to `retries` times only when the phase it starts from is unchanged;
   * else the fresh copy's own step decides. Returns the written request, or undefined.
   */
  private async writeStatus(request: GrantRequest, status: GrantRequestStatus, options: { retries?: number } = {}): Promise<GrantRequest | undefined> {
    let current = request;
    for (let attempt = 0; ; attempt++) {
      if (!this.leading) return undefined;
      try {
        return await this.opts.api.replaceStatus({ ...current, status });
      } catch (err) {
        if (!(err instanceof ApprovalApiError) || err.status !== 409 || attempt >= (options.retries ?? 0)) {
          if (err instanceof ApprovalApiError && err.status === 409) return undefined;
          throw err;
        }
        await new Promise((resolve) => setTimeout(resolve, 200 * (attempt + 1)));
        const fresh = this.informer.get(current.metadata!.uid!);
        if (fresh === undefined || phaseOf(fresh) !== phaseOf(request)) return undefined;
        current = fresh;
        status = { ...fresh.status, ...status, approvals: fresh.status?.approvals ?? [] };
      }
    }
  }

  /** The request is gone: delete the policy it owned (GC would, where a controller-manager runs). */
  private async removeAccessOf(request: GrantRequest): Promise<void> {
    const name = request.status?.policyName;
    const namespace = request.metadata?.namespace;
    if (name === undefined || namespace === undefined) return;
    const policy = await this.opts.api.readPolicy(namespace, name);
    const uid = policy?.metadata?.uid;
    const rv = policy?.metadata?.resourceVersion;
    if (policy === undefined || owningRequestUid(policy) !== request.metadata?.uid || uid === undefined || rv === undefined) return;
    this.removing.add(uid);
    const result = await this.opts.api.deletePolicy({ namespace, name, uid, resourceVersion: rv });
    this.log(request, 'grant request deleted: its access was removed', { policy: name, result });
  }

  /**
   * Why a policy of an approved request went, when its request is the reason (the request was
   * deleted, by this controller or by garbage collection); for the GrantRecord's close note.
   */
  removalNote(policy: V1NetworkPolicy | undefined): string | undefined {
    const owner = owningRequestUid(policy);
    if (owner === undefined) return undefined;
    const uid = policy?.metadata?.uid;
    if ((uid !== undefined && this.removing.has(uid)) || (this.informer.synced() && this.informer.get(owner) === undefined)) {
      const name = policy?.metadata?.annotations?.[this.opts.config().keys.grantRequest] ?? owner;
      return `its GrantRequest ${name} was deleted, which removes the access`;
    }
    return undefined;
  }

  /** The approvals that opened `policy`, for its GrantRecord; undefined when no known request owns it. */
  approvalOf(policy: V1NetworkPolicy): { grantRequest: string; approvals: { by: string; at: string }[] } | undefined {
    const owner = owningRequestUid(policy);
    const request = owner === undefined ? undefined : this.informer.get(owner);
    if (request === undefined) return undefined;
    const approvers = new Set(approversOf(request));
    // The first entry of each approver who counted, with the webhook's stamp.
    const approvals = (request.status?.approvals ?? []).filter((a) => approvers.delete(a.by)).map((a) => ({ by: a.by, at: a.at }));
    return { grantRequest: request.metadata!.name!, approvals };
  }

  // GrantObserver: the Sweeper's view of the policies.

  observe(event: InformerEvent<V1NetworkPolicy>, context: { listing: boolean; reaping: boolean }): void {
    if (event.type !== 'delete' || context.listing) return;
    const policy = event.object;
    if (context.reaping) return this.endAccess(policy, { how: 'expired' });
    const reason = closeReason(policy, false, this.opts.config());
    this.endAccess(policy, reason.how === 'Revoked' ? { how: 'revoked', ...(reason.by !== undefined ? { by: reason.by } : {}) } : { how: 'deleted' });
  }

  reaped(_uid: string, result: { deletedAt: Date; policy: V1NetworkPolicy } | { gone: boolean }): void {
    if ('deletedAt' in result) this.endAccess(result.policy, { how: 'expired' });
  }

  /**
   * A full list of the live grants: an Active request whose policy is not among them lost it while
   * no leader watched (read once more before believing it); a policy whose request is gone goes.
   */
  listed(live: V1NetworkPolicy[]): void {
    if (!this.leading || !this.informer.synced()) return;
    const liveNames = new Set(live.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`));
    for (const request of this.informer.list()) {
      const name = request.status?.policyName;
      if (phaseOf(request) !== 'Active' || name === undefined || liveNames.has(`${request.metadata?.namespace}/${name}`)) continue;
      this.serially(request.metadata!.uid!, async () => {
        if ((await this.opts.api.readPolicy(request.metadata!.namespace!, name)) !== undefined) return;
        const expiresAt = Date.parse(request.status?.expiresAt ?? '');
        await this.close(request.metadata!.uid!, this.opts.now().getTime() >= expiresAt ? { how: 'expired' } : { how: 'deleted' });
      });
    }
    for (const policy of live) {
      const owner = owningRequestUid(policy);
      if (owner !== undefined && this.informer.get(owner) === undefined) {
        const namespace = policy.metadata!.namespace!;
        const name = policy.metadata!.name!;
        this.serially(owner, () => this.removeAccessOf({ metadata: { namespace, uid: owner }, status: { policyName: name } }));
      }
    }
  }

  private endAccess(policy: V1NetworkPolicy, end: AccessEnd): void {
    if (!this.leading) return;
    const owner = owningRequestUid(policy);
    if (owner === undefined || this.informer.get(owner) === undefined) return;
    this.serially(owner, () => this.close(owner, end));
  }

  private async close(uid: string, end: AccessEnd): Promise<void> {
    const request = this.informer.get(uid);
    if (request === undefined) return;
    const status = closedStatus(request, end, this.opts.now());
    if (status === undefined) return;
    const written = await this.writeStatus(request, status, { retries: 5 });
    if (written !== undefined) this.log(written, `grant request ${status.phase!.toLowerCase()}`, { message: status.message });
  }

  private tell(transition: RequestTransition, request: GrantRequest): void {
    try {
      this.opts.onTransition?.(transition, request);
    } catch (err) {
      this.opts.logger.error({ error: (err as Error).message }, 'grant request listener failed');
    }
  }

  private log(request: GrantRequest, message: string, extra: Record<string, unknown> = {}): void {
    this.opts.logger.info({ request: nameOf(request), phase: request.status?.phase, ...extra }, message);
  }
}

/** How long a namespace's labels (for its profile) are reused before they are read again. */
const LABELS_TTL_MS = 30_000;

function nameOf(request: GrantRequest): string {
  return `${request.metadata?.namespace}/${request.metadata?.name}`;
}

/** The API server's message in a failed call (a webhook's denial reason), when there is one. */
function apiMessage(err: unknown): string | undefined {
  const body = (err as { cause?: { body?: unknown } })?.cause?.body;
  if (typeof body === 'string') {
    try {
      return (JSON.parse(body) as { message?: string }).message;
    } catch {
      return body.slice(0, 500);
    }
  }
  return (body as { message?: string } | undefined)?.message;
}
