export type {
  GitServer,
  GitServerOptions,
  GitServerAuth,
  GitRequestLogEntry,
  TestFiles,
  CommitOptions,
  GitStall,
} from './git-server.js';
export { startGitServer } from './git-server.js';
export type { GitRunResult } from './git-cli.js';
export { runGit } from './git-cli.js';
