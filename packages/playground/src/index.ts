export { startPlayground, type Playground, type PlaygroundOptions } from './playground.js';
export { repoFiles } from './repo-files.js';
export { afterEvent } from './after-event.js';
