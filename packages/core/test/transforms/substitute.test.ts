import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { directorySource } from '../../src/directory-source.js';
import { SubstitutionError } from '../../src/errors.js';
import { memoryFileTree } from '../../src/memory-file-tree.js';
import type { KubeObject } from '../../src/object.js';
import { originOf } from '../../src/origin.js';
import { parseManifests } from '../../src/parse-manifests.js';
import { pipe } from '../../src/renderer.js';
import { substitute } from '../../src/transforms/substitute.js';
import { yamlFiles } from '../../src/yaml-files.js';

const ctx = { artifact: { source: 'test', revision: '1', files: memoryFileTree({}) } };
const cm = (data: Record<string, unknown>, annotations?: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'c', ...(annotations && { annotations }) },
  data,
});
const run = async (vars: Record<string, string>, data: Record<string, unknown>, strict?: boolean) =>
  (await substitute(vars, strict === undefined ? {} : { strict })([cm(data)], ctx))[0]!.data;

describe('substitute', () => {
  it('replaces ${VAR} in string values anywhere in the object, but not in keys', async () => {
    const out = await run({ ENV: 'prod', REGION: 'eu' }, { '${ENV}': 'x', a: 'cluster-${ENV}-${REGION}', list: ['${ENV}', { deep: '${REGION}' }], n: 3 });
    expect(out).toEqual({ '${ENV}': 'x', a: 'cluster-prod-eu', list: ['prod', { deep: 'eu' }], n: 3 });
  });

  it('uses := and :- defaults when the variable is unset or empty, = and - only when unset', async () => {
    const data = { a: '${X:=one}', b: '${X:-two}', c: '${X=three}', d: '${X-four}', e: '${Y:=five}' };
    expect(await run({}, data)).toEqual({ a: 'one', b: 'two', c: 'three', d: 'four', e: 'five' });
    expect(await run({ X: '' }, data)).toEqual({ a: 'one', b: 'two', c: '', d: '', e: 'five' });
    expect(await run({ X: 'set', Y: 'y' }, data)).toEqual({ a: 'set', b: 'set', c: 'set', d: 'set', e: 'y' });
  });

  it('turns $${VAR} into a literal ${VAR} and leaves ${…} that is not a variable name alone', async () => {
    expect(await run({ VAR: 'v' }, { a: '$${VAR}', b: 'echo ${1} ${@} ${VAR}' })).toEqual({ a: '${VAR}', b: 'echo ${1} ${@} v' });
  });

  it('fails on an unset variable in strict mode (the default) naming the variable, object and file:line', async () => {
    const [obj] = parseManifests('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: web\ndata:\n  url: https://${HOST}/\n', 'cfg/c.yaml');
    const failure = (async () => substitute({})([obj!], ctx))();
    await expect(failure).rejects.toBeInstanceOf(SubstitutionError);
    await expect(failure).rejects.toMatchObject({
      code: 'SUBSTITUTION',
      message: expect.stringMatching(/^cfg\/c\.yaml:1: ConfigMap web\/c at \/data\/url: variable HOST is not set; .*\$\{HOST:=value\}/),
      data: { variable: 'HOST', position: { file: 'cfg/c.yaml', line: 1 }, ref: { kind: 'ConfigMap', namespace: 'web', name: 'c' }, pointer: '/data/url' },
    });
  });

  it('replaces an unset variable with the empty string when not strict', async () => {
    expect(await run({}, { a: 'x${NOPE}y' }, false)).toEqual({ a: 'xy' });
  });

  it('fails on a ${VAR…} form it does not support instead of leaving it half-done', async () => {
    await expect(run({ VAR: 'abc' }, { a: '${VAR/a/b}' })).rejects.toMatchObject({ code: 'SUBSTITUTION', message: expect.stringContaining('not a supported substitution') });
  });

  it('skips objects annotated substitute: disabled (Flux or Converge annotation)', async () => {
    for (const key of ['kustomize.toolkit.fluxcd.io/substitute', 'converge.dev/substitute']) {
      const input = cm({ a: '${UNSET}' }, { [key]: 'disabled' });
      const [out] = await substitute({})([input], ctx);
      expect(out!.data).toEqual({ a: '${UNSET}' });
    }
  });

  it('never changes the input objects and keeps their origin on the copies', async () => {
    const [obj] = parseManifests('apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { a: "${A}" }\n', 'c.yaml');
    const [out] = await substitute({ A: 'x' })([obj!], ctx);
    expect(obj!.data).toEqual({ a: '${A}' });
    expect(out!.data).toEqual({ a: 'x' });
    expect(originOf(out!)).toEqual({ file: 'c.yaml', line: 1 });
  });

  it('substitutes rendered files like Flux: unquoted values are re-read as YAML, quoted ones stay strings', async () => {
    const artifact = await directorySource(fileURLToPath(new URL('../fixtures/manifests/substitute', import.meta.url))).fetch();
    const render = pipe(yamlFiles(), substitute({ CLUSTER: 'eu1', REPLICAS: '3', TAG: '1.2.0' }));
    const [deployment, script] = await render({ artifact });
    expect(deployment!.metadata).toEqual({ name: 'api-eu1', labels: { cluster: 'eu1' } });
    const spec = deployment!.spec as { replicas: unknown; template: { spec: { containers: { image: string; env: { value: unknown }[] }[] } } };
    expect(spec.replicas).toBe(3);
    const container = spec.template.spec.containers[0]!;
    expect(container.image).toBe('registry.example.com/api:1.2.0');
    expect(container.env.map((e) => e.value)).toEqual(['3', '${NOT_A_VAR}', 'echo ${1} ${@}']);
    expect(script!.data).toEqual({ 'run.sh': 'echo ${HOME}' });
  });

  it('uses the default when an unquoted value is unset, and keeps text that is not one YAML scalar a string', async () => {
    const [obj] = parseManifests('apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\nspec:\n  count: ${N:=1}\n  flag: ${F}\n  text: ${T}\n', 'c.yaml');
    const [out] = await substitute({ F: 'true', T: 'a: b' })([obj!], ctx);
    expect(out!.spec).toEqual({ count: 1, flag: true, text: 'a: b' });
  });

  it('re-reads unquoted values with the same YAML rules as the files: octal, YAML 1.1 booleans, strings with colons', async () => {
    const [obj] = parseManifests('apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\nspec:\n  mode: ${MODE}\n  on: ${ON}\n  image: ${IMG}\n  path: ${P}\n  empty: ${E}\n', 'c.yaml');
    const [out] = await substitute({ MODE: '0644', ON: 'on', IMG: 'img:1.2', P: '/etc/x', E: '' })([obj!], ctx);
    expect(out!.spec).toEqual({ mode: 420, true: true, image: 'img:1.2', path: '/etc/x', empty: null });
  });
});
