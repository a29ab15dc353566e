import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InClusterConfigError, loadAgentKubeConfig, SERVICE_ACCOUNT_DIR } from '../src/kube-config.ts';

afterEach(() => {
  vi.unstubAllEnvs();
});

async function podRoot(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'converge-sa-'));
  await mkdir(join(root, SERVICE_ACCOUNT_DIR), { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(root, SERVICE_ACCOUNT_DIR, name), text);
  return root;
}

function inPod(): void {
  vi.stubEnv('KUBECONFIG', '');
  vi.stubEnv('KUBERNETES_SERVICE_HOST', '10.0.0.1');
  vi.stubEnv('KUBERNETES_SERVICE_PORT', '443');
}

describe('loadAgentKubeConfig', () => {
  it('in a pod: the service address, the mounted token file and CA, and the namespace file', async () => {
    inPod();
    const root = await podRoot({ token: 'a-token', 'ca.crt': 'ca', namespace: 'agents\n' });
    const { kubeConfig, mode, namespace } = loadAgentKubeConfig({ serviceAccountRoot: root });
    expect(mode).toBe('in-cluster');
    expect(namespace).toBe('agents');
    expect(kubeConfig.getCurrentCluster()).toMatchObject({ server: 'https://10.0.0.1:443', caFile: join(root, SERVICE_ACCOUNT_DIR, 'ca.crt') });
    expect(kubeConfig.getCurrentUser()?.authProvider?.config?.['tokenFile']).toBe(join(root, SERVICE_ACCOUNT_DIR, 'token'));
  });

  it('in a pod without a mounted token: a typed error naming the file, never a kubeconfig guess', async () => {
    inPod();
    const root = await podRoot({ 'ca.crt': 'ca' });
    const error = (() => {
      try {
        loadAgentKubeConfig({ serviceAccountRoot: root });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InClusterConfigError);
    expect(error).toMatchObject({ code: 'IN_CLUSTER_CONFIG_MISSING', message: expect.stringContaining(join(root, SERVICE_ACCOUNT_DIR, 'token')) });
  });

  it('--kubeconfig wins over the pod environment', async () => {
    inPod();
    const file = join(await mkdtemp(join(tmpdir(), 'converge-kc-')), 'config');
    await writeFile(
      file,
      'apiVersion: v1\nkind: Config\nclusters: [{ name: c, cluster: { server: "https://127.0.0.1:6443" } }]\nusers: [{ name: u, user: { token: t } }]\ncontexts: [{ name: x, context: { cluster: c, user: u } }]\ncurrent-context: x\n',
    );
    const { kubeConfig, mode } = loadAgentKubeConfig({ kubeconfig: file });
    expect(mode).toBe('kubeconfig');
    expect(kubeConfig.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
  });
});
