import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, request, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { gitSource } from '../src/index.js';
import { startGitServer, type GitServer } from '../src/testing/index.js';
import { readAll, tempDir } from './helpers.js';

let git: GitServer;
let dir: { path: string; remove: () => Promise<void> };
let tlsFront: Server;
let proxy: Server;
let httpsUrl: string;
let proxyUrl: string;
const proxied: string[] = [];
const tunnels = new Set<{ destroy: () => void }>();

const listen = (server: Server): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

beforeAll(async () => {
  git = await startGitServer();
  await git.createRepo('tls');
  await git.commitFiles('tls', { 'app.yaml': 'tls: true\n' }, 'one');
  dir = await tempDir();
  // A self-signed certificate for 127.0.0.1, made with openssl.
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', join(dir.path, 'key.pem'), '-out', join(dir.path, 'cert.pem'),
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'ignore' });
  // An HTTPS front that terminates TLS and forwards to the git server.
  const upstream = new URL(git.url);
  tlsFront = createHttpsServer({ key: readFileSync(join(dir.path, 'key.pem')), cert: readFileSync(join(dir.path, 'cert.pem')) }, (req, res) => {
    const fwd = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(fwd);
  }) as unknown as Server;
  httpsUrl = `https://127.0.0.1:${await listen(tlsFront)}/tls.git`;
  // A forward proxy: CONNECT tunnels and absolute-URI requests.
  proxy = createHttpServer((req, res) => {
    proxied.push(`${req.method} ${req.url}`);
    const target = new URL(req.url ?? '');
    const fwd = request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(fwd);
  });
  proxy.on('connect', (req, socket, head) => {
    proxied.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    const upstreamSocket = connect(Number(port), host);
    tunnels.add(socket);
    tunnels.add(upstreamSocket);
    socket.on('error', () => upstreamSocket.destroy());
    upstreamSocket.on('error', () => socket.destroy());
    upstreamSocket.on('connect', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstreamSocket.write(head);
      upstreamSocket.pipe(socket);
      socket.pipe(upstreamSocket);
    });
  });
  proxyUrl = `http://127.0.0.1:${await listen(proxy)}`;
});
afterAll(async () => {
  for (const t of tunnels) t.destroy();
  tlsFront.closeAllConnections();
  proxy.closeAllConnections();
  await new Promise((r) => tlsFront.close(r));
  await new Promise((r) => proxy.close(r));
  await git.close();
  await dir.remove();
});

test('an HTTPS server with an untrusted certificate is a clear GIT_TLS_FAILED error', async () => {
  const source = gitSource({ url: httpsUrl, cacheDir: join(dir.path, 'c1') });
  await expect(source.latestRevision()).rejects.toMatchObject({ code: 'GIT_TLS_FAILED', message: expect.stringMatching(/caFile/) });
});

test('caFile makes a private CA trusted', async () => {
  const source = gitSource({ url: httpsUrl, caFile: join(dir.path, 'cert.pem'), cacheDir: join(dir.path, 'c2') });
  expect(await readAll((await source.fetch()).files)).toEqual({ 'app.yaml': 'tls: true\n' });
});

test('HTTPS goes through an HTTP proxy with CONNECT', async () => {
  proxied.length = 0;
  const source = gitSource({ url: httpsUrl, ca: readFileSync(join(dir.path, 'cert.pem'), 'utf8'), proxy: proxyUrl, cacheDir: join(dir.path, 'c3') });
  expect(await readAll((await source.fetch()).files)).toEqual({ 'app.yaml': 'tls: true\n' });
  expect(proxied.length).toBeGreaterThan(0);
  expect(proxied.every((p) => p === `CONNECT ${new URL(httpsUrl).host}`)).toBe(true);
});

test('plain HTTP goes through the proxy with absolute URIs', async () => {
  proxied.length = 0;
  const source = gitSource({ url: git.repoUrl('tls'), proxy: proxyUrl, cacheDir: join(dir.path, 'c4') });
  expect(await readAll((await source.fetch()).files)).toEqual({ 'app.yaml': 'tls: true\n' });
  expect(proxied).toContain(`GET ${git.url}/tls.git/info/refs?service=git-upload-pack`);
  expect(proxied).toContain(`POST ${git.url}/tls.git/git-upload-pack`);
});
