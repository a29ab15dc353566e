import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/testing/free-port.js';
import { processAlive } from '../../src/testing/process-alive.js';
import { ProcessStartError } from '../../src/testing/process-start-error.js';
import { startProcess } from '../../src/testing/start-process.js';
import { startServerProcess, type ServerProcessEvent } from '../../src/testing/start-server-process.js';

const httpServer = fileURLToPath(new URL('../fixtures/process/http-server.mjs', import.meta.url));
const node = (...args: string[]) => ({ command: process.execPath, args });
const answers = async (port: number, signal: AbortSignal) => (await fetch(`http://127.0.0.1:${port}/`, { signal })).ok;

async function eventually(check: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - started;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'converge-process-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('startServerProcess', () => {
  it('starts again on another port when the one it picked is taken by another listener', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    const ports = [taken];
    const events: ServerProcessEvent[] = [];
    try {
      const server = await startServerProcess({
        name: 'http-server',
        logFile: join(dir, 'retry.log'),
        command: (port) => node(httpServer, String(port)),
        ready: answers,
        pickPort: async () => ports.shift() ?? freePort(),
        onEvent: (e) => events.push(e),
      });
      expect(server.port).not.toBe(taken);
      expect(await (await fetch(`http://127.0.0.1:${server.port}/`)).text()).toBe('ok');
      expect(events.map((e) => [e.type, e.port, e.attempt])).toEqual([
        ['spawned', taken, 1],
        ['port-taken', taken, 1],
        ['spawned', server.port, 2],
      ]);
      await server.stop();
    } finally {
      blocker.close();
    }
  });

  it('reports a process that exits before it is ready with its exit and its own output', async () => {
    const logFile = join(dir, 'early-exit.log');
    const error = await startServerProcess({
      name: 'broken',
      logFile,
      command: () => node('-e', "console.error('config.yml: unknown field \"storrage\"'); process.exit(2)"),
      ready: answers,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProcessStartError);
    expect(error).toMatchObject({ code: 'PROCESS_EXITED', data: { name: 'broken', logFile, exit: { code: 2, signal: null } } });
    expect((error as ProcessStartError).message).toContain('unknown field "storrage"');
    expect((error as ProcessStartError).data.logTail).toBe('config.yml: unknown field "storrage"');
  });

  it('stops a process that is not ready in time and says so, retryable', async () => {
    let pid = 0;
    const error = await startServerProcess({
      name: 'slow',
      logFile: join(dir, 'slow.log'),
      command: () => node('-e', 'setInterval(() => {}, 1000)'),
      ready: async () => false,
      startTimeoutMs: 300,
      onEvent: (e) => (pid = e.type === 'spawned' ? e.pid : pid),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PROCESS_START_TIMEOUT', retryable: true });
    expect(processAlive(pid)).toBe(false);
  });

  it('does not look for another port when the port is fixed', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const error = await startServerProcess({ name: 'fixed', logFile: join(dir, 'fixed.log'), port, command: (p) => node(httpServer, String(p)), ready: answers }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'PROCESS_EXITED' });
      expect((error as ProcessStartError).data.logTail).toContain('EADDRINUSE');
    } finally {
      blocker.close();
    }
  });
});

describe('startProcess', () => {
  it('stop() ends a process with SIGTERM, and with SIGKILL when it ignores SIGTERM', async () => {
    const polite = await startProcess({ name: 'polite', logFile: join(dir, 'polite.log'), ...node('-e', 'setInterval(() => {}, 1000)') });
    expect(await polite.stop()).toEqual({ code: null, signal: 'SIGTERM' });
    expect(processAlive(polite.pid)).toBe(false);

    const stubborn = await startProcess({
      name: 'stubborn',
      logFile: join(dir, 'stubborn.log'),
      ...node('-e', "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('up'); setInterval(() => {}, 1000)"),
    });
    // It prints 'up' once its handler is installed.
    for (let i = 0; i < 100 && !(await stubborn.logTail()).includes('up'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await stubborn.stop(300)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await stubborn.logTail()).toContain('ignoring SIGTERM');
  });

  it('rejects with PROCESS_SPAWN_FAILED when the executable does not exist', async () => {
    await expect(startProcess({ name: 'ghost', command: join(dir, 'no-such-binary'), args: [], logFile: join(dir, 'ghost.log') })).rejects.toMatchObject({
      code: 'PROCESS_SPAWN_FAILED',
      data: { name: 'ghost' },
    });
  });
});

describe('no orphans', () => {
  const hooks = fileURLToPath(new URL('../../../../scripts/ts-hooks.mjs', import.meta.url));
  const fixture = fileURLToPath(new URL('../fixtures/process/start-and-die.ts', import.meta.url));

  it.each(['exit', 'kill'] as const)('a server process and a harness temp dir are gone within seconds after the test process dies by %s', async (how) => {
    const parent = spawn(process.execPath, ['--import', hooks, fixture, how], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exit = await new Promise<NodeJS.Signals | number | null>((resolve) => parent.on('exit', (code, signal) => resolve(signal ?? code)));
    expect(exit).toBe(how === 'kill' ? 'SIGKILL' : 3);
    const { pid, dir: harnessDir } = JSON.parse(out.trim()) as { pid: number; dir: string };
    const ms = await eventually(() => !processAlive(pid) && !existsSync(harnessDir), 5_000);
    console.info(`[process] after the parent died by ${how}, its server was gone in ${ms} ms`);
  });
});
