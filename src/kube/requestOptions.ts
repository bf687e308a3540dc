import { Observable, type ConfigurationOptions, type ObservableMiddleware } from '@kubernetes/client-node';
import type { AgentReuser } from './connectionReuse.js';

export interface RequestOptionsSpec {
  /** Per-request deadline: a hung connection must not hold a worker forever. */
  timeoutMs: number;
  /** Pooled keep-alive connections (see connectionReuse.ts); omitted: client-node's own Agent. */
  agents?: AgentReuser;
  /** Sees every response's Date header (also on error statuses), e.g. ServerClock.observeDateHeader. */
  onDateHeader?: (value: string | undefined) => void;
}

/**
 * Per-call options for client-node's object-parameter API, which runs middleware as Observables
 * (its own stub): a deadline, the shared connection pool, and a look at the Date header.
 */
export function requestOptions(spec: RequestOptionsSpec): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(AbortSignal.timeout(spec.timeoutMs));
      const agent = spec.agents?.reuse(context.getAgent());
      if (agent !== undefined) context.setAgent(agent);
      return new Observable(Promise.resolve(context));
    },
    post: (response) => {
      spec.onDateHeader?.(headerValue(response.headers, 'date'));
      return new Observable(Promise.resolve(response));
    },
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

function headerValue(headers: Record<string, string> | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined;
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}
