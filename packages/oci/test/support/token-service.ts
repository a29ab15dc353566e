import { createPrivateKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';

/**
 * A registry token service (the Docker "token auth" protocol) for tests: it issues ES256 JWTs
 * that a real registry (CNCF distribution) configured with `auth.token` verifies against a self-signed
 * certificate. Only the given user gets tokens; each token grants exactly the scopes asked for.
 */
export interface TokenService {
  /** `127.0.0.1:<port>`: the token service's host, as it appears in the realm. */
  host: string;
  /** The `auth:` section to give the registry. */
  authConfig: Record<string, unknown>;
  /** Mints a token directly (for the test helper's own pushes). */
  mint(scope: string): string;
  /** Token requests seen: scope and whether credentials came with them. */
  requests: { scope: string[]; service: string | null; user?: string }[];
  close(): Promise<void>;
}

const SERVICE = 'converge-test-registry';
const ISSUER = 'converge-test-token-service';

export async function startTokenService(options: { username: string; password: string; certPath: string }): Promise<TokenService> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cert = selfSignedCertificate(privateKey, publicKey, 'converge test token signer');
  writeFileSync(options.certPath, `-----BEGIN CERTIFICATE-----\n${cert.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`);
  const requests: TokenService['requests'] = [];

  const mint = (scopes: string[], subject: string) => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.flatMap((s) => {
      const [type, ...rest] = s.split(':');
      const actions = rest.pop();
      return type && actions ? [{ type, name: rest.join(':'), actions: actions.split(',') }] : [];
    });
    const header = { typ: 'JWT', alg: 'ES256', x5c: [cert.toString('base64')] };
    const claims = { iss: ISSUER, sub: subject, aud: SERVICE, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    return `${input}.${signature.toString('base64url')}`;
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const scope = url.searchParams.getAll('scope');
    const [scheme, value] = (req.headers.authorization ?? '').split(' ');
    const [user, password] = scheme === 'Basic' && value ? Buffer.from(value, 'base64').toString().split(':') : [];
    requests.push({ scope, service: url.searchParams.get('service'), ...(user && { user }) });
    if (user !== options.username || password !== options.password) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"incorrect username or password"}');
      return;
    }
    const token = mint(scope, user);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  return {
    host: `127.0.0.1:${port}`,
    authConfig: { token: { realm: `http://127.0.0.1:${port}/token`, service: SERVICE, issuer: ISSUER, rootcertbundle: options.certPath } },
    mint: (scope) => mint([scope], options.username),
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function b64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

// A minimal DER encoder: just what a self-signed ECDSA P-256 certificate needs.
function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}
const seq = (...parts: Buffer[]) => tlv(0x30, ...parts);
const oid = (text: string) => {
  const [a = 0, b = 0, ...rest] = text.split('.').map(Number);
  const bytes = [40 * a + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
};
const utcTime = (d: Date) => tlv(0x17, Buffer.from(`${d.toISOString().slice(2, 19).replace(/[-:T]/g, '')}Z`));
const name = (cn: string) => seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn)))));

function selfSignedCertificate(privateKey: KeyObject, publicKey: KeyObject, cn: string): Buffer {
  const algorithm = seq(oid('1.2.840.10045.4.3.2')); // ecdsa-with-SHA256
  const now = Date.now();
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // version 3
    tlv(0x02, Buffer.from([0x01, ...Array.from({ length: 8 }, () => Math.floor(Math.random() * 256))])),
    algorithm,
    name(cn),
    seq(utcTime(new Date(now - 3600_000)), utcTime(new Date(now + 24 * 3600_000))),
    name(cn),
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' })));
  return seq(tbs, algorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
}
