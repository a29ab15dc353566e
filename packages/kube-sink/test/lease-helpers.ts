import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { FakeClock } from '@converge/core/testing';
import { createTransport } from '../src/index.js';
import type { KubeTransport } from '../src/index.js';

/** Requests sent over {@link leaseTestTransport}s and not yet answered. */
let inFlight = 0;

/**
 * A transport to the control plane whose requests {@link runFor} waits for. Give it to the
 * electors and members of a test (and close it afterwards), so the FakeClock stands still while
 * their requests are answered, however long that takes on a loaded machine.
 */
export function leaseTestTransport(kc: KubeConfig): KubeTransport {
  const real = createTransport(kc);
  return {
    server: real.server,
    request: <T>(req: Parameters<KubeTransport['request']>[0]): Promise<T> => {
      inFlight++;
      return real.request<T>(req).finally(() => inFlight--);
    },
    stream: (req, onValue) => real.stream(req, onValue),
    close: () => real.close(),
  };
}

/**
 * Moves a FakeClock forward in steps; after each step, waits in real time until every request
 * over a {@link leaseTestTransport} has been answered, then runs `each`. The clock does not move
 * while the control plane answers: a request takes no time on it, so the times a test reads off
 * the clock are the elector's own (its retry periods, deadlines and lease durations), not the
 * speed of the machine. Before, the clock moved 250 ms for every 20 ms of real time, so a
 * request that took 300 ms under load took 4 s on the clock.
 */
export async function runFor(clock: FakeClock, ms: number, each?: () => void, stepMs = 250): Promise<void> {
  for (let done = 0; done < ms; done += stepMs) {
    await clock.advance(Math.min(stepMs, ms - done));
    await requestsAnswered();
    each?.();
  }
}

/** Waits until no request over a {@link leaseTestTransport} is in flight; gives up after 10 s, leaving a hung request for the test to report. */
async function requestsAnswered(): Promise<void> {
  const deadline = Date.now() + 10_000;
  do await new Promise((r) => setTimeout(r, 5));
  while (inFlight > 0 && Date.now() < deadline);
}

/** Creates a namespace for a test's Leases. */
export async function leaseNamespace(kc: KubeConfig, name: string): Promise<void> {
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
}

const partitioned = (): Error => Object.assign(new Error('connect ECONNREFUSED (simulated partition)'), { code: 'ECONNREFUSED' });

/** A transport whose requests fail while `cut` is true, as if the network to the API server were down. */
export function cuttableTransport(kc: KubeConfig): { transport: KubeTransport; cut: boolean } {
  const real = leaseTestTransport(kc);
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
