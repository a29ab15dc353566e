import type { KubeObject, Renderer } from '@converge/core';
import type { HelmChartOptions, HelmPostRenderer } from '@converge/helm-render';
import { expectTypeOf, test } from 'vitest';
import { type KustomizeErrorCode, type KustomizeOptions, type RemoteResolver, KustomizeError, kustomize, kustomizePostRenderer, trackRemoteBases } from '../src/index.js';

test('kustomize takes one options object and returns a core Renderer', () => {
  expectTypeOf(kustomize).parameters.toEqualTypeOf<[KustomizeOptions?]>();
  expectTypeOf(kustomize({ path: 'overlays/prod' })).toEqualTypeOf<Renderer>();
  expectTypeOf<ReturnType<Renderer>>().resolves.toEqualTypeOf<KubeObject[]>();
});

test('loadRestrictor is a closed union; remote is a resolver or false', () => {
  // @ts-expect-error kustomize's flag spelling is not an option value
  kustomize({ loadRestrictor: 'LoadRestrictionsNone' });
  expectTypeOf<KustomizeOptions['loadRestrictor']>().toEqualTypeOf<'artifact' | 'rootOnly' | undefined>();
  expectTypeOf<KustomizeOptions['remote']>().toEqualTypeOf<RemoteResolver | false | undefined>();
});

test("errors carry a closed union of codes, with the engine bounds shared with helm-render's", () => {
  expectTypeOf<KustomizeError['code']>().toEqualTypeOf<KustomizeErrorCode>();
  expectTypeOf<'ENGINE_TIMEOUT'>().toExtend<KustomizeErrorCode>();
  expectTypeOf<KustomizeError['file']>().toEqualTypeOf<string | undefined>();
});

test('kustomizePostRenderer plugs into helmChart({ postRender })', () => {
  expectTypeOf(kustomizePostRenderer({ images: [{ name: 'nginx', newTag: '1' }] })).toEqualTypeOf<HelmPostRenderer>();
  expectTypeOf(kustomizePostRenderer({})).toExtend<NonNullable<HelmChartOptions['postRender']>>();
});

test('trackRemoteBases returns a source and the resolver to give kustomize()', () => {
  expectTypeOf(trackRemoteBases).returns.toHaveProperty('remote').toEqualTypeOf<RemoteResolver>();
});
