import type { RenderRequest } from '../engine.js';
import { limitMessage, type HostFailure } from '@converge/wasm-host';
import { helmError, type HelmError, type HelmErrorCode } from '../errors.js';
import { templatePosition } from './template-position.js';

/** The bounds of one render, as named in {@link RenderRequest}. */
export type RenderLimits = Pick<RenderRequest, 'maxMemoryBytes' | 'maxOutputBytes' | 'timeoutMs'>;

/** Which bound a render exceeded: the option's name. */
export type RenderLimit = keyof RenderLimits;

const LIMIT_CODES = {
  maxMemoryBytes: 'ENGINE_MEMORY_LIMIT',
  maxOutputBytes: 'ENGINE_OUTPUT_LIMIT',
  timeoutMs: 'ENGINE_TIMEOUT',
} as const satisfies Record<RenderLimit, HelmErrorCode>;

/**
 * The error for a render that exceeded one of its bounds. The message names the option and
 * its value and what to do; `detail` (e.g. Helm's own size report) is added when given. It
 * never holds engine output: no partial manifest (it may hold Secrets), no goroutine dump.
 */
export function limitError(limit: RenderLimit, value: number, detail?: string): HelmError {
  return helmError(LIMIT_CODES[limit], limitMessage(limit, value, { cause: 'A template', subject: 'a chart' }, detail), { limit, limitValue: value });
}

/**
 * The error for a failure of the wasm host (see `@converge/wasm-host`): a bound exceeded (a
 * stack overflow is a template that recursed, a define including itself), a crash with Go's
 * one-line reason, an engine that cannot start, or a closed engine.
 */
export function hostError(failure: HostFailure): HelmError {
  switch (failure.kind) {
    case 'limit': {
      const detail = failure.detail?.includes('stack limit') ? `a template recursed deeper than the engine's stack limit${failure.detail.replace(/^.*stack limit/, '')} (a define that includes itself?)` : failure.detail;
      return limitError(failure.limit, failure.value, detail);
    }
    case 'invalid-limit':
      return helmError('HELM_INVALID_OPTIONS', `cannot cap the Helm wasm engine's memory at ${failure.value} bytes (maxMemoryBytes): ${failure.reason}`, { maxMemoryBytes: failure.value });
    case 'crashed':
      return helmError('HELM_ENGINE_FAILED', `the Helm wasm engine crashed (${failure.reason}); it is replaced for the next render`, failure.exitCode === undefined ? {} : { exitCode: failure.exitCode });
    case 'invalid-input':
      return helmError('HELM_INVALID_OPTIONS', `the render's chart files or values are not plain bytes: ${failure.reason}`);
    case 'unavailable':
      return helmError('HELM_ENGINE_FAILED', `${failure.reason}. Build it with \`npm run build:wasm -w @converge/helm-render\`, or use engine: "cli".`, {}, failure.cause);
    case 'start-timeout':
      return helmError('HELM_ENGINE_FAILED', `the Helm wasm engine did not start within ${failure.timeoutMs} ms (info's timeoutMs); its process was stopped`, { timeoutMs: failure.timeoutMs });
    case 'closed':
      return helmError('HELM_ENGINE_FAILED', 'the Helm wasm engine is closed');
  }
}

/** The failure kinds the Go engine reports (engine/render.go), mapped to error codes. */
const CODES: Record<string, HelmErrorCode> = {
  CHART_INVALID: 'HELM_CHART_INVALID',
  DEPENDENCY_MISSING: 'HELM_DEPENDENCY_MISSING',
  VALUES_INVALID: 'HELM_VALUES_INVALID',
  VALUES_SCHEMA: 'HELM_VALUES_SCHEMA',
  TEMPLATE: 'HELM_TEMPLATE_ERROR',
  MANIFEST_INVALID: 'HELM_MANIFEST_INVALID',
  KUBE_VERSION_INCOMPATIBLE: 'HELM_KUBE_VERSION_INCOMPATIBLE',
  OUTPUT_TOO_LARGE: 'ENGINE_OUTPUT_LIMIT',
  REQUEST_INVALID: 'HELM_INVALID_OPTIONS',
  INTERNAL: 'HELM_ENGINE_FAILED',
};

/**
 * Builds the typed error for an engine failure: `kind` is one of the Go engine's kinds,
 * `message` Helm's own message (the template position is parsed out of it). `limits` are the
 * render's bounds, named in the message when one was exceeded.
 */
export function engineError(kind: string, message: string, limits?: RenderLimits): HelmError {
  const code = CODES[kind] ?? 'HELM_ENGINE_FAILED';
  if (code === 'ENGINE_OUTPUT_LIMIT' && limits) return limitError('maxOutputBytes', limits.maxOutputBytes, message.trim());
  const position = code === 'HELM_TEMPLATE_ERROR' || code === 'HELM_MANIFEST_INVALID' ? templatePosition(message) : undefined;
  // Helm's partial output (what `--debug` prints) is deliberately not kept: it may hold Secrets.
  return helmError(code, message.trim(), { helmKind: kind, ...(position && { position }) });
}

/**
 * Classifies a message printed by `helm template` into one of the Go engine's kinds, so the
 * CLI engine reports the same codes as the wasm engine.
 */
export function classifyHelmMessage(message: string): string {
  if (/values don't meet the specifications of the schema/.test(message)) return 'VALUES_SCHEMA';
  if (/^(parse|execution) error (at|in) \(|^[^\s]+\/templates\/\S+:\d+|template: /m.test(message)) return 'TEMPLATE';
  if (/missing in charts\/ directory/.test(message)) return 'DEPENDENCY_MISSING';
  if (/chart requires kubeVersion/.test(message)) return 'KUBE_VERSION_INCOMPATIBLE';
  if (/failed to parse .*values|cannot load values\.yaml/i.test(message)) return 'VALUES_INVALID';
  if (/Chart\.yaml|Chart\.lock|chart\.metadata|charts are not installable|unsupported chart version|invalid chart apiVersion|chart dependencies processing failed|validation:/.test(message)) return 'CHART_INVALID';
  if (/YAML parse error on|unable to build kubernetes objects/.test(message)) return 'MANIFEST_INVALID';
  if (/release name|invalid kube version/.test(message)) return 'REQUEST_INVALID';
  return 'INTERNAL';
}
