import type { Watch } from '@kubernetes/client-node';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchParams {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion: string;
  /** Asks the server to end the stream after this long, so connections are recycled. */
  timeoutSeconds: number;
}

export interface WatchStream {
  /** true once the server answered 200 and events can flow; false if the stream failed first. Never rejects. */
  connected: Promise<boolean>;
  /** Resolves when the stream ends: null for a clean close, else the error (status in .statusCode). */
  ended: Promise<unknown>;
  abort(): void;
}

const WATCH_EVENT_TYPES = new Set<string>(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

/**
 * One watch request on `path` (a collection URL, e.g. /api/v1/namespaces), as promises instead
 * of client-node's two callbacks. Events stop being delivered the moment the stream is settled,
 * so nothing arrives after abort().
 */
export function openWatch(
  watcher: Watch,
  path: string,
  params: WatchParams,
  onEvent: (type: WatchEventType, object: unknown) => void,
): WatchStream {
  let controller: AbortController | undefined;
  let abortRequested = false;
  let markConnected!: (ok: boolean) => void;
  const connected = new Promise<boolean>((resolve) => {
    markConnected = resolve;
  });
  let markEnded!: (err: unknown) => void;
  const ended = new Promise<unknown>((resolve) => {
    markEnded = resolve;
  });
  let finished = false;
  const finish = (err: unknown): void => {
    if (finished) return;
    finished = true;
    markConnected(false);
    markEnded(err ?? null);
  };
  watcher
    .watch(
      path,
      {
        ...(params.labelSelector !== undefined ? { labelSelector: params.labelSelector } : {}),
        ...(params.fieldSelector !== undefined ? { fieldSelector: params.fieldSelector } : {}),
        resourceVersion: params.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: params.timeoutSeconds,
      },
      (type, object) => {
        if (!finished && WATCH_EVENT_TYPES.has(type)) onEvent(type as WatchEventType, object);
      },
      finish,
    )
    .then(
      (c) => {
        controller = c;
        if (abortRequested) c.abort();
        // watch() resolves after the response headers; a failed request has already called finish.
        markConnected(true);
      },
      (err: unknown) => finish(err),
    );
  return {
    connected,
    ended,
    abort() {
      abortRequested = true;
      // Settle first: aborting makes the stream report an AbortError, which is not a failure here.
      finish(null);
      controller?.abort();
    },
  };
}
