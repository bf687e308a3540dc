import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import {
  GRANT_RECORD_GROUP,
  GRANT_RECORD_KIND,
  GRANT_RECORD_PLURAL,
  GRANT_RECORD_STATES,
  GRANT_RECORD_VERSION,
  type GrantRecord,
  MAX_RECORDED_CHANGES,
  MAX_TEXT_LENGTH,
  recordChanged,
  recordClosed,
  recordOpened,
  SPEC_SNAPSHOT_LIMIT_BYTES,
} from '../../../src/controller/grantRecord.js';
import { REPO_ROOT } from '../../fixtures/paths.js';
import { CONFIG, grantPolicy, T0 } from './grantFixtures.js';

type Schema = Record<string, unknown>;

const CRD_PATH = path.join(REPO_ROOT, 'manifests/crds/grantrecords.netpol-guard.io.yaml');
const crd = parse(readFileSync(CRD_PATH, 'utf8')) as {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; singular: string; shortNames: string[] };
    versions: { name: string; served: boolean; storage: boolean; subresources?: unknown; additionalPrinterColumns: { name: string; type: string; jsonPath: string }[]; schema: { openAPIV3Schema: Schema } }[];
  };
};
const version = crd.spec.versions[0]!;
const openApi = version.schema.openAPIV3Schema;

/**
 * The OpenAPI v3 subset of a structural CRD schema as JSON Schema for ajv. Objects with listed
 * properties get additionalProperties false: the API server would silently PRUNE a field the
 * schema does not list, so a field our type writes but the schema forgets must fail here.
 */
function toJsonSchema(node: Schema): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('x-kubernetes-')) continue;
    if (key === 'properties') {
      out.properties = Object.fromEntries(Object.entries(value as Record<string, Schema>).map(([k, v]) => [k, toJsonSchema(v)]));
    } else if (key === 'items') {
      out.items = toJsonSchema(value as Schema);
    } else if (key === 'nullable') {
      continue;
    } else {
      out[key] = value;
    }
  }
  if (node.nullable === true) out.type = [node.type, 'null'];
  if (node.type === 'object' && node.properties !== undefined && node['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  return out;
}

/** Paths of schema nodes that break the structural rules this CRD relies on (every node typed). */
function structuralProblems(node: Schema, at: string): string[] {
  const problems: string[] = [];
  if (typeof node.type !== 'string' && node['x-kubernetes-preserve-unknown-fields'] !== true) problems.push(`${at}: no type`);
  for (const [key, child] of Object.entries((node.properties ?? {}) as Record<string, Schema>)) problems.push(...structuralProblems(child, `${at}.${key}`));
  if (node.items !== undefined) problems.push(...structuralProblems(node.items as Schema, `${at}[]`));
  if (node.type === 'array' && node.items === undefined) problems.push(`${at}: array without items`);
  return problems;
}

function compile(): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  addFormats.default(ajv);
  return ajv.compile(toJsonSchema(openApi));
}

const validate = compile();

function assertAccepted(record: GrantRecord): void {
  const wire = JSON.parse(JSON.stringify(record)) as unknown;
  assert.equal(validate(wire), true, JSON.stringify(validate.errors, null, 2));
}

function schemaAt(dotted: string): Schema | undefined {
  let node: Schema | undefined = openApi;
  for (const part of dotted.split('.').filter((p) => p !== '')) node = (node?.properties as Record<string, Schema> | undefined)?.[part];
  return node;
}

describe('GrantRecord CRD manifest', () => {
  it('accepts a record opened by an approved request (approvals, request) and by break glass', () => {
    const policy = grantPolicy({ annotations: { 'netpol-guard.io/break-glass-by': 'erin', 'netpol-guard.io/break-glass-at': '2026-12-01T03:59:58Z' } });
    const record = recordOpened(policy, T0, CONFIG, { approval: { grantRequest: 'db-debug', approvals: [{ by: 'bob', at: '2026-12-01T03:50:00Z' }, { by: 'dave', at: '2026-12-01T03:55:00Z' }] } });
    assert.equal(record.spec.approvals?.length, 2);
    assertAccepted(record);
    assertAccepted(recordClosed(record, 'Revoked', T0, undefined, 'its GrantRequest db-debug was deleted, which removes the access'));
  });

  it('is the cluster-scoped grantrecords.netpol-guard.io v1alpha1 GrantRecord, short name gr', () => {
    assert.equal(crd.apiVersion, 'apiextensions.k8s.io/v1');
    assert.equal(crd.kind, 'CustomResourceDefinition');
    assert.equal(crd.metadata.name, `${GRANT_RECORD_PLURAL}.${GRANT_RECORD_GROUP}`);
    assert.equal(crd.spec.group, GRANT_RECORD_GROUP);
    assert.equal(crd.spec.scope, 'Cluster');
    assert.equal(crd.spec.names.kind, GRANT_RECORD_KIND);
    assert.equal(crd.spec.names.plural, GRANT_RECORD_PLURAL);
    assert.deepEqual(crd.spec.names.shortNames, ['gr']);
    assert.equal(crd.spec.versions.length, 1);
    assert.deepEqual([version.name, version.served, version.storage], [GRANT_RECORD_VERSION, true, true]);
    assert.equal(version.subresources, undefined, 'spec and status are written together by one writer');
  });

  it('has the registry columns, each pointing at a field the schema defines', () => {
    assert.deepEqual(
      version.additionalPrinterColumns.map((c) => c.name),
      ['Namespace', 'Policy', 'Ticket', 'Requested-By', 'State', 'Opened', 'Closed', 'Duration'],
    );
    for (const column of version.additionalPrinterColumns) {
      assert.ok(schemaAt(column.jsonPath), `${column.name}: ${column.jsonPath} is not in the schema`);
    }
    assert.deepEqual(version.additionalPrinterColumns.filter((c) => c.type === 'date').map((c) => c.name), ['Opened', 'Closed']);
  });

  it('is structural: every node has a type', () => {
    assert.deepEqual(structuralProblems(openApi, ''), []);
  });

  it('agrees with the model on states and limits', () => {
    assert.deepEqual(schemaAt('status.state')?.enum, [...GRANT_RECORD_STATES]);
    assert.equal(schemaAt('status.changes')?.maxItems, MAX_RECORDED_CHANGES);
    assert.equal(schemaAt('spec.admittedSpec.json')?.maxLength, SPEC_SNAPSHOT_LIMIT_BYTES);
    assert.equal(schemaAt('status.latestSpec.json')?.maxLength, SPEC_SNAPSHOT_LIMIT_BYTES);
    for (const field of ['spec.requestedBy', 'spec.ticket', 'spec.admittedAccess', 'status.access', 'status.closedBy', 'status.closedNote']) {
      assert.equal(schemaAt(field)?.maxLength, MAX_TEXT_LENGTH, field);
    }
  });
});

describe('records produced by the model are accepted by the CRD schema', () => {
  const at = (minutes: number): Date => new Date(T0.getTime() + minutes * 60_000);
  const opened = recordOpened(grantPolicy(), T0, CONFIG);

  it('open, late, and with an unparseable expiry', () => {
    assertAccepted(opened);
    const bare = grantPolicy({ annotations: { 'netpol-guard.io/expires-at': 'not a time' } });
    delete bare.metadata!.annotations!['netpol-guard.io/granted-at'];
    assertAccepted(recordOpened(bare, T0, CONFIG, { late: true }));
  });

  it('after stamped and unstamped changes of expiry and spec', () => {
    const after = grantPolicy({
      cidr: '203.0.113.0/24',
      annotations: { 'netpol-guard.io/expires-at': '2026-12-01T09:00:00Z', 'netpol-guard.io/changed-by': 'bob', 'netpol-guard.io/changed-at': '2026-12-01T05:00:00Z' },
    });
    const changed = recordChanged(opened, grantPolicy(), after, at(60), CONFIG);
    assert.equal(changed.status.changes.length, 2);
    assertAccepted(changed);
    assertAccepted(recordChanged(changed, after, grantPolicy(), at(61), CONFIG));
  });

  it('closed every way', () => {
    for (const how of ['Expired', 'Revoked', 'Deleted', 'DeletedNotObserved'] as const) {
      assertAccepted(recordClosed(opened, how, at(125), how === 'Revoked' ? 'alice@example.com' : undefined));
    }
  });

  it('at every size limit: huge spec, huge text, the change list full', () => {
    const huge = grantPolicy({ annotations: { 'netpol-guard.io/requested-by': '𝓍'.repeat(5_000), 'netpol-guard.io/ticket-url': 'u'.repeat(9_000) } });
    huge.spec!.ingress![0]!._from = Array.from({ length: 3_000 }, (_, i) => ({ ipBlock: { cidr: `10.${i >> 8}.${i & 255}.0/24` } }));
    let record = recordOpened(huge, T0, CONFIG);
    assert.equal(record.spec.admittedSpec.truncated, true);
    let previous = huge;
    for (let i = 1; i <= MAX_RECORDED_CHANGES + 5; i++) {
      const next = grantPolicy({ port: 1000 + i });
      record = recordChanged(record, previous, next, at(i), CONFIG);
      previous = next;
    }
    assert.equal(record.status.omittedChanges, 5);
    assertAccepted(recordClosed(record, 'Expired', at(500)));
  });

  it('and the schema does reject what the model must never write', () => {
    const wire = (): Record<string, Record<string, unknown>> => JSON.parse(JSON.stringify(opened)) as Record<string, Record<string, unknown>>;
    const badState = wire();
    badState.status!.state = 'Closed';
    const unknownField = wire();
    unknownField.status!.closedReason = 'x';
    const badHash = wire();
    badHash.status!.specSha256 = 'abc';
    const tooMany = wire();
    tooMany.status!.changes = Array.from({ length: MAX_RECORDED_CHANGES + 1 }, () => ({ observedAt: '2026-12-01T04:00:00Z', field: 'expiry', from: 'none', to: 'none' }));
    const badTime = wire();
    badTime.spec!.openedAt = 'yesterday';
    for (const [label, object] of Object.entries({ badState, unknownField, badHash, tooMany, badTime })) {
      assert.equal(validate(object), false, `${label} was accepted`);
    }
  });
});
