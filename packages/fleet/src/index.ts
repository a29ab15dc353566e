export type { AppSpec, AnyAppSpec } from './app-spec.js';
export { AppSpecError, validateAppSpec } from './app-spec.js';
export { APP_TEMPLATE_FILE, readAppSpecs } from './read-app-specs.js';
export { dependenciesReady } from './dependency-gate.js';
export type { FleetEvent, FleetEventBase, AppEventBase, FleetOwnEvent, FleetEventType, FleetEventOf } from './fleet-event.js';
export type { Fleet, FleetOptions, FleetResult, FleetResultBase, FleetStatus, AppParts, SpecParser } from './fleet.js';
export { createFleet } from './fleet.js';
