import { symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { directorySource } from '../../src/directory-source.js';
import { createReconciler } from '../../src/reconciler.js';
import { MemorySink } from '../../src/testing/memory-sink.js';
import { yamlFiles } from '../../src/yaml-files.js';
import { configMap, fixtureRepo } from './fixture-repo.js';

const repos: { dispose(): void }[] = [];
afterEach(() => repos.splice(0).forEach((r) => r.dispose()));

const cases: { name: string; code: string; file: string; line?: number; breakIt(repo: ReturnType<typeof fixtureRepo>): void }[] = [
  { name: 'malformed YAML', code: 'YAML_SYNTAX', file: 'bad.yaml', line: 4, breakIt: (r) => r.write('bad.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: tab-indented\ndata: {}\n') },
  { name: 'a document without kind', code: 'INVALID_OBJECT', file: 'bad.yaml', line: 9, breakIt: (r) => r.write('bad.yaml', `${configMap('ok', '1')}---\napiVersion: v1\nmetadata:\n  name: nokind\n`) },
  { name: 'a document without metadata.name', code: 'INVALID_OBJECT', file: 'bad.yaml', line: 1, breakIt: (r) => r.write('bad.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: demo\n') },
  { name: 'two documents with the same identity', code: 'DUPLICATE_OBJECT', file: 'copy.yaml', line: 1, breakIt: (r) => r.write('copy.yaml', configMap('a', 'again')) },
  {
    name: 'a symlink pointing outside the tree',
    code: 'PATH_ESCAPE',
    file: 'escape.yaml',
    breakIt: (r) => {
      const outside = join(tmpdir(), `converge-outside-${process.pid}.yaml`);
      writeFileSync(outside, configMap('stolen', '1'));
      symlinkSync(outside, join(r.root, 'escape.yaml'));
    },
  },
];

describe('bad input', () => {
  it.each(cases)('$name fails the pass with $code at the file (and line), and the sink is untouched', async ({ code, file, line, breakIt }) => {
    const repo = fixtureRepo({ 'a.yaml': configMap('a', '1'), 'b.yaml': configMap('b', '1') });
    repos.push(repo);
    const sink = new MemorySink();
    const reconciler = createReconciler({ name: 'bad', source: directorySource(repo.root), render: yamlFiles(), sink, prune: true });
    await reconciler.reconcile();
    const objects = sink.objects();
    const writes = sink.writes;

    repo.remove('b.yaml');
    breakIt(repo);
    const result = await reconciler.reconcile();

    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe(code);
    expect(result.error?.data.position?.file).toContain(file);
    if (line !== undefined) expect(result.error?.data.position?.line).toBe(line);
    expect(result.error?.message).toContain(file);
    expect(sink.objects()).toEqual(objects);
    expect(sink.writes).toBe(writes);
  });

  it('gives each failure kind its own code', () => {
    expect(new Set(cases.map((c) => c.code)).size).toBe(4);
  });
});
