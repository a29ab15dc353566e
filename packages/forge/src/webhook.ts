import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toConvergeError, type ConvergeError } from '@converge/core';
import { ForgeError } from './forge-error.js';

/** A verified webhook delivery, reduced to what triggers a pass. */
export type ForgeWebhookEvent =
  | { kind: 'merge_request'; forge: WebhookForge; number: number; action: string }
  | { kind: 'push'; forge: WebhookForge; ref: string; after: string }
  /** Any other event (ping, issue, …): verified, nothing to do. */
  | { kind: 'other'; forge: WebhookForge; name: string };

/** The forge that sends the webhook. */
export type WebhookForge = 'gitea' | 'github' | 'gitlab';

/** Options of {@link parseWebhook}. */
export interface ParseWebhookOptions {
  /** Which forge sends it. */
  forge: WebhookForge;
  /** The webhook's secret (Gitea, GitHub: the HMAC key; GitLab: the secret token). */
  secret: string;
  /** The request headers (lower-case names, as Node gives them). */
  headers: Record<string, string | string[] | undefined>;
  /** The raw body, exactly as received. */
  body: string | Uint8Array;
}

const header = (headers: ParseWebhookOptions['headers'], name: string): string => {
  const value = headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
};

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Verifies a webhook delivery and says what it is about: Gitea's `X-Gitea-Signature` (hex
 * HMAC-SHA256 of the body), GitHub's `X-Hub-Signature-256` (`sha256=` + hex) or GitLab's
 * `X-Gitlab-Token` (the secret itself), compared in constant time.
 *
 * @throws {@link ForgeError} `WEBHOOK_SIGNATURE_INVALID` (no secret, no or wrong signature) or
 * `WEBHOOK_PAYLOAD_INVALID` (not the JSON the forge documents).
 */
export function parseWebhook(options: ParseWebhookOptions): ForgeWebhookEvent {
  const { forge, secret, headers } = options;
  const body = typeof options.body === 'string' ? Buffer.from(options.body) : Buffer.from(options.body);
  const bad = (why: string): never => {
    throw new ForgeError('WEBHOOK_SIGNATURE_INVALID', `${forge} webhook: ${why}; check that the webhook's secret matches`, { data: { forge } });
  };
  if (!secret) bad('no secret configured, so no delivery can be trusted');
  const hmac = () => createHmac('sha256', secret).update(body).digest('hex');
  if (forge === 'gitea') {
    const given = header(headers, 'x-gitea-signature');
    if (!given) bad('no X-Gitea-Signature header');
    if (!sameText(given, hmac())) bad('X-Gitea-Signature does not match the body');
  } else if (forge === 'github') {
    const given = header(headers, 'x-hub-signature-256');
    if (!given) bad('no X-Hub-Signature-256 header');
    if (!sameText(given, `sha256=${hmac()}`)) bad('X-Hub-Signature-256 does not match the body');
  } else {
    const given = header(headers, 'x-gitlab-token');
    if (!given) bad('no X-Gitlab-Token header');
    if (!sameText(given, secret)) bad('X-Gitlab-Token is not the secret');
  }

  const invalid = (why: string): never => {
    throw new ForgeError('WEBHOOK_PAYLOAD_INVALID', `${forge} webhook: ${why}`, { data: { forge } });
  };
  let payload: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) invalid('the body is not a JSON object');
    payload = parsed as Record<string, unknown>;
  } catch (e) {
    if (e instanceof ForgeError) throw e;
    return invalid('the body is not JSON');
  }
  const name = forge === 'gitea' ? header(headers, 'x-gitea-event') : forge === 'github' ? header(headers, 'x-github-event') : header(headers, 'x-gitlab-event');
  const object = (v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

  if (forge === 'gitlab' ? payload['object_kind'] === 'merge_request' : name.startsWith('pull_request')) {
    const attrs = forge === 'gitlab' ? object(payload['object_attributes']) : payload;
    const number = forge === 'gitlab' ? attrs['iid'] : (payload['number'] ?? object(payload['pull_request'])['number']);
    if (typeof number !== 'number') invalid(`a ${name || 'merge request'} event without a ${forge === 'gitlab' ? 'object_attributes.iid' : 'number'}`);
    const action = attrs['action'];
    return { kind: 'merge_request', forge, number: number as number, action: typeof action === 'string' ? action : '' };
  }
  if (forge === 'gitlab' ? payload['object_kind'] === 'push' : name === 'push') {
    const { ref, after } = payload;
    if (typeof ref !== 'string' || typeof after !== 'string') invalid('a push event without ref and after');
    return { kind: 'push', forge, ref: ref as string, after: after as string };
  }
  return { kind: 'other', forge, name: name || String(payload['object_kind'] ?? 'unknown') };
}

/** Options of {@link webhookHandler}. */
export interface WebhookHandlerOptions {
  /** Which forge sends it. */
  forge: WebhookForge;
  /** The webhook's secret. */
  secret: string;
  /** Called for each verified delivery, e.g. `() => fleet.trigger('webhook')`. */
  onEvent: (event: ForgeWebhookEvent) => void;
  /** Called for each rejected delivery (bad signature or payload, too large). @default nothing */
  onReject?: (error: ConvergeError) => void;
  /** Largest body accepted, in bytes. @default 1048576 */
  maxBodyBytes?: number;
}

/**
 * A Node HTTP request listener for forge webhooks: reads the body (up to `maxBodyBytes`),
 * verifies it with {@link parseWebhook} and calls `onEvent`. Answers 204 for a verified
 * delivery, 401 for a bad signature, 400 for a bad payload, 413 for one too large, 405 for
 * anything but POST; it never throws, and `onEvent` errors do not reach the forge.
 *
 * @example
 * ```ts
 * createServer(webhookHandler({ forge: 'gitea', secret, onEvent: () => fleet.trigger('webhook') })).listen(8080);
 * ```
 */
export function webhookHandler(options: WebhookHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const max = options.maxBodyBytes ?? 1_048_576;
  return (req, res) => {
    const answer = (status: number, text = '') => {
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(text);
    };
    if (req.method !== 'POST') return answer(405, 'POST only\n');
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > max) {
        done = true;
        options.onReject?.(new ForgeError('WEBHOOK_PAYLOAD_INVALID', `${options.forge} webhook: body larger than ${max} bytes`, { data: { forge: options.forge } }));
        answer(413, 'too large\n');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => {
      done = true;
      answer(400);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      let event: ForgeWebhookEvent;
      try {
        event = parseWebhook({ forge: options.forge, secret: options.secret, headers: req.headers, body: Buffer.concat(chunks) });
      } catch (thrown) {
        const error = toConvergeError(thrown);
        try {
          options.onReject?.(error);
        } catch {
          // a throwing handler must not break the answer
        }
        return answer(error.code === 'WEBHOOK_SIGNATURE_INVALID' ? 401 : 400, `${error.code}\n`);
      }
      try {
        options.onEvent(event);
      } catch {
        // the delivery was fine; the receiver's own failure is not the forge's business
      }
      answer(204);
    });
  };
}
