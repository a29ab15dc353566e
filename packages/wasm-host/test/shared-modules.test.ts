import { describe, expect, it } from 'vitest';
import { SharedModules } from '../src/internal/shared-modules.js';

describe('SharedModules', () => {
  it('loads a module once for every holder and forgets it when the last one releases it', async () => {
    const modules = new SharedModules<string>();
    let loads = 0;
    const load = () => Promise.resolve(`module ${++loads}`);
    const a = modules.claim('helm', load);
    const b = modules.claim('helm', load);
    expect(await a.module).toBe('module 1');
    expect(await b.module).toBe('module 1');
    a.release();
    a.release(); // idempotent: b still holds it
    expect(modules.size).toBe(1);
    b.release();
    expect(modules.size).toBe(0);
    expect(await modules.claim('helm', load).module).toBe('module 2');
  });

  it('forgets a module that failed to load, and a late release of it leaves the next load alone', async () => {
    const modules = new SharedModules<string>();
    const failed = modules.claim('helm', () => Promise.reject(new Error('no such file')));
    await expect(failed.module).rejects.toThrow('no such file');
    expect(modules.size).toBe(0);
    const next = modules.claim('helm', () => Promise.resolve('compiled'));
    failed.release();
    expect(modules.size).toBe(1);
    expect(await next.module).toBe('compiled');
  });
});
