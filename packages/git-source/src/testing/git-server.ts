import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { harnessTempDir } from '@converge/core/testing';
import { runGit } from './git-cli.js';

/** Credentials the test server requires. Any one accepted form lets a request in. */
export interface GitServerAuth {
  /** Required basic-auth user name (any name is accepted when only `password` or `token` is set). */
  username?: string;
  /** Required basic-auth password. */
  password?: string;
  /** A token accepted as the basic-auth password or as `Authorization: Bearer <token>`. */
  token?: string;
}

/** Options of {@link startGitServer}. */
export interface GitServerOptions {
  /** The folder that holds the bare repositories. @default a new temporary folder, removed by `close()` */
  root?: string;
  /** Require credentials on every request. @default no auth */
  auth?: GitServerAuth;
}

/** One request the server answered. */
export interface GitRequestLogEntry {
  /** HTTP method. */
  method: string;
  /** The path under the server, e.g. `/app.git/git-upload-pack`. */
  path: string;
  /** The query string without `?`, e.g. `service=git-upload-pack`. */
  query: string;
  /** The `Git-Protocol` request header, e.g. `version=2`. */
  gitProtocol?: string;
  /** For protocol v2 POSTs, the command: `ls-refs` or `fetch`. */
  command?: string;
  /** HTTP status answered. */
  status: number;
  /** Request body bytes. */
  bytesReceived: number;
  /** Response body bytes. */
  bytesSent: number;
  /** Whether the response carried pack data (a `PACK` stream). A poll must never do this. */
  packSent: boolean;
  /** The authenticated user, if any. */
  user?: string;
}

/** Files to write in a commit: path → content. */
export type TestFiles = Record<string, string | Uint8Array>;

/** Options of the commit helpers. */
export interface CommitOptions {
  /** @default 'main' */
  branch?: string;
  /** Commit date (ISO or git date format), for reproducible ids. */
  date?: string;
}

/**
 * How the server misbehaves for matching requests, to test what a client does with a server
 * that hangs: `silent` reads the request and never answers (no status, no headers); `body`
 * sends the real headers and the first `afterBytes` bytes of the body, then nothing more.
 * Stalled requests stay open until {@link GitServer.close}.
 */
export interface GitStall {
  /** `silent`: no response at all; `body`: headers and the start of the body, then silence. */
  mode: 'silent' | 'body';
  /**
   * Which requests stall, given the log entry once the request is read (its `command` is
   * known for protocol v2 POSTs).
   * @default every request
   */
  match?: (request: GitRequestLogEntry) => boolean;
  /** With `mode: 'body'`, how many body bytes are sent before the stall. @default 1 */
  afterBytes?: number;
}

/** A running git smart-HTTP server and helpers to shape its repositories. */
export interface GitServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The folder holding the bare repositories. */
  readonly root: string;
  /** Every request answered, oldest first. */
  readonly requests: GitRequestLogEntry[];
  /** The clone URL of a repository (`<url>/<name>.git`), optionally with credentials in it. */
  repoUrl(name: string, credentials?: { username: string; password: string }): string;
  /** Empties the request log. */
  clearLog(): void;
  /** Creates an empty bare repository `<name>.git` whose default branch is `main`. */
  createRepo(name: string, options?: { defaultBranch?: string }): Promise<string>;
  /** Commits files on a branch (created if missing) and returns the new commit id. */
  commitFiles(repo: string, files: TestFiles, message: string, options?: CommitOptions): Promise<string>;
  /** Commits the deletion of files (or folders) and returns the new commit id. */
  deleteFiles(repo: string, paths: readonly string[], message: string, options?: CommitOptions): Promise<string>;
  /** Creates or moves (`force`) a tag; annotated when `message` is given. Returns the tagged commit. */
  tag(repo: string, name: string, options?: { ref?: string; message?: string; force?: boolean }): Promise<string>;
  /** Sets a ref (e.g. `refs/pull/7/head`) to a commit. */
  setRef(repo: string, ref: string, commit: string): Promise<void>;
  /**
   * Rewrites a branch as a force-push would: replaces its tip with a new commit on the tip's
   * parent holding `files`, so the old tip is no longer reachable. Returns the new commit id.
   */
  forcePush(repo: string, files: TestFiles, message: string, options?: CommitOptions): Promise<string>;
  /** Resolves a ref (`main`, `v1.0.0`, a commit) in a repository to its commit id. */
  revParse(repo: string, ref: string): Promise<string>;
  /** Runs any git command inside a repository. */
  git(repo: string, args: readonly string[]): Promise<string>;
  /**
   * Makes matching requests hang (see {@link GitStall}) until the returned function is
   * called; requests stalled by then stay stalled.
   *
   * @example
   * ```ts
   * // Stall pack downloads (isomorphic-git fetches with protocol v1: no `command`).
   * const resume = server.stall({ mode: 'body', match: (r) => r.method === 'POST' && r.command !== 'ls-refs' });
   * await expect(source.fetch()).rejects.toMatchObject({ code: 'GIT_TIMEOUT' });
   * resume();
   * ```
   */
  stall(stall: GitStall): () => void;
  /** Stops the server (and removes `root` if the server created it). */
  close(): Promise<void>;
}

const PACK_SIGNATURE = Buffer.from('PACK\0\0\0', 'latin1');

/**
 * Starts a real git smart-HTTP server on 127.0.0.1 (random port): `git http-backend` run as a
 * CGI program, so fetch, push and protocol v2 behave exactly as a real server. Every request is
 * logged (method, path, bytes, whether a pack was sent) so tests can assert what a poll cost.
 *
 * @example
 * ```ts
 * const server = await startGitServer();
 * await server.createRepo('env');
 * await server.commitFiles('env', { 'app.yaml': 'kind: ConfigMap…' }, 'first');
 * const source = gitSource({ url: server.repoUrl('env'), ref: { branch: 'main' } });
 * // …
 * await server.close();
 * ```
 */
export async function startGitServer(options: GitServerOptions = {}): Promise<GitServer> {
  const rootDir = await serverRoot(options.root);
  const root = rootDir.path;
  const requests: GitRequestLogEntry[] = [];
  const auth = options.auth;
  let stalled: GitStall | undefined;

  const server = createServer((req, res) => {
    handle(req, res, root, auth, requests, () => stalled).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(e));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const repoDir = (name: string): string => join(root, name.endsWith('.git') ? name : `${name}.git`);
  const inRepo = async (repo: string, args: readonly string[], input?: string): Promise<string> =>
    (await runGit(args, { cwd: repoDir(repo), ...(input !== undefined && { input }) })).stdout.trim();

  async function writeCommit(
    repo: string,
    edit: (env: Record<string, string>) => Promise<void>,
    message: string,
    parent: string | undefined,
    o: CommitOptions,
  ): Promise<string> {
    const branch = o.branch ?? 'main';
    const scratch = await mkdtemp(join(tmpdir(), 'converge-git-index-'));
    try {
      const env: Record<string, string> = { GIT_INDEX_FILE: join(scratch, 'index') };
      if (o.date) Object.assign(env, { GIT_AUTHOR_DATE: o.date, GIT_COMMITTER_DATE: o.date });
      const cwd = repoDir(repo);
      await runGit(parent ? ['read-tree', parent] : ['read-tree', '--empty'], { cwd, env });
      await edit({ ...env, SCRATCH: scratch });
      const tree = (await runGit(['write-tree'], { cwd, env })).stdout.trim();
      const commit = (await runGit(['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', message], { cwd, env })).stdout.trim();
      return commit;
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  async function addFiles(repo: string, files: TestFiles, env: Record<string, string>): Promise<void> {
    const cwd = repoDir(repo);
    const scratch = env.SCRATCH!;
    const entries = Object.entries(files);
    if (entries.length === 0) return;
    const paths: string[] = [];
    await Promise.all(
      entries.map(async ([path], i) => {
        const file = join(scratch, 'files', String(i));
        paths[i] = file;
        await mkdir(dirname(file), { recursive: true });
      }),
    );
    for (const [i, [, content]] of entries.entries()) await writeFile(paths[i]!, content);
    const oids = (await runGit(['hash-object', '-w', '--stdin-paths'], { cwd, input: paths.join('\n') + '\n' })).stdout.trim().split('\n');
    const indexInfo = entries.map(([path], i) => `100644 ${oids[i]}\t${path.replace(/^\/+/, '')}`).join('\n') + '\n';
    await runGit(['update-index', '--index-info'], { cwd, env, input: indexInfo });
  }

  const tip = async (repo: string, branch: string): Promise<string | undefined> =>
    (await runGit(['rev-parse', '--verify', '-q', `refs/heads/${branch}`], { cwd: repoDir(repo) }).catch(() => undefined))?.stdout.trim() || undefined;

  return {
    url,
    root,
    requests,
    repoUrl(name, credentials) {
      const path = name.endsWith('.git') ? name : `${name}.git`;
      if (!credentials) return `${url}/${path}`;
      return `http://${encodeURIComponent(credentials.username)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/${path}`;
    },
    clearLog() {
      requests.length = 0;
    },
    async createRepo(name, o = {}) {
      const dir = repoDir(name);
      await runGit(['init', '--bare', '-q', '-b', o.defaultBranch ?? 'main', dir]);
      await runGit(['config', 'http.receivepack', 'true'], { cwd: dir });
      return dir;
    },
    async commitFiles(repo, files, message, o = {}) {
      const branch = o.branch ?? 'main';
      const parent = await tip(repo, branch);
      const commit = await writeCommit(repo, (env) => addFiles(repo, files, env), message, parent, o);
      await inRepo(repo, ['update-ref', `refs/heads/${branch}`, commit, ...(parent ? [parent] : [])]);
      return commit;
    },
    async deleteFiles(repo, paths, message, o = {}) {
      const branch = o.branch ?? 'main';
      const parent = await tip(repo, branch);
      if (!parent) throw new Error(`${repo}: branch ${branch} does not exist`);
      const commit = await writeCommit(
        repo,
        async (env) => {
          const workTree = join(env.SCRATCH!, 'worktree');
          await mkdir(workTree, { recursive: true });
          await runGit(['rm', '--cached', '-r', '-q', '--ignore-unmatch', '--', ...paths], {
            cwd: repoDir(repo),
            env: { ...env, GIT_WORK_TREE: workTree },
          });
        },
        message,
        parent,
        o,
      );
      await inRepo(repo, ['update-ref', `refs/heads/${branch}`, commit, parent]);
      return commit;
    },
    async tag(repo, name, o = {}) {
      const args = ['tag', ...(o.force ? ['-f'] : []), ...(o.message !== undefined ? ['-a', '-m', o.message] : []), name, o.ref ?? 'main'];
      await inRepo(repo, args);
      return inRepo(repo, ['rev-parse', `refs/tags/${name}^{commit}`]);
    },
    async setRef(repo, ref, commit) {
      await inRepo(repo, ['update-ref', ref, commit]);
    },
    async forcePush(repo, files, message, o = {}) {
      const branch = o.branch ?? 'main';
      const old = await tip(repo, branch);
      if (!old) throw new Error(`${repo}: branch ${branch} does not exist`);
      const base = (await runGit(['rev-parse', '--verify', '-q', `${old}^`], { cwd: repoDir(repo) }).catch(() => undefined))?.stdout.trim() || undefined;
      const commit = await writeCommit(repo, (env) => addFiles(repo, files, env), message, base, o);
      await inRepo(repo, ['update-ref', `refs/heads/${branch}`, commit, old]);
      return commit;
    },
    async revParse(repo, ref) {
      return inRepo(repo, ['rev-parse', `${ref}^{commit}`]);
    },
    async git(repo, args) {
      return inRepo(repo, args);
    },
    stall(stall) {
      stalled = stall;
      return () => {
        if (stalled === stall) stalled = undefined;
      };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rootDir.remove();
    },
  };
}

/** The given folder (kept), or a temp dir of the server's own: removed by close(), or when the test run dies before that. */
async function serverRoot(root: string | undefined): Promise<{ path: string; remove(): Promise<void> }> {
  if (root === undefined) return harnessTempDir({ prefix: 'converge-git-server-' });
  await mkdir(root, { recursive: true });
  return { path: root, remove: async () => {} };
}

function authorise(req: IncomingMessage, auth: GitServerAuth | undefined): { ok: boolean; user?: string } {
  if (!auth) return { ok: true };
  const header = req.headers.authorization ?? '';
  const [scheme, value = ''] = header.split(' ');
  if (scheme?.toLowerCase() === 'bearer') return { ok: auth.token !== undefined && value === auth.token, user: 'token' };
  if (scheme?.toLowerCase() !== 'basic') return { ok: false };
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = decoded.slice(0, colon);
  const pass = decoded.slice(colon + 1);
  if (auth.token !== undefined && pass === auth.token) return { ok: true, user: user || 'token' };
  if (auth.password !== undefined && pass === auth.password && (auth.username === undefined || user === auth.username)) return { ok: true, user };
  return { ok: false };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  root: string,
  auth: GitServerAuth | undefined,
  log: GitRequestLogEntry[],
  currentStall: () => GitStall | undefined,
): Promise<void> {
  const target = new URL(req.url ?? '/', 'http://localhost');
  const entry: GitRequestLogEntry = {
    method: req.method ?? 'GET',
    path: decodeURIComponent(target.pathname),
    query: target.search.replace(/^\?/, ''),
    status: 0,
    bytesReceived: 0,
    bytesSent: 0,
    packSent: false,
  };
  const protocol = req.headers['git-protocol'];
  if (typeof protocol === 'string') entry.gitProtocol = protocol;
  log.push(entry);
  const who = authorise(req, auth);
  if (!who.ok) {
    entry.status = 401;
    req.resume();
    res.writeHead(401, { 'www-authenticate': 'Basic realm="converge test git server"', 'content-type': 'text/plain' });
    res.end('authentication required\n');
    return;
  }
  if (who.user) entry.user = who.user;

  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.receivepack',
    GIT_CONFIG_VALUE_0: 'true',
    PATH_INFO: entry.path,
    QUERY_STRING: entry.query,
    REQUEST_METHOD: entry.method,
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    REMOTE_USER: who.user ?? 'anonymous',
    SERVER_PROTOCOL: 'HTTP/1.1',
    GATEWAY_INTERFACE: 'CGI/1.1',
  };
  if (req.headers['content-type']) env.CONTENT_TYPE = req.headers['content-type'];
  if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
  if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
  if (typeof protocol === 'string') env.GIT_PROTOCOL = protocol;

  const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let head = Buffer.alloc(0);
  req.on('data', (chunk: Buffer) => {
    if (entry.bytesReceived < 512 && !req.headers['content-encoding']) {
      head = Buffer.concat([head, chunk]).subarray(0, 512);
      const m = /command=([a-z-]+)/.exec(head.toString('latin1'));
      if (m) entry.command = m[1]!;
    }
    entry.bytesReceived += chunk.byteLength;
  });
  req.pipe(child.stdin);
  child.stdin.on('error', () => undefined);
  const stderr: Buffer[] = [];
  child.stderr.on('data', (d: Buffer) => stderr.push(d));

  let headerBuf = Buffer.alloc(0);
  let headersDone = false;
  let tail = Buffer.alloc(0);
  const scan = (chunk: Buffer): void => {
    if (entry.packSent) return;
    const window = Buffer.concat([tail, chunk]);
    if (window.includes(PACK_SIGNATURE)) entry.packSent = true;
    tail = window.subarray(Math.max(0, window.length - PACK_SIGNATURE.length));
  };
  // Decided once the request is read and the backend starts answering.
  let stall: GitStall | undefined;
  let stallBudget = 0;
  const send = (chunk: Buffer): void => {
    if (stall) {
      if (stall.mode === 'silent' || stallBudget <= 0) return;
      chunk = chunk.subarray(0, stallBudget);
      stallBudget -= chunk.byteLength;
    }
    entry.bytesSent += chunk.byteLength;
    scan(chunk);
    res.write(chunk);
  };
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) {
      send(chunk);
      return;
    }
    headerBuf = Buffer.concat([headerBuf, chunk]);
    let end = headerBuf.indexOf('\r\n\r\n');
    let sep = 4;
    if (end === -1) {
      end = headerBuf.indexOf('\n\n');
      sep = 2;
    }
    if (end === -1) return;
    headersDone = true;
    const rule = currentStall();
    if (rule && (rule.match?.(entry) ?? true)) {
      stall = rule;
      stallBudget = rule.afterBytes ?? 1;
      if (rule.mode === 'silent') return;
    }
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of headerBuf.subarray(0, end).toString('latin1').split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon === -1) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
      else headers[name] = value;
    }
    entry.status = status;
    res.writeHead(status, headers);
    if (stall) res.flushHeaders();
    const rest = headerBuf.subarray(end + sep);
    if (rest.length > 0) send(rest);
  });
  await new Promise<void>((resolve) => {
    child.on('close', (code) => {
      if (!headersDone) {
        entry.status = 500;
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.write(`git http-backend exited with ${code}: ${Buffer.concat(stderr).toString()}`);
      }
      // A stalled response is never finished: the client must give up on its own.
      if (!stall) res.end();
      resolve();
    });
  });
}
