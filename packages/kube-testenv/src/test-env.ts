import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { harnessTempDir, type SupervisedProcess } from '@converge/core/testing';
import { locateKubeAssets, type KubeAssets } from './assets.js';
import { DEFAULT_AUDIT_POLICY, type AuditPolicy } from './audit-log.js';
import { createCertificateAuthority, createServiceAccountKeyPair, type CertificateAuthority } from './certs.js';
import type { TestEnvClient, TestEnvConnection } from './connection.js';
import { ControlPlaneError } from './errors.js';
import type { TestEnvProgressEvent, TestEnvProgressListener } from './events.js';
import type { StartContext } from './internal/component.js';
import { startEtcd } from './internal/etcd.js';
import { startKubeApiServer } from './internal/kube-apiserver.js';
import { writeKubeconfig } from './kubeconfig.js';
import { issueTestUser } from './user.js';

/** Options of {@link startTestEnv}. Every field is optional. */
export interface StartTestEnvOptions {
  /** A directory with `etcd`, `kube-apiserver` (and `kubectl`); otherwise `KUBEBUILDER_ASSETS`, then the build cache. */
  assetsDir?: string;
  /** Where the environment's temp dir is created. @default os.tmpdir() */
  tmpDir?: string;
  /** How long etcd and kube-apiserver together may take to become ready. @default 60_000 */
  startTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL, per process. @default 10_000 */
  stopTimeoutMs?: number;
  /**
   * Extra or overriding kube-apiserver flags, without the leading `--`, e.g.
   * `{ 'feature-gates': 'Foo=true' }`. A key set to `undefined` removes a default flag.
   * @default {}
   */
  apiServerFlags?: Record<string, string | undefined>;
  /** Extra or overriding etcd flags, same form as `apiServerFlags`. @default {} */
  etcdFlags?: Record<string, string | undefined>;
  /** Receives startup and shutdown progress. @default no listener */
  onProgress?: TestEnvProgressListener;
  /**
   * Turns kube-apiserver's audit log on: the policy goes to `--audit-policy-file`, events to
   * `<dir>/audit/audit.log` (`--audit-log-path`, JSON lines, written before the response is
   * sent), read with `readAuditLog(env.auditLogPath)`. A witness of who wrote what, and when.
   * @default off; `{}` records every request at `Metadata` level (`DEFAULT_AUDIT_POLICY`)
   */
  audit?: { policy?: AuditPolicy };
}

/** A running control plane: a real etcd and kube-apiserver on loopback. */
export interface TestEnv extends TestEnvClient {
  /** The binaries in use. */
  assets: KubeAssets;
  /** The temp dir holding certificates, kubeconfigs, etcd data and process logs. Removed by `stop()`. */
  dir: string;
  /** Plain data to hand to another process; see `connectTestEnv`. */
  connection: TestEnvConnection;
  /**
   * Stops kube-apiserver only; etcd keeps the data. Clients then get connection errors, as
   * when a cluster's API goes away mid-operation. No-op when it is already stopped.
   */
  stopApiServer(): Promise<void>;
  /**
   * Starts kube-apiserver again after {@link TestEnv.stopApiServer}, on the same address, so
   * existing clients and kubeconfig files keep working; resolves once `/readyz` answers.
   * No-op while it runs.
   */
  startApiServer(): Promise<void>;
  /**
   * Stops kube-apiserver, then etcd (SIGTERM, then SIGKILL after `stopTimeoutMs`), and removes
   * the temp dir. Safe to call more than once.
   */
  stop(): Promise<void>;
}

interface ApiServerControl {
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** {@link StartTestEnvOptions} with every default applied, in this one place. */
interface ResolvedOptions extends StartTestEnvOptions {
  tmpDir: string;
  startTimeoutMs: number;
  stopTimeoutMs: number;
  apiServerFlags: Record<string, string | undefined>;
  etcdFlags: Record<string, string | undefined>;
}

function resolveOptions(options: StartTestEnvOptions): ResolvedOptions {
  return {
    ...options,
    tmpDir: options.tmpDir ?? tmpdir(),
    startTimeoutMs: options.startTimeoutMs ?? 60_000,
    stopTimeoutMs: options.stopTimeoutMs ?? 10_000,
    apiServerFlags: options.apiServerFlags ?? {},
    etcdFlags: options.etcdFlags ?? {},
  };
}

/**
 * Starts a real control plane on loopback, like controller-runtime's envtest: etcd (data in a
 * temp dir, no fsync) and kube-apiserver (RBAC, client-certificate authentication, service
 * accounts) on free ports, with a fresh CA. Resolves once `/readyz` answers 200, with an admin
 * client and kubeconfig file. Call `stop()` when done — also when a test failed; a process
 * `exit` hook and a watchdog clean up after runs that crash or are killed.
 *
 * Binaries come from `assetsDir`, `KUBEBUILDER_ASSETS`, or the cache that
 * `scripts/build-assets.sh` fills; without them it throws `KubeAssetsNotFoundError`.
 *
 * @example
 * ```ts
 * import { CoreV1Api } from '@kubernetes/client-node';
 * const env = await startTestEnv({ onProgress: (e) => console.log(e.type) });
 * try {
 *   const core = env.kubeConfig.makeApiClient(CoreV1Api);
 *   console.log((await core.listNamespace()).items.map((n) => n.metadata?.name));
 * } finally {
 *   await env.stop();
 * }
 * ```
 */
export async function startTestEnv(startOptions: StartTestEnvOptions = {}): Promise<TestEnv> {
  const started = Date.now();
  const options = resolveOptions(startOptions);
  const emit: StartContext['emit'] = (event) => {
    try {
      options.onProgress?.({ ...event, elapsedMs: Date.now() - started });
    } catch {
      // a listener's failure must not break startup
    }
  };
  const assets = await locateKubeAssets(options.assetsDir ? { assetsDir: options.assetsDir } : {});
  emit({ type: 'assets-located', assets });

  const tempDir = await harnessTempDir({ prefix: 'converge-testenv-', parent: options.tmpDir });
  const dir = tempDir.path;
  const procs: SupervisedProcess[] = [];
  const stopAll = async () => {
    // API server first: it holds connections to etcd.
    for (const proc of [...procs].reverse()) await proc.stop(options.stopTimeoutMs);
    await tempDir.remove();
  };

  try {
    const ctx: StartContext = { dir, deadline: started + options.startTimeoutMs, startTimeoutMs: options.startTimeoutMs, stopTimeoutMs: options.stopTimeoutMs, emit };
    const certDir = join(dir, 'certs');
    await mkdir(certDir, { recursive: true });
    const ca = createCertificateAuthority();
    const serving = ca.issue({ commonName: 'kube-apiserver', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
    const admin = ca.issue({ commonName: 'admin', organizations: ['system:masters'], usage: 'client' });
    const sa = createServiceAccountKeyPair();
    const files = {
      certDir,
      caCert: join(certDir, 'ca.crt'),
      caKey: join(certDir, 'ca.key'),
      servingCert: join(certDir, 'apiserver.crt'),
      servingKey: join(certDir, 'apiserver.key'),
      saKey: join(certDir, 'sa.key'),
      saPub: join(certDir, 'sa.pub'),
    };
    await Promise.all([
      writeFile(files.caCert, ca.certPem),
      writeFile(files.caKey, ca.keyPem, { mode: 0o600 }),
      writeFile(files.servingCert, serving.certPem),
      writeFile(files.servingKey, serving.keyPem, { mode: 0o600 }),
      writeFile(files.saKey, sa.privateKeyPem, { mode: 0o600 }),
      writeFile(files.saPub, sa.publicKeyPem),
    ]);
    emit({ type: 'certificates-generated' });

    const audit = options.audit && (await writeAuditPolicy(dir, options.audit.policy ?? DEFAULT_AUDIT_POLICY));

    const etcd = await startEtcd(ctx, { binary: assets.etcd, flags: options.etcdFlags });
    procs.push(etcd.proc);
    const apiServerOptions = {
      binary: assets.kubeApiserver,
      etcdUrl: etcd.url,
      files,
      client: { ca: ca.certPem, cert: admin.certPem, key: admin.keyPem },
      flags: { ...audit?.flags, ...options.apiServerFlags },
    };
    const apiServer = await startKubeApiServer(ctx, apiServerOptions);
    procs.push(apiServer.proc);
    let apiServerProc: SupervisedProcess | undefined = apiServer.proc;
    const apiServerControl: ApiServerControl = {
      async stop() {
        const proc = apiServerProc;
        apiServerProc = undefined;
        if (!proc) return;
        await proc.stop(options.stopTimeoutMs);
        procs.splice(procs.indexOf(proc), 1);
      },
      async start() {
        if (apiServerProc) return;
        const restart = { ...ctx, deadline: Date.now() + options.startTimeoutMs };
        apiServerProc = (await startKubeApiServer(restart, { ...apiServerOptions, port: apiServer.proc.port })).proc;
        procs.push(apiServerProc);
      },
    };

    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    const kubeConfig = await writeKubeconfig(kubeconfigPath, {
      server: apiServer.url,
      caPem: ca.certPem,
      certPem: admin.certPem,
      keyPem: admin.keyPem,
      user: 'admin',
    });
    const startupMs = Date.now() - started;
    emit({ type: 'ready', server: apiServer.url, kubeconfigPath, startupMs });
    return makeEnv({ assets, dir, ca, server: apiServer.url, kubeConfig, kubeconfigPath, startupMs, files, stopAll, apiServerControl, options, ...(audit && { auditLogPath: audit.logPath }) });
  } catch (error) {
    await stopAll().catch(() => {});
    throw error;
  }
}

/** Writes the audit policy (JSON is YAML) under `<dir>/audit`; returns the kube-apiserver flags that turn the log on. */
async function writeAuditPolicy(dir: string, policy: AuditPolicy): Promise<{ logPath: string; flags: Record<string, string> }> {
  const auditDir = join(dir, 'audit');
  await mkdir(auditDir, { recursive: true });
  const policyPath = join(auditDir, 'policy.yaml');
  const logPath = join(auditDir, 'audit.log');
  await writeFile(policyPath, JSON.stringify(policy));
  return { logPath, flags: { 'audit-policy-file': policyPath, 'audit-log-path': logPath, 'audit-log-format': 'json', 'audit-log-mode': 'blocking' } };
}

function makeEnv(p: {
  assets: KubeAssets;
  dir: string;
  ca: CertificateAuthority;
  server: string;
  kubeConfig: TestEnv['kubeConfig'];
  kubeconfigPath: string;
  startupMs: number;
  files: { caCert: string; caKey: string };
  stopAll: () => Promise<void>;
  apiServerControl: ApiServerControl;
  options: ResolvedOptions;
  auditLogPath?: string;
}): TestEnv {
  let stopping: Promise<void> | undefined;
  const connection: TestEnvConnection = {
    server: p.server,
    kubeconfigPath: p.kubeconfigPath,
    dir: p.dir,
    caCertPath: p.files.caCert,
    caKeyPath: p.files.caKey,
    ...(p.assets.kubectl && { kubectlPath: p.assets.kubectl }),
    startupMs: p.startupMs,
    ...(p.auditLogPath && { auditLogPath: p.auditLogPath }),
  };
  return {
    assets: p.assets,
    dir: p.dir,
    connection,
    ...(p.auditLogPath && { auditLogPath: p.auditLogPath }),
    kubeConfig: p.kubeConfig,
    kubeconfigPath: p.kubeconfigPath,
    server: p.server,
    ...(p.assets.kubectl && { kubectlPath: p.assets.kubectl }),
    startupMs: p.startupMs,
    stopApiServer() {
      if (stopping) return Promise.reject(new ControlPlaneError('TESTENV_STOPPED', 'cannot stop kube-apiserver: the test environment was stopped'));
      return p.apiServerControl.stop();
    },
    startApiServer() {
      if (stopping) return Promise.reject(new ControlPlaneError('TESTENV_STOPPED', 'cannot start kube-apiserver: the test environment was stopped'));
      return p.apiServerControl.start();
    },
    createUser(name, groups = []) {
      if (stopping) return Promise.reject(new ControlPlaneError('TESTENV_STOPPED', `cannot create user ${name}: the test environment was stopped`));
      return issueTestUser({ dir: p.dir, server: p.server, ca: p.ca, name, groups });
    },
    stop() {
      stopping ??= (async () => {
        const t0 = Date.now();
        const emitStop = (type: 'stopping' | 'stopped') => {
          try {
            p.options.onProgress?.({ type, elapsedMs: Date.now() - t0 });
          } catch {
            // ignored, as during startup
          }
        };
        emitStop('stopping');
        await p.stopAll();
        emitStop('stopped');
      })();
      return stopping;
    },
  };
}
