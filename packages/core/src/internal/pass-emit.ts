import type { ReconcileEvent } from '../events.js';

/** A reconcile event as the parts of a pass report it: the reconciler stamps its name and the time. */
export type UnstampedEvent = ReconcileEvent extends infer E ? (E extends unknown ? Omit<E, 'reconciler' | 'at'> : never) : never;

/** How the parts of a pass report events. */
export type PassEmit = (event: UnstampedEvent) => void;
