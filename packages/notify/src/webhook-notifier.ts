import { createHmac, randomUUID } from 'node:crypto';
import { exponentialBackoff, sleep, systemClock, type Clock, type RetryPolicy } from '@converge/core';
import type { Notification, Notifier } from './notifier.js';
import { NotifyError } from './notify-error.js';

/** The JSON body a {@link webhookNotifier} posts: the notification plus an ISO timestamp. */
export type WebhookPayload = Notification & {
  /** `at` as an ISO 8601 string. */
  timestamp: string;
};

/** Options of {@link webhookNotifier}. */
export interface WebhookNotifierOptions {
  /** Where to POST. It may hold a token: it never appears in errors (only its origin does). */
  url: string | URL;
  /**
   * Shared secret: when set, each request carries `X-Converge-Signature: sha256=<hex HMAC-SHA256
   * of the raw body>`, as GitHub's `X-Hub-Signature-256`. Verify it with a constant-time compare.
   */
  secret?: string;
  /** Extra request headers (e.g. an `Authorization` for the receiver). Never in errors. @default {} */
  headers?: Record<string, string>;
  /** The HTTP client. @default globalThis.fetch */
  fetch?: typeof fetch;
  /**
   * When to try again: after a network error, a timeout, HTTP 5xx, 408 or 429 (never after
   * other 4xx, which would fail the same way again). `delay(n)` is the wait before try n+1.
   * @default { retries: 3, delay: exponentialBackoff({ initialMs: 1000, maxMs: 30000 }).delay }
   */
  retry?: Partial<Pick<RetryPolicy, 'delay'>> & {
    /** Tries after the first. @default 3 */
    retries?: number;
  };
  /** Time allowed for each request, in ms. @default 10000 */
  timeoutMs?: number;
  /** Clock used to wait between tries. @default systemClock */
  clock?: Clock;
}

/** The header carrying the body's HMAC when a secret is set. */
export const SIGNATURE_HEADER = 'X-Converge-Signature';

/**
 * A notifier that POSTs each notification as JSON to a URL, signed with an HMAC when given a
 * secret, retrying with capped exponential backoff. Headers: `Content-Type: application/json`,
 * `X-Converge-Event` (the notification type), `X-Converge-Delivery` (a UUID, the same on every
 * try, so receivers can drop duplicates) and `X-Converge-Signature`.
 *
 * @throws {@link NotifyError} (code `NOTIFY_FAILED`) from `notify` once every try failed.
 *
 * @example
 * ```ts
 * const hook = webhookNotifier({ url: 'https://hooks.example.com/converge', secret });
 * notifyOn(reconciler, hook);
 *
 * // receiver side, on the raw body (timingSafeEqual throws on buffers of different lengths):
 * const expected = Buffer.from('sha256=' + createHmac('sha256', secret).update(rawBody).digest('hex'));
 * const header = req.headers['x-converge-signature'];
 * const given = Buffer.from(typeof header === 'string' ? header : '');
 * const signed = given.length === expected.length && timingSafeEqual(given, expected);
 * ```
 */
export function webhookNotifier(options: WebhookNotifierOptions): Notifier {
  const url = new URL(options.url);
  const target = url.origin;
  const doFetch = options.fetch ?? globalThis.fetch;
  const retries = Math.max(0, options.retry?.retries ?? 3);
  const delay = options.retry?.delay ?? exponentialBackoff({ initialMs: 1000, maxMs: 30_000 }).delay;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const clock = options.clock ?? systemClock;

  return {
    async notify(notification: Notification): Promise<void> {
      const payload: WebhookPayload = { ...notification, timestamp: new Date(notification.at).toISOString() };
      const body = JSON.stringify(payload);
      const headers: Record<string, string> = {
        'user-agent': 'converge-webhook',
        ...options.headers,
        'content-type': 'application/json',
        'x-converge-event': notification.type,
        'x-converge-delivery': randomUUID(),
      };
      if (options.secret !== undefined) headers[SIGNATURE_HEADER.toLowerCase()] = `sha256=${createHmac('sha256', options.secret).update(body).digest('hex')}`;

      for (let attempt = 1; ; attempt++) {
        let failure: { message: string; status?: number; retryable: boolean; cause?: unknown };
        try {
          const res = await doFetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
          await res.body?.cancel();
          if (res.status >= 200 && res.status < 300) return;
          const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
          failure = { message: `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`, status: res.status, retryable };
        } catch (error) {
          failure = { message: networkMessage(error, timeoutMs), retryable: true, cause: error };
        }
        if (!failure.retryable || attempt > retries) {
          const tries = attempt === 1 ? '1 try' : `${attempt} tries`;
          throw new NotifyError(
            `webhook ${target} did not take the ${notification.type} notification for ${notification.reconciler}: ${failure.message} (${tries}${failure.retryable ? '' : '; not retried'})`,
            { target, attempts: attempt, retryable: failure.retryable, ...(failure.status !== undefined && { status: failure.status }) },
            failure.cause,
          );
        }
        await sleep(clock, delay(attempt));
      }
    },
  };
}

function networkMessage(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === 'string') return cause.code;
  return error instanceof Error ? error.message : String(error);
}

