/**
 * Null as the API server reads it. kubectl and the API server decode a NetworkPolicy into Go
 * structs, where JSON null means "leave the zero value": an optional field that is null is absent
 * (`podSelector: {matchLabels: }`, `ingress:` with no value), a null list item is an empty struct
 * (`ingress: [null]` is `ingress: [{}]`, allow-all) or an empty string, and a null map value is an
 * empty string. So `check`, `grant` and the webhook see exactly what the cluster would store.
 */
import { isJsonObject } from '../schema/json.js';

type Json = Record<string, unknown>;

/**
 * `value` with every null in the NetworkPolicy's fields replaced as the API server would. Returns
 * `value` itself when it holds no null anywhere (the API server never sends one, so admission
 * pays one allocation-free scan); otherwise a copy, and the input is left untouched.
 */
export function withApiServerNulls(value: unknown): unknown {
  if (!isJsonObject(value)) return value;
  // Only the parts that hold a null are copied, and each part is scanned once: what the API server
  // sends on CREATE carries `metadata.creationTimestamp: null`, and copying (or scanning twice) a
  // large spec for it cost a third of a decode.
  let out: Json | undefined;
  for (const key in value) {
    if (value[key] === null) {
      out = withoutNullFields(value);
      break;
    }
  }
  if (isJsonObject(value.metadata) && containsNull(value.metadata)) {
    const metadata = withoutNullFields(value.metadata);
    for (const key of ['labels', 'annotations']) if (isJsonObject(metadata[key])) metadata[key] = stringMap(metadata[key]);
    (out ??= { ...value }).metadata = metadata;
  }
  if (isJsonObject(value.spec) && containsNull(value.spec)) (out ??= { ...value }).spec = spec(value.spec);
  return out ?? value;
}

function spec(value: Json): Json {
  const out = withoutNullFields(value);
  if (isJsonObject(out.podSelector)) out.podSelector = selector(out.podSelector);
  if (Array.isArray(out.ingress)) out.ingress = out.ingress.map((r) => rule(r, 'from'));
  if (Array.isArray(out.egress)) out.egress = out.egress.map((r) => rule(r, 'to'));
  if (Array.isArray(out.policyTypes)) out.policyTypes = strings(out.policyTypes);
  return out;
}

function rule(value: unknown, peersKey: 'from' | 'to'): unknown {
  if (value !== null && !containsNull(value)) return value;
  const out = structItem(value);
  if (out === undefined) return value;
  const peers = out[peersKey];
  if (Array.isArray(peers)) out[peersKey] = peers.map(peer);
  if (Array.isArray(out.ports)) out.ports = out.ports.map((p) => structItem(p) ?? p);
  return out;
}

function peer(value: unknown): unknown {
  const out = structItem(value);
  if (out === undefined) return value;
  if (isJsonObject(out.podSelector)) out.podSelector = selector(out.podSelector);
  if (isJsonObject(out.namespaceSelector)) out.namespaceSelector = selector(out.namespaceSelector);
  if (isJsonObject(out.ipBlock)) {
    const ipBlock = withoutNullFields(out.ipBlock);
    if (Array.isArray(ipBlock.except)) ipBlock.except = strings(ipBlock.except);
    out.ipBlock = ipBlock;
  }
  return out;
}

function selector(value: Json): Json {
  const out = withoutNullFields(value);
  if (isJsonObject(out.matchLabels)) out.matchLabels = stringMap(out.matchLabels);
  if (Array.isArray(out.matchExpressions)) {
    out.matchExpressions = out.matchExpressions.map((e) => {
      const requirement = structItem(e);
      if (requirement === undefined) return e;
      if (Array.isArray(requirement.values)) requirement.values = strings(requirement.values);
      return requirement;
    });
  }
  return out;
}

/** A list item that decodes into a struct: null is the empty struct; anything else not an object is left for the schema to name. */
function structItem(value: unknown): Json | undefined {
  if (value === null) return {};
  return isJsonObject(value) ? withoutNullFields(value) : undefined;
}

function strings(items: unknown[]): unknown[] {
  return items.map((item) => (item === null ? '' : item));
}

function stringMap(value: Json): Json {
  const out: Json = {};
  for (const key of Object.keys(value)) out[key] = value[key] === null ? '' : value[key];
  return out;
}

function withoutNullFields(value: Json): Json {
  const out: Json = {};
  for (const key of Object.keys(value)) if (value[key] !== null) out[key] = value[key];
  return out;
}

/** Iterative, so a deeply nested value cannot overflow the stack; allocates only the work stack. */
function containsNull(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (value === null) return true;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (item === null) return true;
        if (typeof item === 'object') stack.push(item);
      }
    } else if (typeof value === 'object' && value !== undefined) {
      for (const key in value) {
        const item: unknown = (value as Json)[key];
        if (item === null) return true;
        if (typeof item === 'object') stack.push(item);
      }
    }
  }
  return false;
}
