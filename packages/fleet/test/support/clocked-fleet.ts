import { exponentialBackoff, yamlFiles } from '@converge/core';
import { FakeClock, MemorySink, type MemorySource } from '@converge/core/testing';
import { createFleet } from '../../src/index.js';

/**
 * A fleet `f` over `repo`'s `apps/` folder whose applications all render `repo`'s `app/`
 * folder, on a fake clock: fleet and applications poll every 10 s, without jitter.
 */
export function clockedFleet(repo: MemorySource, sink = new MemorySink()) {
  const clock = new FakeClock();
  const fleet = createFleet({
    name: 'f',
    source: repo,
    path: 'apps',
    sink,
    clock,
    intervalMs: 10_000,
    jitter: 0,
    retry: exponentialBackoff({ jitter: 0 }),
    appDefaults: { intervalMs: 10_000, jitter: 0 },
    createApp: () => ({ source: repo, render: yamlFiles({ path: 'app' }) }),
  });
  return { fleet, clock, sink };
}
