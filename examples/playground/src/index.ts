export { startPlayground, type Playground, type PlaygroundOptions } from './playground.ts';
export { repoFiles } from './repo-files.ts';
export { afterEvent } from './after-event.ts';
