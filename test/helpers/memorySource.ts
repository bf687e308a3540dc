import type { ListWatchSource } from '../../src/kube/informer.js';
import type { WatchEventType } from '../../src/kube/watchStream.js';

/**
 * A list+watch source over an array, with a push for watch events (what the HTTP fakes lack:
 * namespaces with watch, CRDs). `push` stamps a new resourceVersion and tells every open watch.
 */
export function memorySource<R extends { metadata?: { resourceVersion?: string } }>(items: R[]) {
  let rv = 1;
  const watchers = new Set<(type: WatchEventType, object: unknown) => void>();
  const source: ListWatchSource<R> = {
    list: async () => ({ items: [...items], continueToken: undefined, resourceVersion: String(rv) }),
    watch: (_params, onEvent) => {
      watchers.add(onEvent);
      let end!: (v: unknown) => void;
      const ended = new Promise<unknown>((resolve) => (end = resolve));
      return { connected: Promise.resolve(true), ended, abort: () => (watchers.delete(onEvent), end(null)) };
    },
  };
  const push = (type: WatchEventType, object: R): void => {
    object.metadata = { ...object.metadata, resourceVersion: String(++rv) };
    for (const w of watchers) w(type, object);
  };
  return { source, push };
}
