export { startGitea } from './gitea-server.js';
export type { TestGitea, GiteaUser, StartGiteaOptions } from './gitea-server.js';
export { locateGitea, giteaCachePath } from './locate-gitea.js';
export type { GiteaBinary } from './locate-gitea.js';
