import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { InformerEvent } from '../kube/informer.js';
import type { GrantObserver } from './recorder.js';

/**
 * The Sweeper takes one observer; the controller has two (the approval loop and the recorder).
 * `first` hears each event before `second`: the approval loop must have marked a policy it is
 * removing before the recorder asks why it went.
 */
export function bothObservers(first: GrantObserver, second: GrantObserver): GrantObserver {
  return {
    observe(event: InformerEvent<V1NetworkPolicy>, context: { listing: boolean; reaping: boolean }) {
      first.observe(event, context);
      second.observe(event, context);
    },
    reaped(uid, result) {
      first.reaped(uid, result);
      second.reaped(uid, result);
    },
    listed(live) {
      first.listed(live);
      second.listed(live);
    },
  };
}
