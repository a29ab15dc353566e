import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotifyError, webhookNotifier, type Notification, type WebhookPayload } from '../src/index.js';
import { startHttpReceiver, type HttpReceiver } from './support/http-receiver.js';

const failed: Notification = {
  type: 'failed',
  reconciler: 'web',
  revision: 'sha256:abc',
  at: Date.UTC(2025, 0, 2, 3, 4, 5),
  error: { code: 'GATE_BLOCKED', message: 'gate images-exist: image app:1 not found — has CI pushed it yet?' },
  failures: 1,
};

let receiver: HttpReceiver;
beforeEach(async () => {
  receiver = await startHttpReceiver();
});
afterEach(() => receiver.close());

const fast = { retries: 3, delay: () => 5 };

describe('webhookNotifier', () => {
  it('POSTs the notification as JSON with an ISO timestamp, event and delivery headers', async () => {
    await webhookNotifier({ url: receiver.url, headers: { authorization: 'Bearer receiver-token' } }).notify(failed);
    const [req] = receiver.requests;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/hooks/converge');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers['x-converge-event']).toBe('failed');
    expect(req?.headers['x-converge-delivery']).toMatch(/^[0-9a-f-]{36}$/);
    expect(req?.headers['authorization']).toBe('Bearer receiver-token');
    expect(req?.headers['x-converge-signature']).toBeUndefined();
    const payload = JSON.parse(req!.body) as WebhookPayload;
    expect(payload).toEqual({ ...failed, timestamp: '2025-01-02T03:04:05.000Z' });
  });

  it('signs the raw body with HMAC-SHA256 so the receiver can verify it', async () => {
    const secret = 'whsec-7f3a';
    await webhookNotifier({ url: receiver.url, secret }).notify(failed);
    const [req] = receiver.requests;
    const signature = String(req?.headers['x-converge-signature']);
    const expected = `sha256=${createHmac('sha256', secret).update(req!.body).digest('hex')}`;
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(timingSafeEqual(Buffer.from(signature), Buffer.from(expected))).toBe(true);
    const forged = `sha256=${createHmac('sha256', 'another-secret').update(req!.body).digest('hex')}`;
    expect(signature).not.toBe(forged);
    expect(req!.body).not.toContain(secret);
  });

  it('retries on 5xx with backoff and succeeds, with the same delivery id on every try', async () => {
    receiver.respondWith(500, 503);
    const delays: number[] = [];
    await webhookNotifier({ url: receiver.url, retry: { retries: 3, delay: (n) => (delays.push(n), 5) } }).notify(failed);
    expect(receiver.requests).toHaveLength(3);
    expect(delays).toEqual([1, 2]);
    expect(new Set(receiver.requests.map((r) => r.headers['x-converge-delivery'])).size).toBe(1);
    expect(new Set(receiver.requests.map((r) => r.body)).size).toBe(1);
  });

  it('gives up on a 4xx at once with NOTIFY_FAILED', async () => {
    receiver.respondWith(400);
    const error = await webhookNotifier({ url: receiver.url, retry: fast }).notify(failed).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotifyError);
    expect((error as NotifyError).code).toBe('NOTIFY_FAILED');
    expect((error as NotifyError).data).toMatchObject({ status: 400, attempts: 1, retryable: false });
    expect((error as NotifyError).message).toMatch(/HTTP 400 Bad Request \(1 try; not retried\)$/);
    expect(receiver.requests).toHaveLength(1);
  });

  it('retries on 429 (the receiver asked to slow down)', async () => {
    receiver.respondWith(429);
    await webhookNotifier({ url: receiver.url, retry: fast }).notify(failed);
    expect(receiver.requests).toHaveLength(2);
  });

  it('throws NOTIFY_FAILED after the last retry, naming only the origin of the URL', async () => {
    receiver.respondWith(502, 502, 502);
    const url = `${receiver.url}?token=url-secret-123`;
    const error = (await webhookNotifier({ url, retry: { retries: 2, delay: () => 5 }, headers: { authorization: 'Bearer hdr-secret' } })
      .notify(failed)
      .catch((e: unknown) => e)) as NotifyError;
    expect(error.code).toBe('NOTIFY_FAILED');
    expect(error.data).toMatchObject({ status: 502, attempts: 3, retryable: true, target: new URL(receiver.url).origin });
    expect(receiver.requests).toHaveLength(3);
    const text = `${error.message} ${JSON.stringify(error.data)}`;
    expect(text).not.toContain('url-secret-123');
    expect(text).not.toContain('hdr-secret');
    expect(text).not.toContain('/hooks/converge');
  });

  it('retries network errors, then reports them', async () => {
    // A port that was just closed: nothing listens there.
    const closed = await startHttpReceiver();
    await closed.close();
    const url = closed.url;
    const delays: number[] = [];
    const error = (await webhookNotifier({ url, retry: { retries: 2, delay: (n) => (delays.push(n), 5) } })
      .notify(failed)
      .catch((e: unknown) => e)) as NotifyError;
    expect(error.code).toBe('NOTIFY_FAILED');
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.data['attempts']).toBe(3);
    expect(delays).toEqual([1, 2]);
  });

  it('backs off exponentially by default', async () => {
    receiver.respondWith(500, 500);
    const waits: number[] = [];
    const clock = { now: () => Date.now(), setTimeout: (fn: () => void, ms: number) => (waits.push(ms), setTimeout(fn, 0)), clearTimeout: () => undefined };
    await webhookNotifier({ url: receiver.url, clock }).notify(failed);
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(1000);
    expect(waits[0]).toBeLessThanOrEqual(1100);
    expect(waits[1]).toBeGreaterThanOrEqual(2000);
    expect(waits[1]).toBeLessThanOrEqual(2200);
  });
});
