import type { V1NetworkPolicyPort } from '@kubernetes/client-node';

/**
 * `--port` values: `5432`, `5432/TCP`, `8000-8010/TCP`, or a named container port `http/TCP`.
 * The protocol defaults to TCP (as Kubernetes does) and is case-insensitive.
 */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

export type PortParse = { ok: true; port: V1NetworkPolicyPort & { protocol: Protocol } } | { ok: false; error: string };

const NUMBER = /^[0-9]{1,5}$/;
const RANGE = /^([0-9]{1,5})-([0-9]{1,5})$/;
/** IANA_SVC_NAME, as Kubernetes validates a named port: 1-15 chars, a letter somewhere, no "--". */
const SERVICE_NAME = /^(?=.{1,15}$)(?=.*[a-z])(?!.*--)[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export function parsePort(text: string): PortParse {
  const value = text.trim();
  const slash = value.indexOf('/');
  const portText = slash >= 0 ? value.slice(0, slash) : value;
  const protoText = slash >= 0 ? value.slice(slash + 1) : 'TCP';
  const protocol = protoText.toUpperCase() as Protocol;
  if (!PROTOCOLS.includes(protocol)) {
    return { ok: false, error: `"${value}": protocol "${protoText}" is not one of ${PROTOCOLS.join(', ')}` };
  }
  if (NUMBER.test(portText)) {
    const port = Number(portText);
    if (port < 1 || port > 65535) return { ok: false, error: `"${value}": port ${port} is outside 1-65535` };
    return { ok: true, port: { protocol, port } };
  }
  const range = RANGE.exec(portText);
  if (range) {
    const port = Number(range[1]);
    const endPort = Number(range[2]);
    if (port < 1 || port > 65535 || endPort < 1 || endPort > 65535) {
      return { ok: false, error: `"${value}": ports must be within 1-65535` };
    }
    if (endPort < port) return { ok: false, error: `"${value}": the range ends before it starts` };
    if (endPort === port) return { ok: true, port: { protocol, port } };
    return { ok: true, port: { protocol, port, endPort } };
  }
  if (SERVICE_NAME.test(portText)) return { ok: true, port: { protocol, port: portText } };
  return {
    ok: false,
    error: `"${value}" is not a port; write N, N/PROTO, N-M/PROTO or a named port like http/TCP`,
  };
}

/** `5432/TCP`, `8000-8010/TCP`, `http/TCP`; a missing port means every port of that protocol. */
export function formatPort(port: V1NetworkPolicyPort): string {
  const protocol = port.protocol ?? 'TCP';
  if (port.port === undefined || port.port === null || port.port === '') return `all/${protocol}`;
  if (typeof port.port === 'number' && typeof port.endPort === 'number') return `${port.port}-${port.endPort}/${protocol}`;
  return `${port.port}/${protocol}`;
}
