import http from 'node:http';
import https from 'node:https';

/**
 * client-node builds a fresh, non-keep-alive Agent for every API call, so every call pays a TCP
 * and TLS handshake (and so does the API server). This swaps that Agent for one shared keep-alive
 * Agent with the same TLS settings. The settings are compared on every call, so rotated
 * credentials (a new CA or client certificate read from disk) get a new Agent, not a stale one.
 * Proxy agents and anything else unrecognised pass through untouched.
 */
const TLS_OPTION_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername', 'ciphers', 'crl'] as const;

type PlainAgent = http.Agent | https.Agent;

export interface AgentReuser {
  reuse(agent: PlainAgent | undefined): PlainAgent | undefined;
  /** Close idle pooled connections (on shutdown). */
  close(): void;
}

export function createAgentReuser(options: { maxSockets: number; retireAfterMs: number }): AgentReuser {
  let shared: { kind: typeof http.Agent | typeof https.Agent; source: Record<string, unknown>; agent: PlainAgent } | undefined;
  return {
    reuse(agent) {
      if (agent === undefined) return agent;
      const kind = agent.constructor;
      if (kind !== https.Agent && kind !== http.Agent) return agent;
      const source = ((agent as { options?: Record<string, unknown> }).options ?? {}) as Record<string, unknown>;
      if (shared && shared.kind === kind && TLS_OPTION_KEYS.every((k) => sameOption(shared!.source[k], source[k]))) {
        return shared.agent;
      }
      const retired = shared?.agent;
      // Let requests still running on the old Agent finish before closing it.
      if (retired) setTimeout(() => retired.destroy(), options.retireAfterMs).unref();
      const agentOptions = { ...source, keepAlive: true, maxSockets: options.maxSockets, maxFreeSockets: options.maxSockets };
      const pooled = kind === https.Agent ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
      shared = { kind: kind as typeof http.Agent | typeof https.Agent, source, agent: pooled };
      return pooled;
    },
    close() {
      shared?.agent.destroy();
      shared = undefined;
    },
  };
}

function sameOption(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameOption(v, b[i]));
  return false;
}
