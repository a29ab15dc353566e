import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AnyAppSpec, Fleet, FleetEvent } from '@converge/fleet';

/** Prometheus metrics fed from fleet events. */
export function agentMetrics(fleet: Fleet<AnyAppSpec>): { registry: Registry; observe(e: FleetEvent): void } {
  const registry = new Registry();
  const passes = new Counter({ name: 'converge_reconcile_total', help: 'Reconcile passes by result', labelNames: ['reconciler', 'result'], registers: [registry] });
  const duration = new Histogram({
    name: 'converge_reconcile_duration_seconds',
    help: 'Duration of reconcile passes',
    labelNames: ['reconciler'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const drift = new Counter({ name: 'converge_drift_corrections_total', help: 'Objects whose drift a pass reverted', labelNames: ['reconciler'], registers: [registry] });
  new Gauge({
    name: 'converge_managed_objects',
    help: 'Objects each application manages after its last successful pass',
    labelNames: ['reconciler'],
    registers: [registry],
    collect() {
      this.reset();
      for (const status of Object.values(fleet.status().apps)) this.set({ reconciler: status.name }, status.managedObjects);
    },
  });
  new Gauge({
    name: 'converge_suspended',
    help: '1 when an application is suspended',
    labelNames: ['reconciler'],
    registers: [registry],
    collect() {
      this.reset();
      for (const status of Object.values(fleet.status().apps)) this.set({ reconciler: status.name }, status.suspended ? 1 : 0);
    },
  });
  return {
    registry,
    observe(e) {
      // The fleet's own passes (over the spec folder) count under the fleet's name.
      if (e.type === 'fleet.pass.succeeded' || e.type === 'fleet.pass.failed') {
        passes.inc({ reconciler: e.fleet, result: e.type === 'fleet.pass.succeeded' ? 'succeeded' : 'failed' });
        duration.observe({ reconciler: e.fleet }, e.durationMs / 1000);
      } else if (e.type === 'pass.succeeded' || e.type === 'pass.failed') {
        passes.inc({ reconciler: e.reconciler, result: e.type === 'pass.succeeded' ? 'succeeded' : 'failed' });
        duration.observe({ reconciler: e.reconciler }, e.durationMs / 1000);
        if (e.type === 'pass.succeeded' && e.driftCorrected > 0) drift.inc({ reconciler: e.reconciler }, e.driftCorrected);
      }
    },
  };
}
