import { helmError, type HelmError, type HelmErrorCode } from '../errors.js';
import { templatePosition } from './template-position.js';

/** The failure kinds the Go engine reports (engine/render.go), mapped to error codes. */
const CODES: Record<string, HelmErrorCode> = {
  CHART_INVALID: 'HELM_CHART_INVALID',
  DEPENDENCY_MISSING: 'HELM_DEPENDENCY_MISSING',
  VALUES_INVALID: 'HELM_VALUES_INVALID',
  VALUES_SCHEMA: 'HELM_VALUES_SCHEMA',
  TEMPLATE: 'HELM_TEMPLATE_ERROR',
  MANIFEST_INVALID: 'HELM_MANIFEST_INVALID',
  KUBE_VERSION_INCOMPATIBLE: 'HELM_KUBE_VERSION_INCOMPATIBLE',
  OUTPUT_TOO_LARGE: 'HELM_OUTPUT_TOO_LARGE',
  REQUEST_INVALID: 'HELM_INVALID_OPTIONS',
  INTERNAL: 'HELM_ENGINE_FAILED',
};

/**
 * Builds the typed error for an engine failure: `kind` is one of the Go engine's kinds,
 * `message` Helm's own message (the template position is parsed out of it).
 */
export function engineError(kind: string, message: string): HelmError {
  const code = CODES[kind] ?? 'HELM_ENGINE_FAILED';
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
