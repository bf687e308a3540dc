import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { historyCommandWith } from '../../../src/cli/history.js';
import { recordChanged, recordClosed, recordOpened, type GrantRecord } from '../../../src/controller/grantRecord.js';
import { CSV_COLUMNS, csvField, formatCsv, selectRecords } from '../../../src/controller/historyReport.js';
import { defaultConfig } from '../../../src/config/load.js';
import { FakeApiServer, grantPolicy } from '../../helpers/fakeApiServer.js';
import { captureIo, kubeconfigFile, NOW } from '../operator/support.js';
import { MemoryGrantRecordClient } from './recordSupport.js';

const config = defaultConfig();
const DAY = 86_400_000;
const ago = (ms: number): Date => new Date(NOW.getTime() - ms);

/** RFC 4180 reader for the assertions: fields, quoted fields with doubled quotes, CRLF rows. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += ch;
  }
  assert.equal(field, '', 'the text ends with CRLF');
  return rows;
}

let n = 0;
function record(namespace: string, name: string, options: { ticket?: string; requestedBy?: string; openedAgoMs: number; closedAgoMs?: number; how?: 'Expired' | 'Deleted' }): GrantRecord {
  const uid = `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
  const policy = grantPolicy({ namespace, name, uid, expiresAt: ago(options.openedAgoMs - DAY), ticket: options.ticket ?? 'OPS-1', requestedBy: options.requestedBy ?? 'alice', grantedAt: ago(options.openedAgoMs) });
  let r = recordOpened(policy, ago(options.openedAgoMs), config);
  if (options.closedAgoMs !== undefined) r = recordClosed(r, options.how ?? 'Expired', ago(options.closedAgoMs));
  return r;
}

describe('history report', () => {
  it('CSV: header row, one row per record, every column in order', () => {
    const records = [record('payments', 'db', { openedAgoMs: 2 * DAY, closedAgoMs: DAY })];
    const rows = parseCsv(formatCsv(records));
    assert.deepEqual(rows[0], [...CSV_COLUMNS]);
    assert.equal(rows.length, 2);
    const row = Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, rows[1]![i]]));
    assert.equal(row.namespace, 'payments');
    assert.equal(row.state, 'Expired');
    assert.equal(row.requestedBy, 'alice');
    assert.equal(row.openSeconds, String(DAY / 1_000));
  });

  it('CSV: commas, quotes, line breaks survive; formulas are defused', () => {
    const r = record('payments', 'db', { openedAgoMs: DAY, ticket: 'OPS-1, "urgent"\nsecond line', requestedBy: '=HYPERLINK("http://evil")' });
    const rows = parseCsv(formatCsv([r]));
    const row = Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, rows[1]![i]]));
    assert.equal(row.ticket, 'OPS-1, "urgent"\nsecond line');
    assert.equal(row.requestedBy, `'=HYPERLINK("http://evil")`);
  });

  it('CSV fields read back as written, whatever the text (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme' }), { minLength: 1, maxLength: 6 }), (values) => {
        const line = `${values.map(csvField).join(',')}\r\n`;
        const back = parseCsv(line)[0]!;
        assert.equal(back.length, values.length);
        back.forEach((v, i) => assert.equal(v, /^[=+\-@\t\r]/.test(values[i]!) ? `'${values[i]}` : values[i]));
      }),
    );
  });

  it('filters by namespace, ticket, requester and --since, oldest opening first', () => {
    const records = [
      record('payments', 'recent', { openedAgoMs: 3 * DAY, closedAgoMs: 2 * DAY, ticket: 'INC-9' }),
      record('payments', 'old', { openedAgoMs: 60 * DAY, closedAgoMs: 50 * DAY }),
      record('payments', 'open', { openedAgoMs: 90 * DAY, requestedBy: 'bob' }),
      record('shop', 'other', { openedAgoMs: DAY }),
    ];
    const names = (f: Parameters<typeof selectRecords>[1]) => selectRecords(records, f, NOW).map((r) => r.spec.policy.name);
    assert.deepEqual(names({}), ['open', 'old', 'recent', 'other']);
    assert.deepEqual(names({ namespace: 'payments', sinceMs: 30 * DAY }), ['open', 'recent'], 'open ones always overlap the span');
    assert.deepEqual(names({ ticket: 'INC-9' }), ['recent']);
    assert.deepEqual(names({ requester: 'bob' }), ['open']);
  });
});

describe('netpol-guard history', () => {
  let fake: FakeApiServer;
  let kubeconfig: string;
  before(async () => {
    fake = await FakeApiServer.start();
    kubeconfig = kubeconfigFile(fake);
  });
  after(async () => {
    await fake.stop();
  });

  function client(): MemoryGrantRecordClient {
    const c = new MemoryGrantRecordClient();
    const extended = record('payments', 'db', { openedAgoMs: 2 * DAY });
    const policy = grantPolicy({ namespace: 'payments', name: 'db', uid: extended.spec.policy.uid, expiresAt: ago(-DAY), ticket: 'OPS-1', requestedBy: 'alice', grantedAt: ago(2 * DAY) });
    c.put(recordClosed(recordChanged(extended, undefined, policy, ago(DAY), config), 'Expired', ago(DAY / 2)));
    c.put(record('payments', 'manual', { openedAgoMs: DAY, closedAgoMs: DAY / 4, how: 'Deleted' }));
    c.put(record('shop', 'cart', { openedAgoMs: DAY }));
    return c;
  }

  it('-A -o csv exports every record with a header row', async () => {
    const io = captureIo();
    assert.equal(await historyCommandWith(() => client()).run(['-A', '-o', 'csv', '--kubeconfig', kubeconfig], io), 0, io.err);
    const rows = parseCsv(io.out);
    assert.deepEqual(rows[0], [...CSV_COLUMNS]);
    assert.deepEqual(rows.slice(1).map((r) => `${r[0]}/${r[1]}:${r[6]}`), ['payments/db:Expired', 'payments/manual:Deleted', 'shop/cart:Open']);
    const changes = rows[1]![CSV_COLUMNS.indexOf('changes')]!;
    assert.match(changes, /expiry .* -> /);
  });

  it('-n filters on the server by the policy-namespace label; the table names state and duration', async () => {
    const c = client();
    const io = captureIo();
    assert.equal(await historyCommandWith(() => c).run(['-n', 'payments', '--kubeconfig', kubeconfig], io), 0, io.err);
    const lines = io.out.trimEnd().split('\n');
    assert.match(lines[0]!, /^NAMESPACE +POLICY +TICKET +REQUESTED-BY +STATE +OPENED +CLOSED +DURATION$/);
    assert.equal(lines.length, 3);
    assert.match(lines[1]!, /^payments +db +OPS-1 +alice +Expired +\S+ +\S+ +1d12h$/);
    assert.match(lines[2]!, /^payments +manual .* Deleted /);
    assert.deepEqual(c.calls.filter((call) => call.verb === 'list').map((call) => call.name), ['netpol-guard.io/policy-namespace=payments']);
  });

  it('-o json is a List of the records', async () => {
    const io = captureIo();
    assert.equal(await historyCommandWith(() => client()).run(['-A', '-o', 'json', '--ticket', 'OPS-1', '--kubeconfig', kubeconfig], io), 0, io.err);
    const list = JSON.parse(io.out) as { kind: string; items: GrantRecord[] };
    assert.equal(list.kind, 'List');
    assert.equal(list.items.length, 3);
  });

  for (const [argv, problem] of [
    [['-A', '-n', 'x'], /not both/],
    [['-o', 'yaml'], /table, wide, json or csv/],
    [['--since', 'lately'], /--since: "lately" is not a duration/],
    [['--ticket', ''], /--ticket must not be empty/],
  ] as const) {
    it(`refuses ${argv.join(' ')} with exit 2`, async () => {
      const io = captureIo();
      assert.equal(await historyCommandWith(() => client()).run([...argv, '--kubeconfig', kubeconfig], io), 2);
      assert.match(io.err, problem);
    });
  }

  it('an API failure exits 1 and says what failed; a 404 suggests installing the CRD', async () => {
    const c = client();
    c.failNext('list', 404);
    const io = captureIo();
    assert.equal(await historyCommandWith(() => c).run(['-A', '--kubeconfig', kubeconfig], io), 1);
    assert.match(io.err, /cannot list grantrecords/);
    assert.match(io.err, /CRD installed/);
  });
});
