import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { OciError } from '../src/oci-error.js';
import { RegistryClient, sha256 } from '../src/registry-client.js';

// Hostile or broken registries are plain node servers here: the behaviours under test (a token
// realm elsewhere, redirects, lying digests, hanging) are what a real registry does not do.
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse, seen: Seen[]) => void): Promise<{ host: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method!, path: req.url!, authorization: req.headers.authorization });
    handler(req, res, seen);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { host: `127.0.0.1:${(server.address() as { port: number }).port}`, seen };
}

const password = 's3cr3t-pa55word';
const credentials = { username: 'ci', password };
const digestOf = (text: string) => sha256(Buffer.from(text));

describe('RegistryClient credentials', () => {
  it('never sends credentials to a token realm on another host over plain HTTP, even for a registry marked insecure', async () => {
    const realm = await serve((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'anonymous-token' })));
    const registry = await serve((req, res) => {
      if (req.headers.authorization === 'Bearer anonymous-token') return res.writeHead(200, { 'docker-content-digest': digestOf('m') }).end();
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${realm.host}/token",service="reg",scope="repository:acme/app:pull"` }).end();
    });
    const client = new RegistryClient({ registry: registry.host, insecure: true, credentials });
    await expect(client.resolve('acme/app', 'v1')).resolves.toEqual({ digest: digestOf('m') });
    expect(realm.seen).toHaveLength(1);
    expect(realm.seen[0]!.authorization).toBeUndefined();
    expect(realm.seen[0]!.path).toContain('scope=repository%3Aacme%2Fapp%3Apull');
  });

  it('sends credentials to a token realm on the insecure registry host itself, and the token only to the registry', async () => {
    let host = '';
    const registry = await serve((req, res) => {
      if (req.url!.startsWith('/token')) {
        const ok = req.headers.authorization === `Basic ${Buffer.from(`ci:${password}`).toString('base64')}`;
        return res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(JSON.stringify(ok ? { access_token: 't0k3n' } : {}));
      }
      if (req.headers.authorization === 'Bearer t0k3n') return res.writeHead(200, { 'docker-content-digest': digestOf('m') }).end();
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="reg"` }).end();
    });
    host = registry.host;
    const client = new RegistryClient({ registry: registry.host, insecure: true, credentials });
    await client.resolve('acme/app', 'v1');
    await client.resolve('acme/app', 'v2');
    // One token per scope: the second lookup reuses it.
    expect(registry.seen.filter((s) => s.path.startsWith('/token'))).toHaveLength(1);
  });

  it('drops the Authorization header when a redirect leaves the registry host', async () => {
    const cdn = await serve((req, res) => res.writeHead(200).end('layer'));
    const registry = await serve((req, res) => {
      if (!req.headers.authorization) return res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
      res.writeHead(307, { location: `http://${cdn.host}/blob?sig=1` }).end();
    });
    const client = new RegistryClient({ registry: registry.host, insecure: true, credentials });
    // The CDN is plain HTTP on another host: refused, and it never saw a request.
    await expect(client.blob('acme/app', digestOf('layer'))).rejects.toMatchObject({ code: 'OCI_REDIRECT_REFUSED' });
    expect(cdn.seen).toHaveLength(0);
    expect(registry.seen.at(-1)!.authorization).toMatch(/^Basic /);
  });

  it('follows a redirect on the registry host with credentials, and reports no secret in any error', async () => {
    const registry = await serve((req, res) => {
      if (req.url!.includes('/blobs/')) return res.writeHead(307, { location: '/elsewhere' }).end();
      res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end(`wrong password ${req.headers.authorization}`);
    });
    const client = new RegistryClient({ registry: registry.host, insecure: true, credentials });
    const error = await client.blob('acme/app', digestOf('x')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OciError);
    expect((error as OciError).code).toBe('OCI_DENIED');
    expect(registry.seen.filter((s) => s.path === '/elsewhere').map((s) => s.authorization?.split(' ')[0])).toContain('Basic');
    const text = JSON.stringify({ message: (error as Error).message, data: (error as OciError).data, cause: String((error as Error).cause) });
    expect(text).not.toContain(password);
    expect(text).not.toContain(Buffer.from(`ci:${password}`).toString('base64'));
  });
});

describe('RegistryClient against bad registries', () => {
  it('refuses a blob whose content does not hash to its digest', async () => {
    const registry = await serve((req, res) => res.writeHead(200).end('tampered'));
    const client = new RegistryClient({ registry: registry.host, insecure: true });
    await expect(client.blob('acme/app', digestOf('original'))).rejects.toMatchObject({ code: 'OCI_DIGEST_MISMATCH' });
  });

  it('refuses a manifest fetched by digest that hashes to something else', async () => {
    const registry = await serve((req, res) => res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end('{"schemaVersion":2}'));
    const client = new RegistryClient({ registry: registry.host, insecure: true });
    await expect(client.manifest('acme/app', digestOf('{}'))).rejects.toMatchObject({ code: 'OCI_DIGEST_MISMATCH' });
  });

  it('stops reading a body that runs past its limit, with or without a Content-Length', async () => {
    const declared = await serve((req, res) => res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) }).end());
    await expect(new RegistryClient({ registry: declared.host, insecure: true }).manifest('a/b', 'v1')).rejects.toMatchObject({ code: 'OCI_TOO_LARGE' });

    let sent = 0;
    const endless = await serve((req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (sent < 512 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    await expect(new RegistryClient({ registry: endless.host, insecure: true }).blob('a/b', digestOf('x'), { maxBytes: 1024 * 1024 })).rejects.toMatchObject({
      code: 'OCI_TOO_LARGE',
    });
    expect(sent).toBeLessThan(64 * 1024 * 1024);
  });

  it('gives up on a registry that never answers within the deadline, as OCI_UNREACHABLE', async () => {
    const silent = await serve(() => undefined);
    const client = new RegistryClient({ registry: silent.host, insecure: true, timeoutMs: 300, retries: 0 });
    const started = Date.now();
    const error = await client.resolve('acme/app', 'v1').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'OCI_UNREACHABLE', data: { retryable: true } });
    expect((error as Error).message).toContain('no answer within 300 ms');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('retries reads on 429 and 503, honouring Retry-After, and does not retry writes', async () => {
    const registry = await serve((req, res, seen) => {
      if (req.method === 'PUT') return res.writeHead(503).end();
      if (seen.length === 1) return res.writeHead(429, { 'retry-after': '0' }).end();
      if (seen.length === 2) return res.writeHead(503).end();
      res.writeHead(200, { 'docker-content-digest': digestOf('m') }).end();
    });
    const client = new RegistryClient({ registry: registry.host, insecure: true });
    await expect(client.resolve('acme/app', 'v1')).resolves.toEqual({ digest: digestOf('m') });
    expect(registry.seen).toHaveLength(3);
    await expect(client.pushManifest('acme/app', 'v1', 'application/vnd.oci.image.manifest.v1+json', Buffer.from('{}'))).rejects.toMatchObject({
      code: 'OCI_REGISTRY_ERROR',
      data: { status: 503, retryable: true },
    });
    expect(registry.seen).toHaveLength(4);
  });

  it('reports an unsupported auth scheme and a token service without a realm as OCI_DENIED', async () => {
    const ntlm = await serve((req, res) => res.writeHead(401, { 'www-authenticate': 'NTLM' }).end());
    await expect(new RegistryClient({ registry: ntlm.host, insecure: true, credentials }).resolve('a/b', 'v1')).rejects.toMatchObject({
      code: 'OCI_DENIED',
      message: expect.stringContaining('unsupported auth scheme "ntlm"'),
    });
    const noRealm = await serve((req, res) => res.writeHead(401, { 'www-authenticate': 'Bearer service="x"' }).end());
    await expect(new RegistryClient({ registry: noRealm.host, insecure: true }).resolve('a/b', 'v1')).rejects.toMatchObject({
      code: 'OCI_DENIED',
      message: expect.stringContaining('no realm'),
    });
  });

  it('follows tag list pages', async () => {
    const registry = await serve((req, res) => {
      if (req.url!.includes('last=b')) return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ tags: ['c'] }));
      res.writeHead(200, { 'content-type': 'application/json', link: '</v2/acme/app/tags/list?n=2&last=b>; rel="next"' }).end(JSON.stringify({ tags: ['a', 'b'] }));
    });
    await expect(new RegistryClient({ registry: registry.host, insecure: true }).tags('acme/app')).resolves.toEqual(['a', 'b', 'c']);
  });
});
