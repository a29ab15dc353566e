import { writeFile } from 'node:fs/promises';
import { KubeConfig } from '@kubernetes/client-node';

/** What a kubeconfig for one user of a test control plane holds. */
export interface KubeconfigSpec {
  /** API server URL, e.g. `https://127.0.0.1:41234`. */
  server: string;
  /** The CA that signed the server's certificate, PEM. */
  caPem: string;
  /** The user's client certificate, PEM. */
  certPem: string;
  /** The user's private key, PEM. */
  keyPem: string;
  /** The user (and context) name. */
  user: string;
  /** The cluster name. @default 'converge-testenv' */
  cluster?: string;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/**
 * Builds a kubeconfig document (one cluster, one user, one current context) with the
 * certificates embedded, so the file is self-contained.
 */
export function kubeconfigDocument(spec: KubeconfigSpec): Record<string, unknown> {
  const cluster = spec.cluster ?? 'converge-testenv';
  return {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [{ name: cluster, cluster: { server: spec.server, 'certificate-authority-data': b64(spec.caPem) } }],
    users: [{ name: spec.user, user: { 'client-certificate-data': b64(spec.certPem), 'client-key-data': b64(spec.keyPem) } }],
    contexts: [{ name: spec.user, context: { cluster, user: spec.user } }],
    'current-context': spec.user,
  };
}

/**
 * Writes a kubeconfig file (JSON, which kubectl and every client read as YAML) with mode 0600,
 * and returns a {@link KubeConfig} loaded from the same document.
 */
export async function writeKubeconfig(path: string, spec: KubeconfigSpec): Promise<KubeConfig> {
  const text = `${JSON.stringify(kubeconfigDocument(spec), null, 2)}\n`;
  await writeFile(path, text, { mode: 0o600 });
  return loadKubeConfig(text);
}

/** Loads a {@link KubeConfig} from kubeconfig text (YAML or JSON). */
export function loadKubeConfig(text: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(text);
  return kc;
}
