import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { CertificateAuthority } from './certs.js';
import { writeKubeconfig } from './kubeconfig.js';

/** A user of a test control plane, authenticated by a client certificate. */
export interface TestUser {
  /** The user name (certificate CN) that RBAC bindings name. */
  name: string;
  /** The groups (certificate O entries) that RBAC bindings can name. */
  groups: readonly string[];
  /** A client configured as this user. */
  kubeConfig: KubeConfig;
  /** A kubeconfig file for this user, e.g. for `kubectl --kubeconfig`. Removed by `stop()`. */
  kubeconfigPath: string;
}

/** Where and for which server {@link issueTestUser} writes the user's kubeconfig. */
export interface IssueTestUserOptions {
  /** The environment's temp dir; the kubeconfig goes to `<dir>/users/`. */
  dir: string;
  /** API server URL. */
  server: string;
  /** The CA the API server trusts for client certificates (`--client-ca-file`). */
  ca: CertificateAuthority;
  /** The user name (certificate CN). */
  name: string;
  /** The user's groups (certificate O entries). @default [] */
  groups?: readonly string[];
}

/** Issues a client certificate for `name` in `groups` and writes a kubeconfig for it. */
export async function issueTestUser(options: IssueTestUserOptions): Promise<TestUser> {
  const groups = [...(options.groups ?? [])];
  const issued = options.ca.issue({ commonName: options.name, organizations: groups, usage: 'client' });
  const usersDir = join(options.dir, 'users');
  await mkdir(usersDir, { recursive: true });
  const safe = options.name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 64);
  const kubeconfigPath = join(usersDir, `${safe}-${randomUUID().slice(0, 8)}.kubeconfig`);
  const kubeConfig = await writeKubeconfig(kubeconfigPath, {
    server: options.server,
    caPem: options.ca.certPem,
    certPem: issued.certPem,
    keyPem: issued.keyPem,
    user: options.name,
  });
  return { name: options.name, groups, kubeConfig, kubeconfigPath };
}
