import { httpStatusOf } from './apiErrors.js';

/** One page of a paginated list. */
export interface ListPage<R> {
  items: R[];
  continueToken: string | undefined;
  resourceVersion: string | undefined;
}

export interface PagedListOptions {
  /** Called each time an expired continue token (410) restarts the list from the top. */
  onRestart?: (restartsWithoutProgress: number) => void;
  /** Work done so far by the consumer; restarts are unbounded while it grows. */
  progress?: () => number;
}

/**
 * Continue tokens expire with etcd compaction (about every 5 minutes), so a long list can meet
 * several 410s; each restart is worth it while the consumer makes progress. Without progress,
 * give up after this many and rethrow the 410.
 */
export const MAX_LIST_RESTARTS_WITHOUT_PROGRESS = 3;

/**
 * Pages of a list; a 410 on a continue token restarts the list from the top.
 *
 * The next page is requested as soon as a page arrives, before that page is handed out, so the
 * API server prepares it while the caller works: one request ahead, never more, so at most two
 * pages are held. The prefetched page's outcome is only looked at once the caller asks for it,
 * so a failure is handled exactly as if the request had been made then, and the 410 check sees
 * the progress made on the page before it.
 */
export async function* listPages<R>(
  requestPage: (continueToken: string | undefined) => Promise<ListPage<R>>,
  options: PagedListOptions = {},
): AsyncGenerator<ListPage<R>> {
  const progress = options.progress ?? (() => 0);
  let continueToken: string | undefined;
  let restarts = 0;
  let progressAtRestart = progress();
  let prefetched: Promise<ListPage<R>> | undefined;
  for (;;) {
    let page: ListPage<R>;
    try {
      page = await (prefetched ?? requestPage(continueToken));
    } catch (err) {
      if (continueToken !== undefined && httpStatusOf(err) === 410) {
        const done = progress();
        restarts = done > progressAtRestart ? 1 : restarts + 1;
        progressAtRestart = done;
        if (restarts <= MAX_LIST_RESTARTS_WITHOUT_PROGRESS) {
          options.onRestart?.(restarts - 1);
          continueToken = undefined;
          prefetched = undefined;
          continue;
        }
      }
      throw err;
    }
    continueToken = page.continueToken;
    if (continueToken === undefined) {
      yield page;
      return;
    }
    prefetched = requestPage(continueToken);
    // Judged when awaited above; if the caller stops early it is never awaited and must not
    // surface as an unhandled rejection.
    prefetched.catch(() => undefined);
    // client-node hands the request to the socket only after several promise and nextTick hops.
    // A consumer that never waits for I/O would otherwise finish before the request even left,
    // and nothing would overlap.
    await new Promise<void>((resolve) => setImmediate(resolve));
    yield page;
  }
}
