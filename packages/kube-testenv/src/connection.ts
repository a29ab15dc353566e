import { readFile } from 'node:fs/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadCertificateAuthority } from './certs.js';
import { loadKubeConfig } from './kubeconfig.js';
import { issueTestUser, type TestUser } from './user.js';

/**
 * Plain data that lets another process (a vitest worker, a child process) use a running test
 * control plane: all strings and numbers, safe to pass through `provide`/`inject` or JSON.
 */
export interface TestEnvConnection {
  /** API server URL, e.g. `https://127.0.0.1:41234`. */
  server: string;
  /** Admin kubeconfig file (user `admin`, group `system:masters`). */
  kubeconfigPath: string;
  /** The environment's temp dir; user kubeconfigs are written under it. */
  dir: string;
  /** The CA certificate (PEM file) that signed the serving and client certificates. */
  caCertPath: string;
  /** The CA private key (PEM file), to issue user certificates. */
  caKeyPath: string;
  /** The `kubectl` binary built with the assets, when there is one. */
  kubectlPath?: string;
  /** How long the control plane took to start, in milliseconds. */
  startupMs: number;
  /** The audit log, when the control plane was started with `audit`; read it with `readAuditLog`. */
  auditLogPath?: string;
}

/** A client's view of a running test control plane: connect as admin, or as a new user. */
export interface TestEnvClient {
  /** An admin client (group `system:masters`). */
  kubeConfig: KubeConfig;
  /** The admin kubeconfig file, e.g. for `kubectl --kubeconfig`. */
  kubeconfigPath: string;
  /** API server URL. */
  server: string;
  /** The `kubectl` built with the assets (same Kubernetes version as the server), when available. */
  kubectlPath?: string;
  /** How long the control plane took to start, in milliseconds. */
  startupMs: number;
  /** The audit log (JSON lines) when the control plane was started with `audit`; read it with `readAuditLog`. Removed by `stop()`. */
  auditLogPath?: string;
  /**
   * Creates a user authenticated by a client certificate signed by the environment's CA. The
   * user has no rights until RBAC grants them: bind a Role to `name` or one of `groups`.
   *
   * @param name - the user name (certificate CN)
   * @param groups - the user's groups (certificate O entries). @default []
   */
  createUser(name: string, groups?: readonly string[]): Promise<TestUser>;
}

/**
 * Connects to a test control plane that another process started, from its
 * {@link TestEnvConnection}. Used by `@converge/kube-testenv/vitest` in test workers.
 */
export async function connectTestEnv(connection: TestEnvConnection): Promise<TestEnvClient> {
  const [kubeconfigText, caCert, caKey] = await Promise.all([
    readFile(connection.kubeconfigPath, 'utf8'),
    readFile(connection.caCertPath, 'utf8'),
    readFile(connection.caKeyPath, 'utf8'),
  ]);
  const ca = loadCertificateAuthority(caCert, caKey);
  return {
    kubeConfig: loadKubeConfig(kubeconfigText),
    kubeconfigPath: connection.kubeconfigPath,
    server: connection.server,
    ...(connection.kubectlPath && { kubectlPath: connection.kubectlPath }),
    startupMs: connection.startupMs,
    ...(connection.auditLogPath && { auditLogPath: connection.auditLogPath }),
    createUser: (name, groups = []) => issueTestUser({ dir: connection.dir, server: connection.server, ca, name, groups }),
  };
}
