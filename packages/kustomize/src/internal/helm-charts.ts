import { posix } from 'node:path';
import type { FileTree } from '@converge/core';
import { defaultWasmEngine, type HelmEngine, type ValuesDocument } from '@converge/helm-render';
import type { EngineLimits } from '@converge/wasm-host';
import { readTree } from './artifact-files.js';

/** What the Go engine sends for one `helmCharts:` entry (engine/jailfs.go `inflate`). */
interface HelmCallRequest {
  chart: {
    name?: string;
    version?: string;
    repo?: string;
    releaseName?: string;
    namespace?: string;
    valuesFile?: string;
    additionalValuesFiles?: string[];
    valuesInline?: Record<string, unknown>;
    includeCRDs?: boolean;
    skipTests?: boolean;
    skipHooks?: boolean;
    apiVersions?: string[];
    kubeVersion?: string;
  };
  globals?: { chartHome?: string } | null;
  kustomizationDir: string;
  kustomizationFile: string;
}

const encoder = new TextEncoder();

/**
 * Renders one `helmCharts:` entry with helm-render's engine, as `kustomize build --enable-helm`
 * runs `helm template`: the chart from `<chartHome>/<name>` (or `<chartHome>/<name>-<version>/<name>`),
 * values from `valuesFile`, `additionalValuesFiles` and `valuesInline` in that order.
 */
export async function inflateHelmChart(
  payload: string,
  files: FileTree,
  limits: EngineLimits,
  signal?: AbortSignal,
  engine: HelmEngine = defaultWasmEngine(),
): Promise<string> {
  const { chart, globals, kustomizationDir, kustomizationFile } = JSON.parse(payload) as HelmCallRequest;
  const where = `${kustomizationFile}: helmCharts: ${chart.name ?? '(no name)'}`;
  if (!chart.name) throw new Error(`${where}: a chart needs a name`);
  const chartHome = posix.join(kustomizationDir, globals?.chartHome ?? 'charts');
  const candidates = chart.version ? [posix.join(chartHome, `${chart.name}-${chart.version}`, chart.name), posix.join(chartHome, chart.name)] : [posix.join(chartHome, chart.name)];
  let chartFiles: Array<{ name: string; data: Uint8Array }> = [];
  let chartDir = '';
  for (const dir of candidates) {
    const found = await readTree(files, dir, signal).catch(() => []);
    if (found.some((f) => f.name === `${dir}/Chart.yaml`)) {
      chartFiles = found;
      chartDir = dir;
      break;
    }
  }
  if (!chartDir) {
    throw new Error(
      `${where}: no chart at ${candidates.join(' or ')}${chart.repo ? ` (pulling from ${chart.repo} is not supported: vendor the chart into ${chartHome}, as \`kustomize build --enable-helm\` leaves it)` : ''}`,
    );
  }
  const values: ValuesDocument[] = [];
  for (const f of [chart.valuesFile, ...(chart.additionalValuesFiles ?? [])]) {
    if (!f) continue;
    const name = posix.join(kustomizationDir, f);
    values.push({ name, data: await files.read(name) });
  }
  if (chart.valuesInline) values.push({ name: 'valuesInline', data: encoder.encode(JSON.stringify(chart.valuesInline)) });
  const out = await engine.render({
    files: chartFiles.map((f) => ({ name: f.name.slice(chartDir.length + 1), data: f.data })),
    values,
    releaseName: chart.releaseName ?? 'release-name',
    namespace: chart.namespace ?? '',
    kubeVersion: chart.kubeVersion ?? '',
    apiVersions: chart.apiVersions ?? [],
    includeCRDs: chart.includeCRDs ?? false,
    skipTests: chart.skipTests ?? false,
    disableHooks: chart.skipHooks ?? false,
    isUpgrade: false,
    skipSchemaValidation: false,
    maxMemoryBytes: limits.maxMemoryBytes,
    maxOutputBytes: limits.maxOutputBytes,
    timeoutMs: limits.timeoutMs,
    signal,
  });
  return out.manifest;
}
