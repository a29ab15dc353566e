import type { EventWithout } from '../emitter.js';
import type { ReconcileEvent } from '../events.js';

/** A reconcile event as the parts of a pass report it: the reconciler stamps its name and the time. */
export type UnstampedEvent = EventWithout<ReconcileEvent, 'reconciler' | 'at'>;

/** How the parts of a pass report events. */
export type PassEmit = (event: UnstampedEvent) => void;
