import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConvergeError } from '@converge/core';
import { locateRegistry, registryCachePath } from '../src/testing/locate-registry.js';

const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'build-registry.sh');
const dir = mkdtempSync(join(tmpdir(), 'converge-locate-registry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakeBinary(path: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, '#!/bin/sh\n');
  chmodSync(path, 0o755);
  return path;
}

describe('locateRegistry', () => {
  it('computes the same cache path as scripts/build-registry.sh', () => {
    const env = { PATH: process.env['PATH'], HOME: dir, CONVERGE_CACHE_DIR: join(dir, 'cache') };
    const printed = execFileSync('bash', [script, '--print-path'], { env, encoding: 'utf8' }).trim();
    expect(printed).toBe(registryCachePath(env));
    expect(printed).toMatch(new RegExp(`^${join(dir, 'cache', 'registry')}/[0-9a-f]{16}/registry$`));
  });

  it('follows XDG_CACHE_HOME, then HOME, when CONVERGE_CACHE_DIR is unset', () => {
    expect(registryCachePath({ XDG_CACHE_HOME: '/x' })).toMatch(/^\/x\/converge\/registry\//);
    expect(registryCachePath({ HOME: '/h' })).toMatch(/^\/h\/\.cache\/converge\/registry\//);
  });

  it('prefers the built binary over a docker-registry on PATH', () => {
    const bin = join(dir, 'bin-both');
    fakeBinary(join(bin, 'docker-registry'));
    const env = { PATH: bin, CONVERGE_CACHE_DIR: join(dir, 'cache-both') };
    const built = fakeBinary(registryCachePath(env));
    expect(locateRegistry(env)).toEqual({ path: built, origin: 'cache' });
  });

  it('falls back to docker-registry or registry on PATH when nothing is built', () => {
    const bin = join(dir, 'bin-path');
    const onPath = fakeBinary(join(bin, 'registry'));
    expect(locateRegistry({ PATH: `/nonexistent:${bin}`, CONVERGE_CACHE_DIR: join(dir, 'empty') })).toEqual({ path: onPath, origin: 'PATH' });
  });

  it('uses CONVERGE_REGISTRY_BIN first, and rejects one that is not executable', () => {
    const override = fakeBinary(join(dir, 'override', 'my-registry'));
    expect(locateRegistry({ CONVERGE_REGISTRY_BIN: override, PATH: '' })).toEqual({ path: override, origin: 'CONVERGE_REGISTRY_BIN' });
    expect(() => locateRegistry({ CONVERGE_REGISTRY_BIN: join(dir, 'missing') })).toThrow(/CONVERGE_REGISTRY_BIN=.*missing is not an executable file/);
  });

  it('names the build command when no registry is found', () => {
    const env = { PATH: join(dir, 'nothing'), CONVERGE_CACHE_DIR: join(dir, 'empty') };
    let error: unknown;
    try {
      locateRegistry(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConvergeError);
    expect((error as ConvergeError).code).toBe('REGISTRY_NOT_FOUND');
    expect((error as ConvergeError).message).toMatch(/Build it once with `bash \S*scripts\/build-registry\.sh`/);
    expect((error as ConvergeError).message).toContain(registryCachePath(env));
  });
});
