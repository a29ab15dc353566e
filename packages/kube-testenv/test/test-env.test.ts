import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ApiException, CoreV1Api } from '@kubernetes/client-node';
import { processAlive } from '@converge/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlaneError } from '../src/errors.js';
import type { TestEnvProgressEvent } from '../src/events.js';
import { startTestEnv, type TestEnv } from '../src/test-env.js';

const run = promisify(execFile);

async function eventually(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('startTestEnv', () => {
  let env: TestEnv;
  const events: TestEnvProgressEvent[] = [];

  beforeAll(async () => {
    env = await startTestEnv({ onProgress: (e) => events.push(e) });
  });
  afterAll(() => env?.stop());

  it('reports startup progress in order and the startup time', () => {
    expect(events.map((e) => e.type)).toEqual([
      'assets-located',
      'certificates-generated',
      'component-starting',
      'component-ready',
      'component-starting',
      'component-ready',
      'ready',
    ]);
    expect(events.filter((e) => e.type === 'component-ready').map((e) => (e as { component: string }).component)).toEqual(['etcd', 'kube-apiserver']);
    expect(env.startupMs).toBeGreaterThan(0);
    expect(events.at(-1)).toMatchObject({ type: 'ready', startupMs: env.startupMs, server: env.server });
    console.info(`[kube-testenv] startup took ${env.startupMs} ms`);
  });

  it('serves the Kubernetes API to the admin kubeConfig on loopback', async () => {
    expect(env.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const core = env.kubeConfig.makeApiClient(CoreV1Api);
    const names = (await core.listNamespace()).items.map((n) => n.metadata?.name);
    expect(names).toEqual(expect.arrayContaining(['default', 'kube-system']));
    await core.createNamespace({ body: { metadata: { name: 'lifecycle' } } });
    const cm = await core.createNamespacedConfigMap({ namespace: 'lifecycle', body: { metadata: { name: 'c' }, data: { a: '1' } } });
    expect(cm.metadata?.uid).toBeTruthy();
  });

  it('writes a kubeconfig that the built kubectl uses', async () => {
    expect(env.kubectlPath).toBeTruthy();
    const { stdout } = await run(env.kubectlPath!, ['--kubeconfig', env.kubeconfigPath, 'get', 'configmap', 'c', '-n', 'lifecycle', '-o', 'jsonpath={.data.a}']);
    expect(stdout).toBe('1');
    const version = await run(env.kubectlPath!, ['--kubeconfig', env.kubeconfigPath, 'version', '-o', 'json']);
    const parsed = JSON.parse(version.stdout) as { serverVersion: { gitVersion: string }; clientVersion: { gitVersion: string } };
    expect(parsed.serverVersion.gitVersion).toMatch(/^v1\.3\d\.\d+$/);
    expect(parsed.clientVersion.gitVersion).toBe(parsed.serverVersion.gitVersion);
  });

  it('creates users that RBAC governs: 403 without a binding', async () => {
    const user = await env.createUser('bob', ['team-a']);
    expect(user.name).toBe('bob');
    const core = user.kubeConfig.makeApiClient(CoreV1Api);
    const error = await core.listNamespace().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiException);
    expect((error as ApiException<unknown>).code).toBe(403);
    expect(String((error as ApiException<unknown>).body)).toContain('User \\"bob\\" cannot list resource \\"namespaces\\"');
    const kubectl = await run(env.kubectlPath!, ['--kubeconfig', user.kubeconfigPath, 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.groups}']);
    expect(JSON.parse(kubectl.stdout)).toEqual(expect.arrayContaining(['team-a', 'system:authenticated']));
  });

  it('stops and restarts kube-apiserver alone, on the same address, keeping the data', async () => {
    const core = env.kubeConfig.makeApiClient(CoreV1Api);
    await env.stopApiServer();
    await expect(core.readNamespacedConfigMap({ name: 'c', namespace: 'lifecycle' })).rejects.toThrow(/ECONNREFUSED|fetch failed|connect/i);
    await env.startApiServer();
    const cm = await core.readNamespacedConfigMap({ name: 'c', namespace: 'lifecycle' });
    expect(cm.data).toEqual({ a: '1' });
  });

  it('stop() ends both processes and removes the temp dir, and can be called twice', async () => {
    const stopEvents: string[] = [];
    const pids: number[] = [];
    const other = await startTestEnv({
      onProgress: (e) => {
        stopEvents.push(e.type);
        if (e.type === 'component-starting') pids.push(e.pid);
      },
    });
    expect(pids).toHaveLength(2);
    expect(pids.every(processAlive)).toBe(true);
    await other.stop();
    await other.stop();
    expect(pids.some(processAlive)).toBe(false);
    expect(existsSync(other.dir)).toBe(false);
    await expect(other.createUser('late')).rejects.toMatchObject({ code: 'TESTENV_STOPPED' });
    expect(stopEvents.slice(-2)).toEqual(['stopping', 'stopped']);
    expect(stopEvents.filter((t) => t === 'stopped')).toHaveLength(1);
  });
});

describe('startup failures', () => {
  it('reports a component that exits during startup with its output, and cleans up', async () => {
    const error = await startTestEnv({ apiServerFlags: { 'no-such-flag': 'x' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ControlPlaneError);
    const e = error as ControlPlaneError;
    expect(e.code).toBe('TESTENV_START_FAILED');
    expect(e.data.component).toBe('kube-apiserver');
    expect(e.message).toContain('unknown flag: --no-such-flag');
    expect(String(e.data.logTail)).toContain('no-such-flag');
    const dir = dirname(String(e.data.logFile));
    expect(existsSync(dir)).toBe(false);
  });
});

describe('startup timeout', () => {
  it('stops a component that is not ready in time and reports it as retryable, with its log', async () => {
    const error = await startTestEnv({ startTimeoutMs: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ControlPlaneError);
    expect(error).toMatchObject({ code: 'TESTENV_START_TIMEOUT', retryable: true, data: { component: 'etcd' } });
    expect((error as ControlPlaneError).message).toContain('raise startTimeoutMs');
    expect(existsSync(dirname(String((error as ControlPlaneError).data.logFile)))).toBe(false);
  });
});

describe('cleanup after a crashed test run', () => {
  const hooks = fileURLToPath(new URL('../../../scripts/ts-hooks.mjs', import.meta.url));
  const fixture = fileURLToPath(new URL('./fixtures/start-and-crash.ts', import.meta.url));

  async function crash(how: 'exit' | 'kill'): Promise<{ dir: string; pids: number[] }> {
    const child = spawn(process.execPath, ['--import', hooks, fixture, how], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((resolve) => child.on('exit', resolve));
    return JSON.parse(out.trim()) as { dir: string; pids: number[] };
  }

  it.each(['exit', 'kill'] as const)('leaves no process and no temp dir when the runner dies by %s', async (how) => {
    const { dir, pids } = await crash(how);
    expect(pids).toHaveLength(2);
    await eventually(() => !pids.some(processAlive) && !existsSync(dir));
  });
});
