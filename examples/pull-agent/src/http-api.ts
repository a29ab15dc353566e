import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AnyAppSpec, Fleet } from '@converge/fleet';
import type { Registry } from 'prom-client';

/** What the HTTP API serves. */
export interface HttpApiOptions {
  fleet: Fleet<AnyAppSpec>;
  registry: Registry;
  /** HMAC-SHA256 secret for POST /webhook (GitHub's `X-Hub-Signature-256`, or `X-Converge-Signature`). */
  webhookSecret?: string;
  /** Bearer token required by the control endpoints (`/suspend`, `/resume`, `/apps/…`) and `GET /status`, if any. */
  controlToken?: string;
  /** Whether the first sync is done, for GET /readyz. */
  readiness(): { ready: boolean; revision?: string; waitingFor: string[] };
}

/**
 * The agent's endpoints: `GET /healthz` (alive), `GET /readyz` (first sync done: the spec
 * folder was read and every application finished a pass),
 * `GET /metrics`, `GET /status`, `POST /webhook` (a push from the git host: reconcile now),
 * `POST /suspend` and `/resume` (the whole agent), `POST /apps/<name>/suspend|resume|reconcile`.
 */
export function createHttpApi(o: HttpApiOptions): Server {
  return createServer((req, res) => {
    handle(o, req, res).catch((error: Error) => send(res, 500, { error: error.message }));
  });
}

async function handle(o: HttpApiOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://agent');
  const route = `${req.method} ${url.pathname}`;
  const app = /^POST \/apps\/([a-z0-9-]+)\/(suspend|resume|reconcile)$/.exec(route);
  if (route === 'GET /healthz') return send(res, 200, { ok: true });
  if (route === 'GET /readyz') {
    const readiness = o.readiness();
    return send(res, readiness.ready ? 200 : 503, readiness);
  }
  if (route === 'GET /metrics') {
    res.writeHead(200, { 'content-type': o.registry.contentType });
    return void res.end(await o.registry.metrics());
  }
  // Status names objects, revisions and error messages: as private as the controls.
  if (route === 'GET /status' && o.controlToken && !bearerValid(o.controlToken, req)) {
    return send(res, 401, { error: '/status needs Authorization: Bearer <token>' });
  }
  if (route === 'GET /status') return send(res, 200, publicStatus(o.fleet));
  if (route === 'POST /webhook') {
    const body = await readBody(req);
    if (o.webhookSecret && !signatureValid(o.webhookSecret, body, req)) return send(res, 401, { error: 'bad or missing signature' });
    // The spec folder and every application poll now: a push may change either.
    o.fleet.trigger('webhook');
    const apps = Object.keys(o.fleet.status().apps);
    for (const name of apps) o.fleet.app(name)?.trigger('webhook');
    return send(res, 202, { triggered: [o.fleet.name, ...apps] });
  }
  if ((route === 'POST /suspend' || route === 'POST /resume' || app) && o.controlToken && !bearerValid(o.controlToken, req)) {
    return send(res, 401, { error: 'control endpoints need Authorization: Bearer <token>' });
  }
  if (route === 'POST /suspend') return o.fleet.suspend(), send(res, 200, { suspended: true });
  // Applications suspended one by one stay suspended.
  if (route === 'POST /resume') return o.fleet.resume(), send(res, 200, { suspended: false });
  if (app) {
    const [, name, action] = app as unknown as [string, string, 'suspend' | 'resume' | 'reconcile'];
    const reconciler = o.fleet.app(name);
    if (!reconciler) return send(res, 404, { error: `no app ${name}` });
    // Recorded by the fleet: it lasts across spec changes, agent-wide resumes and restarts.
    if (action === 'suspend') await o.fleet.suspendApp(name);
    else if (action === 'resume') await o.fleet.resumeApp(name);
    else reconciler.trigger('api');
    return send(res, 200, { app: name, suspended: reconciler.status().suspended });
  }
  send(res, 404, { error: `no route ${route}` });
}

/** Status as JSON: errors reduced to code and message. */
function publicStatus(fleet: Fleet<AnyAppSpec>): unknown {
  const { lastError, apps, ...rest } = fleet.status();
  return {
    ...rest,
    lastError: lastError && { code: lastError.code, message: lastError.message },
    apps: Object.fromEntries(
      Object.entries(apps).map(([name, s]) => [name, { ...s, lastError: s.lastError && { code: s.lastError.code, message: s.lastError.message } }]),
    ),
  };
}

function bearerValid(token: string, req: IncomingMessage): boolean {
  const given = Buffer.from(String(req.headers.authorization ?? ''));
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function signatureValid(secret: string, body: Buffer, req: IncomingMessage): boolean {
  const given = String(req.headers['x-hub-signature-256'] ?? req.headers['x-converge-signature'] ?? '');
  const expected = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1 << 20) throw new Error('webhook body over 1 MiB');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}
