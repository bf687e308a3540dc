import type { V1LabelSelector, V1Namespace, V1NetworkPolicy } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { type CloseHow, type GrantRecord, GRANT_RECORD_STATES, specSnapshot, STATE_LABEL } from '../controller/grantRecord.js';
import { Informer, type InformerEvent, type InformerHooks, type ListWatchSource } from '../kube/informer.js';
import type { Clock } from '../kube/clock.js';
import { type AnnotationKeys, readGrantAnnotations, stringEntry, stringMap, TEMPORARY_LABEL_VALUE } from '../lifecycle/annotations.js';
import { normalizeTicket } from '../lifecycle/ticket.js';
import { parseTimestamp } from '../lifecycle/timestamp.js';
import type { ClusterView, ClusterViewPart, EndedGrant, LiveGrant, NetworkPolicySource, PodMeta, PodMetaSource } from './view.js';

/** Where the view's three resources come from (the API server in the webhook, fakes in tests). */
export interface ClusterViewSources {
  namespaces: ListWatchSource<V1Namespace>;
  /**
   * NetworkPolicies in every namespace; the view asks only for those labelled temporary, or for
   * all of them with watchAllPolicies.
   */
  policies: ListWatchSource<V1NetworkPolicy>;
  grantRecords: ListWatchSource<GrantRecord>;
}

export interface InformerClusterViewOptions {
  sources: ClusterViewSources;
  /** The grant annotation keys (the config's prefix). */
  keys: AnnotationKeys;
  /** Closed GrantRecords older than this are not kept (the longest recreateCooldown of any profile). */
  guardWindowMs: number;
  /** A broken watch older than this makes the view stale (clusterView.maxStaleness). */
  maxStalenessMs: number;
  /**
   * The pod part, when the effect analysis plugs one in. Without it podsMatching throws: a rule
   * that reads pods must not receive "no pods" for "nobody asked".
   */
  pods?: PodMetaSource;
  /**
   * Every NetworkPolicy (full spec), when plugged in; the view's own policy informer keeps only
   * temporary ones. Without it policiesIn throws and provides('policies') is false.
   */
  allPolicies?: NetworkPolicySource;
  /**
   * Watch every NetworkPolicy (not only the temporary ones) and answer policiesIn from it: one
   * list+watch and one cached copy per policy serve both the live grants and the effect analysis,
   * where a second informer would hold every temporary grant twice and double the watch traffic.
   * Each policy is kept as namespace, name and spec only. Not together with allPolicies.
   */
  watchAllPolicies?: boolean;
  clock?: Clock;
  logger?: Logger;
  /** Per-informer progress (metrics). */
  hooks?: (informer: ViewInformerName) => InformerHooks;
  /** Informer resync period (default: the Informer's). */
  resyncMs?: number;
}

export type ViewInformerName = 'namespaces' | 'grants' | 'grantrecords';

export interface ViewInformerStatus {
  /** `grants` and `policies` are one informer when the view watches every policy: live grants and all policies held. */
  name: ViewInformerName | 'pods' | 'policies';
  synced: boolean;
  stale: boolean;
  cached: number;
}

export interface ClusterViewStatus {
  synced: boolean;
  stale: boolean;
  informers: ViewInformerStatus[];
}

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * What the policy informer keeps of one NetworkPolicy: its grant projection when it is labelled
 * temporary, and, when the view watches every policy, the policy as the analysis reads it.
 */
interface PolicyEntry {
  grant: LiveGrant | undefined;
  policy: V1NetworkPolicy | undefined;
}
const CLOSED_STATES = new Set<string>(GRANT_RECORD_STATES.filter((s) => s !== 'Open'));

/**
 * The webhook's ClusterView: three Informers (namespaces → labels; live grants; GrantRecords
 * closed within the guard window), each keeping only a projection, plus indexes by namespace,
 * requester, namespace/name and ticket kept current from the informers' events, so every read
 * a rule makes is a map lookup. Reads never block and never do I/O.
 */
export class InformerClusterView implements ClusterView {
  private readonly namespaces: Informer<V1Namespace, Readonly<Record<string, string>>>;
  private readonly grants: Informer<V1NetworkPolicy, PolicyEntry>;
  private readonly records: Informer<GrantRecord, EndedGrant | null>;
  private readonly pods: PodMetaSource | undefined;
  private readonly allPolicies: NetworkPolicySource | undefined;
  private readonly watchesAllPolicies: boolean;
  private readonly policiesByNamespace = new Index<V1NetworkPolicy>();
  private readonly liveByNamespace = new Index<LiveGrant>();
  private readonly liveByRequester = new Index<LiveGrant>();
  private readonly endedByName = new Index<EndedGrant>();
  private readonly endedByTicket = new Index<EndedGrant>();

  constructor(options: InformerClusterViewOptions) {
    const { keys, maxStalenessMs } = options;
    if (options.watchAllPolicies === true && options.allPolicies !== undefined) throw new Error('watchAllPolicies and allPolicies are two sources of the same part: give one');
    const all = options.watchAllPolicies === true;
    this.watchesAllPolicies = all;
    const common = {
      maxStalenessMs,
      ...(options.clock !== undefined && { clock: options.clock }),
      ...(options.logger !== undefined && { logger: options.logger }),
      ...(options.resyncMs !== undefined && { resyncMs: options.resyncMs }),
    };
    const hooks = (name: ViewInformerName): { hooks?: InformerHooks } => (options.hooks ? { hooks: options.hooks(name) } : {});
    this.namespaces = new Informer({
      ...common,
      ...hooks('namespaces'),
      name: 'namespaces',
      source: options.sources.namespaces,
      keyOf: (ns) => ns.metadata?.name,
      project: (ns) => {
        const labels = stringMap(ns.metadata?.labels);
        return Object.keys(labels).length === 0 ? NO_LABELS : labels;
      },
    });
    this.grants = new Informer({
      ...common,
      ...hooks('grants'),
      name: all ? 'network policies' : 'live grants',
      source: options.sources.policies,
      ...(!all && { labelSelector: `${keys.temporaryLabel}=${TEMPORARY_LABEL_VALUE}` }),
      keyOf: (p) => (p.metadata?.namespace && p.metadata.name ? `${p.metadata.namespace}/${p.metadata.name}` : undefined),
      project: (p) => ({
        // The same test as the label selector the temporary-only informer sends.
        grant: !all || p.metadata?.labels?.[keys.temporaryLabel] === TEMPORARY_LABEL_VALUE ? projectLiveGrant(p, keys) : undefined,
        policy: all ? projectPolicy(p) : undefined,
      }),
    });
    const guardWindowMs = options.guardWindowMs;
    const clock = options.clock;
    this.records = new Informer({
      ...common,
      ...hooks('grantrecords'),
      name: 'grant records',
      source: options.sources.grantRecords,
      // Open records are the live grants, known from the policies themselves.
      labelSelector: `${STATE_LABEL}!=Open`,
      keyOf: (r) => r.metadata?.name,
      project: (r) => projectEndedGrant(r, (clock?.now() ?? new Date()).getTime() - guardWindowMs),
    });
    this.pods = options.pods;
    this.allPolicies = options.allPolicies;
    this.grants.subscribe((event) => {
      applyEvent(this.liveByNamespace, event, (e) => e.grant, (g) => g.namespace);
      applyEvent(this.liveByRequester, event, (e) => e.grant, (g) => g.requestedBy);
      applyEvent(this.policiesByNamespace, event, (e) => e.policy, (p) => p.metadata?.namespace);
    });
    this.records.subscribe((event) => {
      applyEvent(this.endedByName, event, (g) => g ?? undefined, (g) => nameKey(g.namespace, g.name));
      applyEvent(this.endedByTicket, event, (g) => g ?? undefined, (g) => g.ticket);
    });
  }

  start(): void {
    this.namespaces.start();
    this.grants.start();
    this.records.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.namespaces.stop(), this.grants.stop(), this.records.stop()]);
  }

  /** Resolves once every informer (and a pod source that can tell) has listed and is watching. */
  async whenSynced(): Promise<void> {
    await Promise.all([this.namespaces.whenSynced(), this.grants.whenSynced(), this.records.whenSynced(), this.pods?.whenSynced?.()]);
  }

  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined {
    return this.namespaces.get(namespace);
  }

  podsMatching(namespace: string, selector: V1LabelSelector): readonly PodMeta[] {
    if (this.pods === undefined) throw new Error('this cluster view has no pod source; a rule that reads pods needs one plugged in');
    return this.pods.podsMatching(namespace, selector);
  }

  namespaceNames(): readonly string[] {
    return this.namespaces.keys();
  }

  policiesIn(namespace: string): readonly V1NetworkPolicy[] {
    if (this.watchesAllPolicies) return this.policiesByNamespace.get(namespace);
    if (this.allPolicies === undefined) throw new Error('this cluster view has no source of every NetworkPolicy; a rule that reads them needs one plugged in');
    return this.allPolicies.policiesIn(namespace);
  }

  provides(part: ClusterViewPart): boolean {
    return part === 'pods' ? this.pods !== undefined : this.watchesAllPolicies || this.allPolicies !== undefined;
  }

  liveGrantsIn(namespace: string): readonly LiveGrant[] {
    return this.liveByNamespace.get(namespace);
  }

  liveGrantsBy(requestedBy: string): readonly LiveGrant[] {
    return this.liveByRequester.get(requestedBy);
  }

  endedGrantsNamed(namespace: string, name: string): readonly EndedGrant[] {
    return this.endedByName.get(nameKey(namespace, name));
  }

  endedGrantsWithTicket(ticket: string): readonly EndedGrant[] {
    return this.endedByTicket.get(ticket);
  }

  stale(): boolean {
    for (const informer of this.informerStatus()) if (!informer.synced || informer.stale) return true;
    return false;
  }

  status(): ClusterViewStatus {
    const informers = this.informerStatus();
    return { synced: informers.every((i) => i.synced), stale: informers.some((i) => !i.synced || i.stale), informers };
  }

  private informerStatus(): ViewInformerStatus[] {
    const of = (name: ViewInformerName, informer: { synced(): boolean; stale(): boolean; size: number }): ViewInformerStatus => ({
      name,
      synced: informer.synced(),
      stale: informer.stale(),
      cached: informer.size,
    });
    const grants = of('grants', this.grants);
    const list = [of('namespaces', this.namespaces), grants, of('grantrecords', this.records)];
    if (this.pods !== undefined) list.push({ name: 'pods', synced: this.pods.synced(), stale: this.pods.stale(), cached: this.pods.size ?? 0 });
    if (this.watchesAllPolicies) {
      // One informer holds both: every policy under `policies`, the temporary ones under `grants`.
      list.push({ ...grants, name: 'policies' });
      grants.cached = this.liveByNamespace.size;
    }
    if (this.allPolicies !== undefined) list.push({ name: 'policies', synced: this.allPolicies.synced(), stale: this.allPolicies.stale(), cached: 0 });
    return list;
  }
}

/** The projection of a temporary NetworkPolicy: what quotas count and list. */
export function projectLiveGrant(policy: V1NetworkPolicy, keys: AnnotationKeys): LiveGrant {
  const grant = readGrantAnnotations(policy, keys);
  const ticket = grant.ticket === undefined ? '' : normalizeTicket(grant.ticket);
  return {
    namespace: policy.metadata?.namespace ?? '',
    name: policy.metadata?.name ?? '',
    requestedBy: grant.requestedBy,
    ticket: ticket === '' ? undefined : ticket,
    expiresAtMs: grant.expiresAt.state === 'valid' ? grant.expiresAt.value.getTime() : undefined,
    specSha256: specSnapshot(policy, 0).sha256,
  };
}

/**
 * The projection of a closed GrantRecord, or null for one that ended before `oldestMs` (outside
 * every cooldown: kept as a null entry only so the informer can track its key) or is not closed.
 */
export function projectEndedGrant(record: GrantRecord, oldestMs: number): EndedGrant | null {
  const status = record.status;
  const spec = record.spec;
  if (status === undefined || spec === undefined || !CLOSED_STATES.has(status.state)) return null;
  const closed = status.closedAt === undefined ? undefined : parseTimestamp(status.closedAt);
  if (!closed?.ok || closed.date.getTime() < oldestMs) return null;
  const hashes = [spec.admittedSpec?.sha256, status.specSha256].filter((h): h is string => typeof h === 'string' && h !== '');
  const ticket = spec.ticket === undefined ? '' : normalizeTicket(spec.ticket);
  return {
    namespace: spec.policy.namespace,
    name: spec.policy.name,
    ticket: ticket === '' ? undefined : ticket,
    specSha256s: [...new Set(hashes)],
    how: status.state as CloseHow,
    closedAtMs: closed.date.getTime(),
    closedBy: stringEntry(status, 'closedBy'),
  };
}

/**
 * A NetworkPolicy as the effect analysis reads the namespace's other policies: namespace, name and
 * spec. Annotations (kubectl's last-applied copy doubles a policy), managedFields and status are
 * not kept.
 */
export function projectPolicy(policy: V1NetworkPolicy): V1NetworkPolicy {
  const out: V1NetworkPolicy = { metadata: { namespace: policy.metadata?.namespace ?? '', name: policy.metadata?.name ?? '' } };
  if (policy.spec !== undefined) out.spec = policy.spec;
  return out;
}

function nameKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/**
 * Keeps a secondary index current from one informer's events: `valueOf` picks what the index holds
 * of a projection (undefined: nothing), `bucketOf` where (a projection may move between buckets).
 */
function applyEvent<T, V>(index: Index<V>, event: InformerEvent<T>, valueOf: (object: T) => V | undefined, bucketOf: (value: V) => string | undefined): void {
  if (event.type === 'update' || event.type === 'delete') {
    const previous = valueOf(event.type === 'update' ? event.previous : event.object);
    const bucket = previous === undefined ? undefined : bucketOf(previous);
    if (bucket !== undefined) index.remove(bucket, event.key);
  }
  if (event.type === 'add' || event.type === 'update') {
    const value = valueOf(event.object);
    const bucket = value === undefined ? undefined : bucketOf(value);
    if (bucket !== undefined) index.put(bucket, event.key, value!);
  }
}

/**
 * bucket → key → object, with each bucket's values cached as an array until it changes: reads
 * (every admission) far outnumber writes, and a rule wants a list.
 */
class Index<T> {
  private readonly buckets = new Map<string, { byKey: Map<string, T>; values: T[] | undefined }>();
  /** Values held, over every bucket. */
  size = 0;

  get(bucket: string): readonly T[] {
    const entry = this.buckets.get(bucket);
    if (entry === undefined) return [];
    entry.values ??= [...entry.byKey.values()];
    return entry.values;
  }

  put(bucket: string, key: string, value: T): void {
    let entry = this.buckets.get(bucket);
    if (entry === undefined) {
      entry = { byKey: new Map(), values: undefined };
      this.buckets.set(bucket, entry);
    }
    if (!entry.byKey.has(key)) this.size++;
    entry.byKey.set(key, value);
    entry.values = undefined;
  }

  remove(bucket: string, key: string): void {
    const entry = this.buckets.get(bucket);
    if (entry === undefined || !entry.byKey.delete(key)) return;
    this.size--;
    if (entry.byKey.size === 0) this.buckets.delete(bucket);
    else entry.values = undefined;
  }
}
