import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { FakeClock } from '@converge/core/testing';
import { createTransport } from '../src/index.js';
import type { KubeTransport } from '../src/index.js';

/** Moves a FakeClock forward in steps, giving real requests to the control plane time to answer between steps; `each` runs after every step. */
export async function runFor(clock: FakeClock, ms: number, each?: () => void, stepMs = 250): Promise<void> {
  for (let done = 0; done < ms; done += stepMs) {
    await clock.advance(Math.min(stepMs, ms - done));
    await new Promise((r) => setTimeout(r, 20));
    each?.();
  }
}

/** Creates a namespace for a test's Leases. */
export async function leaseNamespace(kc: KubeConfig, name: string): Promise<void> {
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
}

const partitioned = (): Error => Object.assign(new Error('connect ECONNREFUSED (simulated partition)'), { code: 'ECONNREFUSED' });

/** A transport whose requests fail while `cut` is true, as if the network to the API server were down. */
export function cuttableTransport(kc: KubeConfig): { transport: KubeTransport; cut: boolean } {
  const real = createTransport(kc);
  const state: { cut: boolean; transport: KubeTransport } = {
    cut: false,
    transport: {
      server: real.server,
      request: <T>(req: Parameters<KubeTransport['request']>[0]): Promise<T> => (state.cut ? Promise.reject(partitioned()) : real.request<T>(req)),
      stream: (req, onValue) => (state.cut ? Promise.reject(partitioned()) : real.stream(req, onValue)),
      close: () => real.close(),
    } satisfies KubeTransport,
  };
  return state;
}
