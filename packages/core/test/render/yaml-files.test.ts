import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { directorySource } from '../../src/directory-source.js';
import { DuplicateObjectError } from '../../src/errors.js';
import type { Artifact } from '../../src/file-tree.js';
import { memoryFileTree } from '../../src/memory-file-tree.js';
import { refKey, refOf } from '../../src/object.js';
import { originOf } from '../../src/origin.js';
import { yamlFiles } from '../../src/yaml-files.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/manifests/${name}`, import.meta.url));
const artifactOf = (name: string) => directorySource(fixture(name)).fetch();
const inMemory = (files: Record<string, string | Uint8Array>): Artifact => ({ source: 'test', revision: '1', files: memoryFileTree(files) });
const keys = (objects: Parameters<typeof refOf>[0][]) => objects.map((o) => refKey(refOf(o)));

describe('yamlFiles', () => {
  it('renders YAML and JSON files in file order, then document order, with List kinds flattened', async () => {
    const objects = await yamlFiles()({ artifact: await artifactOf('basic') });
    expect(keys(objects)).toEqual([
      '/Namespace//web',
      'apps/Deployment/web/api',
      '/Service/web/api',
      '/ConfigMap/web/api-config',
      '/ConfigMap/web/api-flags',
    ]);
    expect(objects.map((o) => originOf(o))).toEqual([
      { file: 'app.yaml', line: 3 },
      { file: 'app.yaml', line: 10 },
      { file: 'apps/service.json', line: 1 },
      { file: 'list.yaml', line: 4 },
      { file: 'list.yaml', line: 11 },
    ]);
  });

  it('lets the process answer its I/O between files instead of parsing them all in one go', async () => {
    const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\n`;
    let done = false;
    const rendering = yamlFiles()({ artifact: inMemory({ 'a.yaml': cm('a'), 'b.yaml': cm('b') }) }).then((objects) => ((done = true), objects));
    const ranBeforeTheEnd = new Promise<boolean>((resolve) => setImmediate(() => resolve(!done)));
    expect(await rendering).toHaveLength(2);
    expect(await ranBeforeTheEnd).toBe(true);
  });

  it('reports kustomization.yaml, Helm chart directories and .sourceignore through onSkip instead of applying them', async () => {
    const skipped: [string, string][] = [];
    const objects = await yamlFiles({ onSkip: (path, reason) => skipped.push([path, reason]) })({ artifact: await artifactOf('basic') });
    expect(skipped.map(([path]) => path)).toEqual(['.sourceignore', 'chart', 'kustomization.yaml']);
    expect(skipped[1]![1]).toMatch(/Helm chart.*helmChart/);
    expect(skipped[2]![1]).toMatch(/Kustomize/);
    expect(objects.some((o) => o.kind === 'Kustomization')).toBe(false);
    expect(objects.some((o) => originOf(o)?.file.startsWith('chart/'))).toBe(false);
  });

  it('reports a values.yaml outside a chart as a Helm values file', async () => {
    const skipped: string[] = [];
    const objects = await yamlFiles({ onSkip: (path) => skipped.push(path) })({
      artifact: inMemory({ 'values.yaml': 'replicas: 1\n', 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n' }),
    });
    expect(skipped).toEqual(['values.yaml']);
    expect(keys(objects)).toEqual(['/ConfigMap//a']);
  });

  it('leaves out files under hidden directories such as .github', async () => {
    const objects = await yamlFiles()({ artifact: await artifactOf('basic') });
    expect(objects.some((o) => originOf(o)?.file.startsWith('.github'))).toBe(false);
  });

  it('renders only the files under path, matching include and exclude against paths relative to it', async () => {
    const artifact = await artifactOf('basic');
    expect(keys(await yamlFiles({ path: 'apps' })({ artifact }))).toEqual(['/Service/web/api']);
    expect(keys(await yamlFiles({ include: ['**/*.json'] })({ artifact }))).toEqual(['/Service/web/api']);
    expect(keys(await yamlFiles({ path: 'apps', include: ['service.json'] })({ artifact }))).toEqual(['/Service/web/api']);
    const skipped: string[] = [];
    const withoutList = await yamlFiles({ exclude: ['list.yaml', 'kustomization.yaml', 'chart/**'], onSkip: (path) => skipped.push(path) })({ artifact });
    expect(keys(withoutList)).toEqual(['/Namespace//web', 'apps/Deployment/web/api', '/Service/web/api']);
    expect(skipped).toEqual(['.sourceignore']);
  });

  it('keeps file order and document order whatever order the tree was built in', async () => {
    const a = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n';
    const b = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: b }\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\n';
    const one = await yamlFiles()({ artifact: inMemory({ 'x/b.yaml': b, 'a.yaml': a }) });
    const two = await yamlFiles()({ artifact: inMemory({ 'a.yaml': a, 'x/b.yaml': b }) });
    expect(keys(one)).toEqual(['/ConfigMap//a', '/ConfigMap//b', '/ConfigMap//c']);
    expect(keys(two)).toEqual(keys(one));
  });

  it('fails malformed YAML with YAML_SYNTAX and the file:line', async () => {
    await expect(yamlFiles()({ artifact: await artifactOf('malformed') })).rejects.toMatchObject({
      code: 'YAML_SYNTAX',
      message: expect.stringMatching(/^bad\.yaml:7:\d+: invalid YAML/),
      data: { position: { file: 'bad.yaml', line: 7 } },
    });
  });

  it('fails a document without kind with INVALID_OBJECT and the file:line of the document', async () => {
    await expect(yamlFiles()({ artifact: await artifactOf('no-kind') })).rejects.toMatchObject({
      code: 'INVALID_OBJECT',
      message: expect.stringMatching(/^objects\.yaml:6: .*no kind/),
      data: { position: { file: 'objects.yaml', line: 6 } },
    });
  });

  it('fails a document without metadata.name with INVALID_OBJECT and the file:line of the document', async () => {
    await expect(yamlFiles()({ artifact: await artifactOf('no-name') })).rejects.toMatchObject({
      code: 'INVALID_OBJECT',
      message: expect.stringMatching(/^objects\.yaml:7: .*no metadata\.name/),
      data: { position: { file: 'objects.yaml', line: 7 } },
    });
  });

  it('fails two documents with the same identity with DUPLICATE_OBJECT naming both positions', async () => {
    const failure = yamlFiles()({ artifact: await artifactOf('duplicate') });
    await expect(failure).rejects.toBeInstanceOf(DuplicateObjectError);
    await expect(failure).rejects.toMatchObject({
      code: 'DUPLICATE_OBJECT',
      message: expect.stringMatching(/ConfigMap web\/settings is declared twice, at a\.yaml:1 and at b\.yaml:7/),
      data: { ref: { group: '', kind: 'ConfigMap', namespace: 'web', name: 'settings' }, position: { file: 'b.yaml', line: 7 }, first: { file: 'a.yaml', line: 1 } },
    });
  });

  it('fails a path that is not in the artifact with RENDER_FAILED', async () => {
    await expect(yamlFiles({ path: 'nope' })({ artifact: inMemory({ 'a.yaml': '' }) })).rejects.toMatchObject({
      code: 'RENDER_FAILED',
      message: expect.stringContaining('nope is not a directory'),
    });
  });

  it('fails a file that is not UTF-8 with YAML_SYNTAX naming the file', async () => {
    await expect(yamlFiles()({ artifact: inMemory({ 'bin.yaml': new Uint8Array([0xff, 0xfe, 0x00, 0x41]) }) })).rejects.toMatchObject({
      code: 'YAML_SYNTAX',
      data: { position: { file: 'bin.yaml' } },
    });
  });

  it('renders nothing from an artifact with no manifests', async () => {
    expect(await yamlFiles()({ artifact: inMemory({ 'README.md': '# hi' }) })).toEqual([]);
  });

  it('stops when the signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(yamlFiles()({ artifact: await artifactOf('basic'), signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
