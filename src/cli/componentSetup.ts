import { defaultConfig, loadConfigFile } from '../config/load.js';
import type { GuardConfig } from '../config/types.js';
import { type KubeContext, loadKubeContext } from '../kube/kubeConfig.js';

/** What `sweep` and `controller` need before they start: the config and a cluster connection. */
export interface ComponentSetup {
  config: GuardConfig;
  kube: KubeContext;
}

/**
 * The config (the file, or the embedded default without one) and the kubeconfig, or undefined
 * after saying what is wrong (the caller exits 2).
 */
export function loadComponentSetup(
  flags: { configPath: string | undefined; kubeconfig: string | undefined },
  say: (text: string) => void,
): ComponentSetup | undefined {
  const loaded = flags.configPath === undefined ? { ok: true as const, config: defaultConfig() } : loadConfigFile(flags.configPath);
  if (!loaded.ok) {
    say(`invalid config:\n${loaded.errors.map((e) => `  ${e}`).join('\n')}`);
    return undefined;
  }
  const kube = loadKubeContext(flags.kubeconfig);
  if (!kube.ok) {
    say(kube.error);
    return undefined;
  }
  return { config: loaded.config, kube: kube.context };
}
