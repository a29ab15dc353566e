import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { AbortedError } from '@converge/core';
import { type HelmError, helmError } from '../errors.js';
import { limitError, type RenderLimits } from './engine-error.js';

/** How often the resident memory of the process is read, in milliseconds. */
const MEMORY_SAMPLE_MS = 50;
/** The head of stderr that is kept for the error message; the rest is dropped. */
const MAX_STDERR_BYTES = 64 * 1024;

/** How a process run by {@link runBounded} exited: with 0 and its output, or not (and its stderr). */
export type BoundedProcessResult =
  | { ok: true; stdout: string }
  | { ok: false; code: number | null; signal: NodeJS.Signals | null; stderr: string };

/** Options of {@link runBounded}. */
export interface BoundedProcessOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  limits: RenderLimits;
  signal?: AbortSignal | undefined;
}

/**
 * Runs `command` (no shell) and collects its standard output, killing it with `SIGKILL` as
 * soon as it breaks one of its bounds: it runs longer than `timeoutMs`, writes more than
 * `maxOutputBytes` to stdout, or its resident memory (read from `/proc/<pid>/status` every
 * 50 ms; Linux only, elsewhere not checked) exceeds `maxMemoryBytes`. Output is never
 * returned from a process that was killed.
 *
 * @throws HelmError `ENGINE_TIMEOUT`, `ENGINE_OUTPUT_LIMIT` or `ENGINE_MEMORY_LIMIT` when it
 *   broke that bound (it was killed); `HELM_ENGINE_FAILED` when the command cannot be started;
 *   AbortedError when `signal` aborts (the process is killed).
 */
export function runBounded(command: string, args: string[], o: BoundedProcessOptions): Promise<BoundedProcessResult> {
  const { limits, signal } = o;
  if (signal?.aborted) return Promise.reject(new AbortedError('helm render aborted'));
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    const stderr: Buffer[] = [];
    let stderrBytes = 0;
    let ended = false;

    const end = (outcome: { result: BoundedProcessResult } | { error: unknown }) => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      clearInterval(sampler);
      signal?.removeEventListener('abort', onAbort);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      stdout.length = 0;
      if ('error' in outcome) reject(outcome.error);
      else resolve(outcome.result);
    };
    const breach = (error: HelmError) => end({ error });
    const onAbort = () => end({ error: new AbortedError('helm render aborted') });

    const timer = setTimeout(() => breach(limitError('timeoutMs', limits.timeoutMs)), limits.timeoutMs);
    const sampler = setInterval(() => {
      if (child.pid === undefined || ended) return;
      residentBytes(child.pid).then(
        (rss) => {
          if (rss !== undefined && rss > limits.maxMemoryBytes) {
            breach(limitError('maxMemoryBytes', limits.maxMemoryBytes, `the helm process reached ${rss} bytes of resident memory`));
          }
        },
        () => undefined, // the process is gone (or /proc is not there): nothing to bound
      );
    }, MEMORY_SAMPLE_MS);
    signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (chunk: Buffer) => {
      if (ended) return;
      stdoutBytes += chunk.length;
      if (stdoutBytes > limits.maxOutputBytes) {
        breach(limitError('maxOutputBytes', limits.maxOutputBytes, `helm template wrote more than ${limits.maxOutputBytes} bytes and was killed`));
      } else {
        stdout.push(chunk);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderrBytes >= MAX_STDERR_BYTES) return;
      stderr.push(chunk.subarray(0, MAX_STDERR_BYTES - stderrBytes));
      stderrBytes += chunk.length;
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOENT' ? `helm binary not found: ${command}` : `cannot run ${command}: ${err.message}`;
      end({ error: helmError('HELM_ENGINE_FAILED', why, {}, err) });
    });
    child.on('close', (code, killedBy) => {
      if (ended) return;
      if (code === 0) return end({ result: { ok: true, stdout: Buffer.concat(stdout).toString('utf8') } });
      end({ result: { ok: false, code, signal: killedBy, stderr: Buffer.concat(stderr).toString('utf8') } });
    });
  });
}

/** The resident memory of process `pid` in bytes, or `undefined` where `/proc` has no answer. */
async function residentBytes(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  return kb === undefined ? undefined : Number(kb) * 1024;
}
