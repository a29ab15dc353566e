import type { Gate, ReconcilerStatus } from '@converge/core';

/**
 * A gate that holds an application back until each application it depends on has had a
 * successful pass (and, where it waits for health, is healthy) and has not failed since.
 */
export function dependenciesReady(dependsOn: readonly string[], statusOf: (app: string) => ReconcilerStatus | undefined): Gate {
  return {
    name: 'dependsOn',
    async check() {
      const waiting = dependsOn.flatMap((app) => {
        const status = statusOf(app);
        if (!status) return [`${app} (not declared)`];
        if (status.lastAppliedRevision === undefined) return [`${app} (not applied yet)`];
        if (status.lastError) return [`${app} (failing: ${status.lastError.code})`];
        return [];
      });
      return waiting.length === 0 ? { ok: true } : { ok: false, message: `waiting for ${waiting.join(', ')}` };
    },
  };
}
