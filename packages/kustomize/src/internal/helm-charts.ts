import { posix } from 'node:path';
import type { FileTree } from '@converge/core';
import { defaultWasmEngine, type HelmEngine, type ValuesDocument } from '@converge/helm-render';
import type { EngineLimits } from '@converge/wasm-host';
import { parse } from 'yaml';
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
    valuesMerge?: 'override' | 'merge' | 'replace';
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

type Values = Record<string, unknown>;
const isMap = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

/** kyaml's merge2 on values: maps merge key by key, `src` wins, a null in `src` deletes. */
function merge(src: Values, dest: Values): Values {
  const out: Values = { ...dest };
  for (const [k, v] of Object.entries(src)) {
    if (v === null) delete out[k];
    else if (isMap(v) && isMap(out[k])) out[k] = merge(v, out[k] as Values);
    else out[k] = v;
  }
  return out;
}

/**
 * Renders one `helmCharts:` entry with helm-render's engine the way kustomize's
 * HelmChartInflationGenerator runs `helm template` (api/internal/builtins): the chart from
 * `<chartHome>/<name>` (`<chartHome>/<name>-<version>/<name>` when `version` and `repo` are
 * set), `valuesFile` (default: the chart's `values.yaml`) merged with `valuesInline` per
 * `valuesMerge`, then `additionalValuesFiles`. Charts are not pulled: they must be in the
 * artifact, where `kustomize build --enable-helm` leaves them.
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
  if (!chart.name) throw new Error(`${where}: chart name cannot be empty`);
  const chartHome = posix.join(kustomizationDir, globals?.chartHome ?? 'charts');
  const home = chart.version && chart.repo ? posix.join(chartHome, `${chart.name}-${chart.version}`) : chartHome;
  const chartDir = posix.join(home, chart.name);
  const chartFiles = await readTree(files, chartDir, signal).catch(() => []);
  if (!chartFiles.some((f) => f.name === `${chartDir}/Chart.yaml`)) {
    throw new Error(
      `${where}: no chart at ${chartDir}` +
        (chart.repo ? ` (charts are not pulled from ${chart.repo}: vendor the chart into ${home}, where \`kustomize build --enable-helm\` leaves it)` : ''),
    );
  }
  const read = async (name: string) => {
    try {
      return await files.read(name);
    } catch (err) {
      throw new Error(`${where}: values file ${name} not found in the artifact`, { cause: err });
    }
  };
  const valuesFile = chart.valuesFile ? posix.join(kustomizationDir, chart.valuesFile) : posix.join(chartDir, 'values.yaml');
  const values: ValuesDocument[] = [];
  if (chart.valuesInline && Object.keys(chart.valuesInline).length > 0) {
    const mode = chart.valuesMerge ?? 'override';
    let merged = chart.valuesInline;
    if (mode !== 'replace') {
      const base = (parse(new TextDecoder().decode(await read(valuesFile))) ?? {}) as Values;
      merged = mode === 'override' ? merge(chart.valuesInline, base) : merge(base, chart.valuesInline);
    }
    values.push({ name: 'valuesInline', data: new TextEncoder().encode(JSON.stringify(merged)) });
  } else {
    values.push({ name: valuesFile, data: await read(valuesFile) });
  }
  for (const f of chart.additionalValuesFiles ?? []) {
    const name = posix.join(kustomizationDir, f);
    values.push({ name, data: await read(name) });
  }
  const out = await engine.render({
    files: chartFiles.map((f) => ({ name: f.name.slice(chartDir.length + 1), data: f.data })),
    values,
    // `helm template` without a name would invent one (--generate-name): a new name per
    // render would replace every object each pass, so a name is required-by-default here.
    releaseName: chart.releaseName ?? 'release-name',
    namespace: chart.namespace || 'default',
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
