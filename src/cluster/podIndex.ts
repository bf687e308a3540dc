/**
 * Live pods as the effect analysis reads them: {namespace, name, labels}, indexed by namespace and,
 * within a namespace, by label pair, so `podsMatching` with matchLabels walks only the pods that
 * carry the rarest of its pairs instead of the whole namespace. Fed by informer events (or a
 * one-shot list); label keys and values are interned, since a cluster repeats the same few.
 */
import type { V1LabelSelector } from '@kubernetes/client-node';
import { selectorMatches } from '../policy/selector.js';
import type { PodMeta } from './view.js';

interface NamespacePods {
  byName: Map<string, PodMeta>;
  /** "key=value" → names of the pods carrying that label. */
  byLabel: Map<string, Set<string>>;
}

export class PodIndex {
  private readonly namespaces = new Map<string, NamespacePods>();
  private readonly interned = new Map<string, string>();
  /** Pods made by canonical(), so upsert does not copy them again. */
  private readonly canonicalized = new WeakSet<PodMeta>();

  get size(): number {
    let n = 0;
    for (const ns of this.namespaces.values()) n += ns.byName.size;
    return n;
  }

  /** Adds or replaces a pod (same namespace and name); stores `canonical(pod)`, or `pod` itself when it already is. */
  upsert(pod: PodMeta): void {
    let ns = this.namespaces.get(pod.namespace);
    if (ns === undefined) {
      ns = { byName: new Map(), byLabel: new Map() };
      this.namespaces.set(this.intern(pod.namespace), ns);
    }
    const previous = ns.byName.get(pod.name);
    if (previous !== undefined) this.unindexLabels(ns, previous);
    const stored = this.canonicalized.has(pod) ? pod : this.canonical(pod);
    ns.byName.set(stored.name, stored);
    for (const key of Object.keys(stored.labels)) {
      const pair = this.intern(`${key}=${stored.labels[key]}`);
      let names = ns.byLabel.get(pair);
      if (names === undefined) ns.byLabel.set(pair, (names = new Set()));
      names.add(stored.name);
    }
  }

  remove(namespace: string, name: string): void {
    const ns = this.namespaces.get(namespace);
    const pod = ns?.byName.get(name);
    if (ns === undefined || pod === undefined) return;
    this.unindexLabels(ns, pod);
    ns.byName.delete(name);
    if (ns.byName.size === 0) this.namespaces.delete(namespace);
  }

  /** Pods of `namespace` the selector matches (Kubernetes semantics; `{}` matches all). */
  podsMatching(namespace: string, selector: V1LabelSelector): PodMeta[] {
    const ns = this.namespaces.get(namespace);
    if (ns === undefined) return [];
    const candidates = this.narrowest(ns, selector);
    const out: PodMeta[] = [];
    if (candidates === undefined) {
      for (const pod of ns.byName.values()) if (selectorMatches(selector, pod.labels)) out.push(pod);
    } else {
      for (const name of candidates) {
        const pod = ns.byName.get(name)!;
        if (selectorMatches(selector, pod.labels)) out.push(pod);
      }
    }
    return out;
  }

  /** Namespaces that hold at least one pod. */
  namespaceNames(): string[] {
    return [...this.namespaces.keys()];
  }

  /** The smallest posting list among the selector's matchLabels pairs; undefined: scan the namespace. */
  private narrowest(ns: NamespacePods, selector: V1LabelSelector): ReadonlySet<string> | undefined {
    let best: ReadonlySet<string> | undefined;
    const labels = selector.matchLabels ?? {};
    for (const key of Object.keys(labels)) {
      const names = ns.byLabel.get(`${key}=${labels[key]}`);
      if (names === undefined) return EMPTY;
      if (best === undefined || names.size < best.size) best = names;
    }
    return best;
  }

  private unindexLabels(ns: NamespacePods, pod: PodMeta): void {
    for (const key of Object.keys(pod.labels)) {
      const pair = `${key}=${pod.labels[key]}`;
      const names = ns.byLabel.get(pair);
      names?.delete(pod.name);
      if (names?.size === 0) ns.byLabel.delete(pair);
    }
  }

  /**
   * The pod with its strings shared with every other pod's: what to keep. An informer that
   * projects with this and upserts the result holds each pod once, in its store and here.
   */
  canonical(pod: PodMeta): PodMeta {
    const labels: Record<string, string> = {};
    for (const key of Object.keys(pod.labels)) labels[this.intern(key)] = this.intern(pod.labels[key]!);
    const out: PodMeta = { namespace: this.intern(pod.namespace), name: pod.name, labels };
    if (pod.phase !== undefined) out.phase = this.intern(pod.phase);
    if (pod.containerPorts !== undefined) out.containerPorts = pod.containerPorts;
    this.canonicalized.add(out);
    return out;
  }

  private intern(text: string): string {
    const known = this.interned.get(text);
    if (known !== undefined) return known;
    // Only a cache of shared strings: emptied when churn (every rollout's pod-template-hash) fills it.
    if (this.interned.size >= MAX_INTERNED) this.interned.clear();
    this.interned.set(text, text);
    return text;
  }
}

const EMPTY: ReadonlySet<string> = new Set();
const MAX_INTERNED = 500_000;
