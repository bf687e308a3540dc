import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, it } from 'node:test';
import pino from 'pino';
import { defaultConfig } from '../../../src/config/load.js';
import { recordClosed, recordOpened, type GrantRecord } from '../../../src/controller/grantRecord.js';
import { GrantRecorder } from '../../../src/controller/recorder.js';
import { grantPolicy } from '../../helpers/fakeApiServer.js';
import { MemoryGrantRecordClient } from './recordSupport.js';

// A full collection on demand, without starting the test process with --expose-gc.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const T0 = new Date('2030-01-01T12:00:00Z');

/** The list the recorder loaded, handed out once and then only watched through a WeakRef. */
class WatchedListClient extends MemoryGrantRecordClient {
  listed: WeakRef<GrantRecord[]> | undefined;
  override async list(labelSelector?: string): Promise<GrantRecord[]> {
    const all = await super.list(labelSelector);
    this.listed = new WeakRef(all);
    return all;
  }
}

describe('GrantRecorder memory', () => {
  it('does not keep the loaded records alive for the leadership term (only stubs of closed ones)', async () => {
    const config = defaultConfig();
    const client = new WatchedListClient();
    for (let i = 0; i < 50; i++) {
      const opened = recordOpened(grantPolicy({ namespace: 'team', name: `g${i}`, uid: `uid-${i}`, expiresAt: new Date(T0.getTime() + 3_600_000) }), T0, config, { late: false });
      await client.create(recordClosed(opened, 'Expired', new Date(T0.getTime() + 60_000)));
    }
    const recorder = new GrantRecorder({ client, config, now: () => T0, logger: pino({ level: 'silent' }), retentionMs: 86_400_000, sleep: async () => undefined });
    const leadership = new AbortController();
    const acting = recorder.actWhile(leadership.signal, () => []);
    await recorder.whenLoaded();
    await recorder.idle();
    // WeakRef targets are kept until the current job ends: collect from a later macrotask.
    await new Promise<void>((resolve) => setImmediate(resolve));
    collectGarbage();
    assert.ok(client.listed !== undefined, 'the recorder listed the records');
    assert.equal(client.listed.deref(), undefined, 'the listed records are still reachable while the recorder leads');
    leadership.abort();
    await acting;
  });
});
