import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { harnessTempDir, ProcessStartError, startServerProcess, type HarnessTempDir, type ServerProcess } from '@converge/core/testing';
import { ForgeError } from '../forge-error.js';
import { locateGitea } from './locate-gitea.js';

const run = promisify(execFile);

/** A user of the test Gitea, with an access token of every scope. */
export interface GiteaUser {
  /** Login name. */
  username: string;
  /** Password (basic auth, e.g. for git over HTTP). */
  password: string;
  /** Access token of every scope (`Authorization: token …`, or as the basic-auth password). */
  token: string;
}

/** A real Gitea on loopback, for tests, with helpers that call its API as the admin. */
export interface TestGitea {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The site admin (`converge`), who owns the repositories the helpers create. */
  readonly admin: GiteaUser;
  /** Calls the API (`/api/v1` + `path`) as `as` (default the admin); rejects on an HTTP error with its body. */
  api<T = unknown>(method: string, path: string, body?: unknown, as?: GiteaUser): Promise<T>;
  /** Creates a user (not an admin) and a token for them. */
  createUser(username: string): Promise<GiteaUser>;
  /** Creates a repository owned by the admin with a first commit on `main`; resolves with `owner/name`. */
  createRepo(name: string): Promise<string>;
  /** The HTTP clone URL of a repository (`owner/name`). */
  cloneUrl(repository: string): string;
  /**
   * Commits files (path → content; `null` deletes) on a branch through the contents API;
   * with `from`, the branch is created from that one first. Resolves with the new commit id.
   */
  commitFiles(repository: string, files: Record<string, string | null>, message: string, options?: { branch?: string; from?: string }): Promise<string>;
  /** Creates a label in a repository. */
  createLabel(repository: string, name: string, color?: string): Promise<void>;
  /** Gives a user write access to a repository. */
  addCollaborator(repository: string, username: string): Promise<void>;
  /** The last lines of Gitea's log, for failure messages. */
  logTail(lines?: number): Promise<string>;
  /** Stops Gitea and removes its data. */
  stop(): Promise<void>;
}

/** Options of {@link startGitea}. */
export interface StartGiteaOptions {
  /** Extra `app.ini` settings by section, e.g. `{ webhook: { ALLOWED_HOST_LIST: '*' } }`. @default {} */
  settings?: Record<string, Record<string, string>>;
  /** How long Gitea may take to answer, in ms. @default 60000 */
  startTimeoutMs?: number;
}

/**
 * Starts a real Gitea for tests on a free loopback port, with sqlite and every file in a temp
 * folder: `gitea migrate`, an admin user `converge` with a token, then `gitea web`. Webhooks may
 * target loopback. Gitea comes from {@link locateGitea}: built once from its Go module by
 * `bash node_modules/@converge/forge/scripts/build-gitea.sh` and cached outside the project.
 * The process handling (log file, free port tried again when taken, graceful stop, no orphan
 * when the test run dies) is `startServerProcess` from `@converge/core/testing`.
 *
 * @throws `ForgeError` `FORGE_INVALID_OPTIONS` when Gitea is not built;
 * `FORGE_UNREACHABLE` with its log when it does not come up.
 *
 * @example
 * ```ts
 * const gitea = await startGitea();
 * const repository = await gitea.createRepo('deploy');
 * const forge = giteaForge({ url: gitea.url, repository, token: gitea.admin.token });
 * // …
 * await gitea.stop();
 * ```
 */
export async function startGitea(options: StartGiteaOptions = {}): Promise<TestGitea> {
  const binary = locateGitea();
  const tempDir = await harnessTempDir({ prefix: 'converge-gitea-' });
  const dir = tempDir.path;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: dir,
    GITEA_WORK_DIR: dir,
    GITEA_CUSTOM: join(dir, 'custom'),
    ...(process.getuid?.() === 0 && { GITEA_I_AM_BEING_UNSAFE_RUNNING_AS_ROOT: 'true' }),
  };
  const config = join(dir, 'app.ini');
  const writeConfig = (port: number) => writeFile(config, appIni(dir, port, binary.staticRoot, options.settings ?? {}));
  const admin = { username: 'converge', password: `pw-${randomBytes(12).toString('hex')}` };
  let gitea: ServerProcess | undefined;
  try {
    // The database and the admin do not depend on the port `gitea web` gets.
    await writeConfig(0);
    await prepare(binary.path, ['migrate', '-c', config], env, dir);
    await prepare(binary.path, ['admin', 'user', 'create', '-c', config, '--username', admin.username, '--password', admin.password, '--email', 'converge@example.test', '--admin', '--must-change-password=false'], env, dir);
    gitea = await startServerProcess({
      name: 'gitea',
      logFile: join(dir, 'gitea.log'),
      command: async (port) => {
        await writeConfig(port);
        return { command: binary.path, args: ['web', '-c', config], env, cwd: dir };
      },
      ready: async (port, signal) => {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/version`, { signal });
        await res.body?.cancel();
        return res.ok;
      },
      startTimeoutMs: options.startTimeoutMs ?? 60_000,
    }).catch((e: unknown) => {
      if (!(e instanceof ProcessStartError)) throw e;
      throw new ForgeError('FORGE_UNREACHABLE', `gitea did not start: ${e.message}`, { data: { forge: 'gitea' }, cause: e });
    });
    return await client(`http://127.0.0.1:${gitea.port}`, gitea, tempDir, admin);
  } catch (e) {
    await gitea?.stop();
    await tempDir.remove();
    throw e;
  }
}

/** Runs one `gitea` setup command; a failure is `FORGE_UNREACHABLE` with Gitea's own output. */
async function prepare(binary: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<void> {
  try {
    await run(binary, args, { env, cwd, timeout: 120_000 });
  } catch (e) {
    const { stdout = '', stderr = '' } = e as { stdout?: string; stderr?: string };
    throw new ForgeError('FORGE_UNREACHABLE', `gitea ${args[0]} failed:\n${`${stderr}\n${stdout}`.trim().split('\n').slice(-20).join('\n')}`, { data: { forge: 'gitea' } });
  }
}

function appIni(dir: string, port: number, staticRoot: string, extra: Record<string, Record<string, string>>): string {
  const sections: Record<string, Record<string, string>> = {
    '': { APP_NAME: 'converge-test', RUN_MODE: 'prod', WORK_PATH: dir },
    server: {
      PROTOCOL: 'http', HTTP_ADDR: '127.0.0.1', HTTP_PORT: String(port), ROOT_URL: `http://127.0.0.1:${port}/`, DOMAIN: '127.0.0.1',
      STATIC_ROOT_PATH: staticRoot, APP_DATA_PATH: join(dir, 'data'), OFFLINE_MODE: 'true', DISABLE_SSH: 'true', START_SSH_SERVER: 'false', LFS_START_SERVER: 'false',
    },
    database: { DB_TYPE: 'sqlite3', PATH: join(dir, 'gitea.db'), SQLITE_JOURNAL_MODE: 'WAL' },
    repository: { ROOT: join(dir, 'repos'), DEFAULT_BRANCH: 'main' },
    security: { INSTALL_LOCK: 'true', SECRET_KEY: randomBytes(24).toString('hex'), INTERNAL_TOKEN: randomBytes(48).toString('hex'), PASSWORD_HASH_ALGO: 'pbkdf2' },
    service: { DISABLE_REGISTRATION: 'true', DEFAULT_KEEP_EMAIL_PRIVATE: 'true' },
    log: { MODE: 'console', LEVEL: 'Warn', ROOT_PATH: join(dir, 'log') },
    webhook: { ALLOWED_HOST_LIST: 'loopback', DELIVER_TIMEOUT: '5' },
    indexer: { ISSUE_INDEXER_TYPE: 'db', REPO_INDEXER_ENABLED: 'false' },
    session: { PROVIDER: 'memory' },
    cache: { ADAPTER: 'memory' },
    mailer: { ENABLED: 'false' },
    actions: { ENABLED: 'false' },
    picture: { DISABLE_GRAVATAR: 'true', ENABLE_FEDERATED_AVATAR: 'false' },
    oauth2: { JWT_SECRET: randomBytes(32).toString('base64url') },
    'cron.update_checker': { ENABLED: 'false' },
  };
  for (const [section, values] of Object.entries(extra)) sections[section] = { ...sections[section], ...values };
  return Object.entries(sections)
    .map(([section, values]) => `${section ? `[${section}]\n` : ''}${Object.entries(values).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`)
    .join('\n');
}

async function client(url: string, gitea: ServerProcess, dir: HarnessTempDir, credentials: { username: string; password: string }): Promise<TestGitea> {
  async function request<T>(method: string, path: string, body: unknown, authorization: string): Promise<T> {
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: { authorization, accept: 'application/json', ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`gitea ${method} ${path}: HTTP ${res.status} ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  }
  const basic = (u: { username: string; password: string }) => `Basic ${Buffer.from(`${u.username}:${u.password}`).toString('base64')}`;
  const newToken = async (u: { username: string; password: string }) =>
    (await request<{ sha1: string }>('POST', `/users/${u.username}/tokens`, { name: `converge-${randomBytes(4).toString('hex')}`, scopes: ['all'] }, basic(u))).sha1;

  const admin: GiteaUser = { ...credentials, token: await newToken(credentials) };
  const api = <T>(method: string, path: string, body?: unknown, as: GiteaUser = admin) => request<T>(method, path, body, `token ${as.token}`);

  return {
    url,
    admin,
    api,
    async createUser(username) {
      const password = `pw-${randomBytes(12).toString('hex')}`;
      await api('POST', '/admin/users', { username, password, email: `${username}@example.test`, must_change_password: false });
      return { username, password, token: await newToken({ username, password }) };
    },
    async createRepo(name) {
      await api('POST', '/user/repos', { name, auto_init: true, default_branch: 'main', private: false });
      return `${admin.username}/${name}`;
    },
    cloneUrl: (repository) => `${url}/${repository}.git`,
    async commitFiles(repository, files, message, o = {}) {
      const branch = o.branch ?? 'main';
      const operations = Object.entries(files).map(([path, content]) =>
        content === null ? { operation: 'delete', path } : { operation: 'upload', path, content: Buffer.from(content).toString('base64') },
      );
      // Deleting needs the blob's SHA.
      for (const op of operations) {
        if (op.operation !== 'delete') continue;
        const file = await api<{ sha: string }>('GET', `/repos/${repository}/contents/${op.path}?ref=${o.from ?? branch}`);
        Object.assign(op, { sha: file.sha });
      }
      const result = await api<{ commit: { sha: string } }>('POST', `/repos/${repository}/contents`, {
        files: operations,
        message,
        ...(o.from ? { branch: o.from, new_branch: branch } : { branch }),
      });
      return result.commit.sha;
    },
    async createLabel(repository, name, color = '#00aabb') {
      await api('POST', `/repos/${repository}/labels`, { name, color });
    },
    async addCollaborator(repository, username) {
      await api('PUT', `/repos/${repository}/collaborators/${username}`, { permission: 'write' });
    },
    logTail: (lines) => gitea.logTail(lines),
    async stop() {
      await gitea.stop();
      await dir.remove();
    },
  };
}
