import type { KubeObject, Renderer } from '@converge/core';
import { expectTypeOf, test } from 'vitest';
import { type HelmChartOptions, type HelmEngine, type HelmLookup, HelmError, helmChart } from '../src/index.js';

test('helmChart takes one options object and returns a core Renderer', () => {
  expectTypeOf(helmChart).parameters.toEqualTypeOf<[HelmChartOptions]>();
  expectTypeOf(helmChart({ chart: 'charts/web', releaseName: 'web' })).toEqualTypeOf<Renderer>();
  expectTypeOf<ReturnType<Renderer>>().resolves.toEqualTypeOf<KubeObject[]>();
});

test('chart and releaseName are required; engine is a name or an engine', () => {
  // @ts-expect-error releaseName is required
  helmChart({ chart: 'charts/web' });
  // @ts-expect-error engine is 'wasm', 'cli' or a HelmEngine
  helmChart({ chart: 'c', releaseName: 'r', engine: 'docker' });
  expectTypeOf<HelmChartOptions['engine']>().toEqualTypeOf<'wasm' | 'cli' | HelmEngine | undefined>();
  expectTypeOf<HelmChartOptions['lookup']>().toEqualTypeOf<HelmLookup | undefined>();
});

test('errors carry a closed union of codes: Helm\'s own, and the engine bounds shared with other engines', () => {
  expectTypeOf<HelmError['code']>().toExtend<`HELM_${string}` | `ENGINE_${string}`>();
  expectTypeOf<'ENGINE_MEMORY_LIMIT' | 'ENGINE_OUTPUT_LIMIT' | 'ENGINE_TIMEOUT'>().toExtend<HelmError['code']>();
});

test('every bound is an option named with its unit', () => {
  expectTypeOf<HelmChartOptions['maxMemoryBytes']>().toEqualTypeOf<number | undefined>();
  expectTypeOf<HelmChartOptions['maxOutputBytes']>().toEqualTypeOf<number | undefined>();
  expectTypeOf<HelmChartOptions['timeoutMs']>().toEqualTypeOf<number | undefined>();
  // @ts-expect-error durations are named with their unit
  helmChart({ chart: 'c', releaseName: 'r', timeout: 1000 });
});
