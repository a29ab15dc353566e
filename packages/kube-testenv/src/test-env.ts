import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { locateKubeAssets, type KubeAssets } from './assets.js';
import { createCertificateAuthority, createServiceAccountKeyPair, type CertificateAuthority } from './certs.js';
import type { TestEnvClient, TestEnvConnection } from './connection.js';
import { ControlPlaneError, type ControlPlaneComponent } from './errors.js';
import type { TestEnvProgressEvent, TestEnvProgressListener } from './events.js';
import { guardCleanup, type CleanupGuard } from './internal/cleanup.js';
import { writeKubeconfig } from './kubeconfig.js';
import { freePort } from './ports.js';
import { startProcess, type SupervisedProcess } from './process.js';
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

const STARTUP_ATTEMPTS = 3;
const PORT_RACE = /address already in use|bind: .*in use/i;

function flagList(defaults: Record<string, string>, overrides: Record<string, string | undefined> = {}): string[] {
  const merged: Record<string, string | undefined> = { ...defaults, ...overrides };
  return Object.entries(merged).flatMap(([k, v]) => (v === undefined ? [] : [`--${k}=${v}`]));
}

interface StartContext {
  options: ResolvedOptions;
  assets: KubeAssets;
  dir: string;
  guard: CleanupGuard;
  deadline: number;
  emit(event: DistributiveOmit<TestEnvProgressEvent, 'elapsedMs'>): void;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * Spawns a component and waits until `probe` succeeds, retrying on a fresh port when it lost a
 * race for its port. Throws {@link ControlPlaneError} with the component's log tail otherwise.
 */
async function startComponent(
  ctx: StartContext,
  component: ControlPlaneComponent,
  launch: () => Promise<{ proc: SupervisedProcess; url: string; probe: () => Promise<boolean> }>,
): Promise<{ proc: SupervisedProcess; url: string }> {
  for (let attempt = 1; ; attempt++) {
    const { proc, url, probe } = await launch();
    ctx.guard.track(proc.pid);
    ctx.emit({ type: 'component-starting', component, url, pid: proc.pid });
    for (;;) {
      if (proc.exit()) {
        const logTail = await proc.logTail();
        if (PORT_RACE.test(logTail) && attempt < STARTUP_ATTEMPTS) {
          ctx.emit({ type: 'component-retrying', component, reason: 'port taken by another process' });
          break;
        }
        const exit = proc.exit()!;
        throw new ControlPlaneError(
          'TESTENV_START_FAILED',
          `${component} exited during startup (${exit.signal ?? `code ${exit.code}`}); last output:\n${logTail}`,
          { component, logTail, logFile: proc.logFile },
        );
      }
      if (await probe().catch(() => false)) {
        ctx.emit({ type: 'component-ready', component });
        return { proc, url };
      }
      if (Date.now() > ctx.deadline) {
        const logTail = await proc.logTail();
        await proc.stop(ctx.options.stopTimeoutMs);
        throw new ControlPlaneError(
          'TESTENV_START_TIMEOUT',
          `${component} was not ready within ${ctx.options.startTimeoutMs} ms; raise startTimeoutMs if the machine is busy. Last output:\n${logTail}`,
          { component, logTail, logFile: proc.logFile, data: { retryable: true } },
        );
      }
      await sleep(100);
    }
  }
}

async function etcdHealthy(url: string): Promise<boolean> {
  const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
  if (!res.ok) return false;
  const body = (await res.json()) as { health?: string };
  return body.health === 'true';
}

function apiServerReady(url: string, tls: { ca: string; cert: string; key: string }): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/readyz`, { ...tls, timeout: 2_000, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('timeout', () => req.destroy(new Error('readyz timed out')));
    req.on('error', reject);
    req.end();
  });
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
      options.onProgress?.({ ...event, elapsedMs: Date.now() - started } as TestEnvProgressEvent);
    } catch {
      // a listener's failure must not break startup
    }
  };
  const assets = await locateKubeAssets(options.assetsDir ? { assetsDir: options.assetsDir } : {});
  emit({ type: 'assets-located', assets });

  const dir = await mkdtemp(join(options.tmpDir, 'converge-testenv-'));
  const guard = guardCleanup(dir);
  const procs: SupervisedProcess[] = [];
  const stopAll = async () => {
    // API server first: it holds connections to etcd.
    for (const proc of [...procs].reverse()) await proc.stop(options.stopTimeoutMs);
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    guard.release();
  };

  try {
    const ctx: StartContext = { options, assets, dir, guard, deadline: started + (options.startTimeoutMs), emit };
    const certDir = join(dir, 'certs');
    await mkdir(certDir, { recursive: true });
    const ca = createCertificateAuthority();
    const serving = ca.issue({ commonName: 'kube-apiserver', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
    const admin = ca.issue({ commonName: 'admin', organizations: ['system:masters'], usage: 'client' });
    const sa = createServiceAccountKeyPair();
    const files = {
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

    const etcd = await startComponent(ctx, 'etcd', async () => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const dataDir = await mkdtemp(join(dir, 'etcd-'));
      const proc = await startProcess({
        name: 'etcd',
        command: assets.etcd,
        args: flagList(
          {
            'data-dir': dataDir,
            'listen-client-urls': url,
            'advertise-client-urls': url,
            // A single member never talks to peers; port 0 avoids a second port race (as envtest does).
            'listen-peer-urls': 'http://127.0.0.1:0',
            'unsafe-no-fsync': 'true',
            'log-level': 'warn',
          },
          options.etcdFlags,
        ),
        logFile: join(dir, 'etcd.log'),
        cwd: dir,
      });
      procs.push(proc);
      return { proc, url, probe: () => etcdHealthy(url) };
    });

    const launchApiServer = (fixedPort?: number) => async () => {
      const port = fixedPort ?? (await freePort());
      const url = `https://127.0.0.1:${port}`;
      const proc = await startProcess({
        name: 'kube-apiserver',
        command: assets.kubeApiserver,
        args: flagList(
          {
            'advertise-address': '127.0.0.1',
            'bind-address': '127.0.0.1',
            'secure-port': String(port),
            'etcd-servers': etcd.url,
            'cert-dir': certDir,
            'tls-cert-file': files.servingCert,
            'tls-private-key-file': files.servingKey,
            'client-ca-file': files.caCert,
            'authorization-mode': 'RBAC',
            'service-account-issuer': `${url}/`,
            'service-account-key-file': files.saPub,
            'service-account-signing-key-file': files.saKey,
            'service-cluster-ip-range': '10.0.0.0/24',
            // No controller-manager runs, so nothing would create the default ServiceAccount.
            'disable-admission-plugins': 'ServiceAccount',
            'allow-privileged': 'true',
            profiling: 'false',
          },
          options.apiServerFlags,
        ),
        logFile: join(dir, 'kube-apiserver.log'),
        cwd: dir,
      });
      procs.push(proc);
      return { proc, url, probe: () => apiServerReady(url, { ca: ca.certPem, cert: admin.certPem, key: admin.keyPem }) };
    };
    const apiServer = await startComponent(ctx, 'kube-apiserver', launchApiServer());
    let apiServerProc: SupervisedProcess | undefined = apiServer.proc;
    const apiServerPort = Number(new URL(apiServer.url).port);
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
        const restartCtx = { ...ctx, deadline: Date.now() + (options.startTimeoutMs) };
        apiServerProc = (await startComponent(restartCtx, 'kube-apiserver', launchApiServer(apiServerPort))).proc;
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
    return makeEnv({ assets, dir, ca, server: apiServer.url, kubeConfig, kubeconfigPath, startupMs, files, stopAll, apiServerControl, options });
  } catch (error) {
    await stopAll().catch(() => {});
    throw error;
  }
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
  };
  return {
    assets: p.assets,
    dir: p.dir,
    connection,
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
