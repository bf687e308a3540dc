import type { V1LabelSelector, V1NetworkPolicy } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ClusterViewStatus } from './informerView.js';
import type { ClusterView, ClusterViewPart, EndedGrant, LiveGrant, PodMeta } from './view.js';
import { type ViewSettings, viewSettingsChanges } from './viewSettings.js';

/** A started view and how to stop it (its informers, and whatever it alone uses). */
export interface BuiltView {
  view: ClusterView & { status(): ClusterViewStatus; whenSynced(): Promise<void> };
  close(): Promise<void>;
}

/** A view being built for new settings, while the current one still answers. */
export interface RebuildStatus {
  /** What changed (config names). */
  changes: string[];
  synced: boolean;
}

export type ReloadingViewStatus = ClusterViewStatus & { rebuilding?: RebuildStatus };

/**
 * The webhook's cluster view across config reloads. When a reload changes what the view is built
 * from (viewSettingsChanges), a new view is built and started beside the current one, which keeps
 * answering until the new one has synced; then the new one answers and the old one is stopped.
 * So a reload never leaves the webhook without a view (no replica turns unready because its config
 * changed), and for the few seconds of a rebuild decisions read the view of the old settings. A
 * second change while one is pending replaces the pending view; a reload back to the current
 * settings cancels it. A pending view that never syncs (say pods turned on before RBAC allows
 * listing them) leaves the current one in place; /readyz shows it as `rebuilding`.
 */
export class ReloadingClusterView implements ClusterView {
  private current: { settings: ViewSettings; built: BuiltView };
  private pending: { settings: ViewSettings; built: BuiltView; changes: string[]; synced: boolean } | undefined;
  private readonly build: (settings: ViewSettings) => BuiltView;
  private readonly logger: Logger | undefined;
  private closed = false;

  constructor(options: { settings: ViewSettings; build: (settings: ViewSettings) => BuiltView; logger?: Logger }) {
    this.build = options.build;
    this.logger = options.logger;
    this.current = { settings: options.settings, built: options.build(options.settings) };
  }

  /** The settings of the view answering now. */
  get settings(): ViewSettings {
    return this.current.settings;
  }

  /**
   * Applies a reloaded config's view settings: nothing when they need no new view, else starts one
   * (see the class). Returns what changed ([] for nothing).
   */
  reconfigure(settings: ViewSettings): string[] {
    if (this.closed) return [];
    const changes = viewSettingsChanges(this.current.settings, settings);
    const pending = this.pending;
    if (pending !== undefined) {
      if (changes.length > 0 && viewSettingsChanges(pending.settings, settings).length === 0) return changes;
      this.pending = undefined;
      this.logger?.info({ changes: pending.changes }, 'cluster view: the rebuild in progress is no longer wanted; stopping it');
      void this.stop(pending.built);
    }
    if (changes.length === 0) return changes;
    const built = this.build(settings);
    const next = { settings, built, changes, synced: false };
    this.pending = next;
    this.logger?.info({ changes }, 'cluster view: the config changed what the view holds; building a new one, the current one answers until it has synced');
    const started = Date.now();
    built.view.whenSynced().then(
      () => {
        if (this.pending !== next) return;
        next.synced = true;
        const old = this.current;
        this.current = { settings, built };
        this.pending = undefined;
        this.logger?.info({ changes, syncMs: Date.now() - started }, 'cluster view rebuilt; the new one answers now');
        void this.stop(old.built);
      },
      () => undefined,
    );
    return changes;
  }

  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined {
    return this.current.built.view.namespaceLabels(namespace);
  }

  namespaceNames(): readonly string[] {
    return this.current.built.view.namespaceNames();
  }

  podsMatching(namespace: string, selector: V1LabelSelector): readonly PodMeta[] {
    return this.current.built.view.podsMatching(namespace, selector);
  }

  policiesIn(namespace: string): readonly V1NetworkPolicy[] {
    return this.current.built.view.policiesIn(namespace);
  }

  provides(part: ClusterViewPart): boolean {
    return this.current.built.view.provides(part);
  }

  liveGrantsIn(namespace: string): readonly LiveGrant[] {
    return this.current.built.view.liveGrantsIn(namespace);
  }

  liveGrantsBy(requestedBy: string): readonly LiveGrant[] {
    return this.current.built.view.liveGrantsBy(requestedBy);
  }

  endedGrantsNamed(namespace: string, name: string): readonly EndedGrant[] {
    return this.current.built.view.endedGrantsNamed(namespace, name);
  }

  endedGrantsWithTicket(ticket: string): readonly EndedGrant[] {
    return this.current.built.view.endedGrantsWithTicket(ticket);
  }

  stale(): boolean {
    return this.current.built.view.stale();
  }

  status(): ReloadingViewStatus {
    const status: ReloadingViewStatus = this.current.built.view.status();
    if (this.pending !== undefined) status.rebuilding = { changes: this.pending.changes, synced: this.pending.synced };
    return status;
  }

  /** Resolves once the view answering now has synced. */
  whenSynced(): Promise<void> {
    return this.current.built.view.whenSynced();
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = this.pending;
    this.pending = undefined;
    await Promise.all([this.stop(this.current.built), pending === undefined ? undefined : this.stop(pending.built)]);
  }

  private async stop(built: BuiltView): Promise<void> {
    try {
      await built.close();
    } catch (err) {
      this.logger?.warn({ err }, 'cluster view: stopping a replaced view failed');
    }
  }
}
