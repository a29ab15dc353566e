import type { KubeRequestContext, KubeStatus } from '../src/index.js';

/** One API server answer (or failure without an answer) in `fixtures/server-answers.json`. */
export interface RecordedAnswer {
  name: string;
  /** The request it answered, as error mapping sees it. */
  ctx: KubeRequestContext;
  /** The HTTP status; `0` when no answer came. */
  status: number;
  body: KubeStatus | null;
  /** The answer's text when it was not a Status. */
  text?: string;
  requestBytes?: number;
  retryAfterSeconds?: number;
  /** For failures without an answer: the error the transport threw, with its causes. */
  thrown?: RecordedThrow;
}

/** An error as the transport threw it: name, code and message, and its cause. */
export interface RecordedThrow {
  name: string;
  code?: string;
  message: string;
  cause?: RecordedThrow;
}
