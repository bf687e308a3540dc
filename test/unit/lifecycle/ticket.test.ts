import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeTicket, ticketUrl } from '../../../src/lifecycle/ticket.js';

describe('normalizeTicket', () => {
  const cases: [string, string][] = [
    ['INC-1234', 'INC-1234'],
    [' inc-1234 ', 'INC-1234'],
    ['Inc-1234', 'INC-1234'],
    ['ops_team-7', 'OPS_TEAM-7'],
    ['\tchg-2040\n', 'CHG-2040'],
    // Not a Jira-style key: trimmed only, case kept, so the pattern decides.
    ['  fix the db ', 'fix the db'],
    ['1INC-2', '1INC-2'],
    ['inc-12a', 'inc-12a'],
    ['https://tracker/browse/inc-1', 'https://tracker/browse/inc-1'],
    ['   ', ''],
  ];
  for (const [raw, normalized] of cases) it(`${JSON.stringify(raw)} → ${JSON.stringify(normalized)}`, () => assert.equal(normalizeTicket(raw), normalized));
});

describe('ticketUrl', () => {
  it('fills every placeholder with the URL-encoded ticket', () => {
    assert.equal(ticketUrl('https://tracker/browse/{ticket}', 'INC-1'), 'https://tracker/browse/INC-1');
    assert.equal(ticketUrl('https://t/{ticket}?q={ticket}', 'a b/c'), 'https://t/a%20b%2Fc?q=a%20b%2Fc');
  });
});
