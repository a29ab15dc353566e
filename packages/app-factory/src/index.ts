export type { AppFactory, AppFactoryOptions } from './app-factory.js';
export { appFactory } from './app-factory.js';
export type { GitAppSpec, GitAppSource, GitAppRender, OciAppSource } from './git-app-spec.js';
export { parseGitAppSpec } from './git-app-spec.js';
