import { afterAll, describe, expect, inject, it } from 'vitest';
import { CliEngine, HelmError, type RenderRequest, WasmEngine } from '../src/index.js';
import { chartFiles, request, valuesDoc, valuesFile } from './helpers/charts.js';

// The wasm engine must print exactly what `helm template` prints, byte for byte, for
// the same chart, values and flags. The helm binary is built from the same Go module
// (engine/go.mod) by scripts/build-helm.sh.

const wasm = new WasmEngine();
const cli = new CliEngine({ helmPath: inject('helmBin') });
afterAll(() => wasm.close());

interface Case {
  name: string;
  chart: string;
  over?: () => Promise<Partial<RenderRequest>> | Partial<RenderRequest>;
}

const cases: Case[] = [
  { name: 'basic chart with defaults', chart: 'charts/basic' },
  {
    name: 'basic chart with values, namespace and release name',
    chart: 'charts/basic',
    over: () => ({ releaseName: 'web', namespace: 'apps', values: [valuesDoc({ replicaCount: 3, image: { tag: '1.2' } })] }),
  },
  { name: 'umbrella: subcharts, globals, alias, import-values, library', chart: 'charts/umbrella', over: () => ({ kubeVersion: '1.30.2' }) },
  {
    name: 'umbrella with a values file, a condition turned on and an extra API version',
    chart: 'charts/umbrella',
    over: async () => ({
      kubeVersion: 'v1.33.1',
      apiVersions: ['monitoring.coreos.com/v1'],
      values: [await valuesFile('values/umbrella-prod.yaml'), valuesDoc({ frontend: { replicas: 7 } })],
    }),
  },
  { name: 'features: tpl, include, required, lookup, .Files, .Capabilities (Helm defaults)', chart: 'charts/features' },
  {
    name: 'features with kubeVersion, apiVersions, override file and upgrade',
    chart: 'charts/features',
    over: async () => ({
      kubeVersion: '1.29.3',
      apiVersions: ['example.com/v1alpha1', 'networking.k8s.io/v1/Ingress'],
      isUpgrade: true,
      namespace: 'team-a',
      values: [await valuesFile('values/features-override.yaml'), valuesDoc({ host: 'app.example.org', number: 3 })],
    }),
  },
  { name: 'hooks, including test hooks', chart: 'charts/hooks' },
  { name: 'hooks with --skip-tests', chart: 'charts/hooks', over: () => ({ skipTests: true }) },
  { name: 'hooks with --no-hooks', chart: 'charts/hooks', over: () => ({ disableHooks: true }) },
  { name: 'CRDs and install order with --include-crds', chart: 'charts/crds', over: () => ({ includeCRDs: true }) },
  { name: 'CRDs left out by default', chart: 'charts/crds' },
  { name: 'values.schema.json satisfied', chart: 'charts/schema', over: () => ({ values: [valuesDoc({ replicas: 4 })] }) },
  {
    name: 'values.schema.json skipped',
    chart: 'charts/schema',
    over: () => ({ skipSchemaValidation: true, values: [valuesDoc({ replicas: 'many' })] }),
  },
];

describe('wasm engine output equals `helm template` byte for byte', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const req = request(await chartFiles(c.chart), await c.over?.());
      const [fromWasm, fromHelm] = await Promise.all([wasm.render(req), cli.render(req)]);
      expect(fromWasm.manifest.length).toBeGreaterThan(0);
      expect(fromWasm.manifest).toBe(fromHelm.manifest);
    });
  }
});

interface BadCase {
  name: string;
  chart: string;
  code: string;
  over?: () => Partial<RenderRequest>;
  message: RegExp;
  position?: { file: string; line: number };
}

const bad: BadCase[] = [
  { name: 'invalid Chart.yaml', chart: 'bad/invalid-chart-yaml', code: 'HELM_CHART_INVALID', message: /Chart\.yaml/ },
  { name: 'Chart.yaml without a name', chart: 'bad/no-name', code: 'HELM_CHART_INVALID', message: /name is required/ },
  {
    name: 'template syntax error',
    chart: 'bad/syntax-error',
    code: 'HELM_TEMPLATE_ERROR',
    // Helm reports where the unclosed action ends (line 7) and where it started (line 6).
    message: /syntax-error\/templates\/broken\.yaml:7\): unclosed action started at syntax-error\/templates\/broken\.yaml:6/,
    position: { file: 'syntax-error/templates/broken.yaml', line: 7 },
  },
  {
    name: 'required value missing',
    chart: 'bad/required-missing',
    code: 'HELM_TEMPLATE_ERROR',
    message: /database\.host must be set/,
    position: { file: 'required-missing/templates/cm.yaml', line: 6 },
  },
  { name: 'fail()', chart: 'bad/fail-call', code: 'HELM_TEMPLATE_ERROR', message: /you must set acceptLicense=true/ },
  {
    name: 'values violating values.schema.json',
    chart: 'charts/schema',
    code: 'HELM_VALUES_SCHEMA',
    over: () => ({ values: [valuesDoc({ replicas: 0, image: { pullPolicy: 'Sometimes' } })] }),
    message: /replicas/,
  },
  { name: 'dependency missing from charts/', chart: 'bad/missing-dependency', code: 'HELM_DEPENDENCY_MISSING', message: /redis/ },
  { name: 'library chart', chart: 'bad/library-only', code: 'HELM_CHART_INVALID', message: /library charts are not installable/ },
  {
    name: 'kubeVersion outside the chart range',
    chart: 'charts/umbrella',
    code: 'HELM_KUBE_VERSION_INCOMPATIBLE',
    over: () => ({ kubeVersion: '1.20.0' }),
    message: />=1\.25\.0-0/,
  },
  {
    name: 'invalid YAML rendered',
    chart: 'bad/bad-yaml-output',
    code: 'HELM_MANIFEST_INVALID',
    message: /YAML parse error on bad-yaml-output\/templates\/cm\.yaml/,
    position: { file: 'bad-yaml-output/templates/cm.yaml', line: 6 },
  },
  {
    name: 'invalid values document',
    chart: 'charts/basic',
    code: 'HELM_VALUES_INVALID',
    over: () => ({ values: [{ name: 'broken.yaml', data: new TextEncoder().encode('a: [b\n') }] }),
    message: /broken\.yaml|values/,
  },
];

describe('both engines report bad input with the same typed error', () => {
  for (const c of bad) {
    it(c.name, async () => {
      const req = request(await chartFiles(c.chart), c.over?.());
      const [fromWasm, fromHelm] = await Promise.allSettled([wasm.render(req), cli.render(req)]);
      for (const [engine, result] of [['wasm', fromWasm], ['cli', fromHelm]] as const) {
        expect(result.status, engine).toBe('rejected');
        const err = (result as PromiseRejectedResult).reason as HelmError;
        expect(err, engine).toBeInstanceOf(HelmError);
        expect(err.code, `${engine}: ${err.message}`).toBe(c.code);
        expect(err.message, engine).toMatch(c.message);
        if (c.position) expect(err.data.position, engine).toMatchObject(c.position);
      }
    });
  }

  it('the wasm engine keeps working after every failure above', async () => {
    const out = await wasm.render(request(await chartFiles('charts/basic')));
    expect(out.manifest).toContain('kind: Deployment');
  });
});
