import type { GuardConfig } from '../config/types.js';

/**
 * Whether policies in `namespace` are admitted without checks. The one test of it: the webhook's
 * handlers, the engine, the mutator and `check`/`grant` (through the engine) all ask here.
 */
export function isExemptNamespace(config: GuardConfig, namespace: string): boolean {
  return config.exemptNamespaces.has(namespace);
}
