import { describe, expect, it } from 'vitest';
import { InvalidObjectError, ManifestSyntaxError } from '../../src/errors.js';
import { originOf } from '../../src/origin.js';
import { parseManifests } from '../../src/parse-manifests.js';

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

describe('parseManifests', () => {
  it('reads every document of a multi-document file, skipping empty ones, and records each line', () => {
    const text = `# leading comment\n---\n${cm('a')}---\n---\n# only a comment\n---\n~\n---\n${cm('b')}`;
    const objects = parseManifests(text, 'deploy/x.yaml');
    expect(objects.map((o) => o.metadata.name)).toEqual(['a', 'b']);
    expect(originOf(objects[0]!)).toEqual({ file: 'deploy/x.yaml', line: 3 });
    expect(originOf(objects[1]!)).toEqual({ file: 'deploy/x.yaml', line: 13 });
  });

  it('reads JSON', () => {
    const objects = parseManifests('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j"},"data":{"n":"1"}}', 'x.json');
    expect(objects).toEqual([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'j' }, data: { n: '1' } }]);
  });

  it('flattens List and *List kinds, recording the line of each item', () => {
    const text = [
      'apiVersion: v1',
      'kind: List',
      'items:',
      '  - apiVersion: v1',
      '    kind: ConfigMap',
      '    metadata: { name: a }',
      '  - apiVersion: v1',
      '    kind: ConfigMap',
      '    metadata: { name: b }',
      '---',
      'apiVersion: v1',
      'kind: ConfigMapList',
      'items:',
      '  - { apiVersion: v1, kind: ConfigMap, metadata: { name: c } }',
      '---',
      'apiVersion: v1',
      'kind: List',
      'items: []',
    ].join('\n');
    const objects = parseManifests(text, 'l.yaml');
    expect(objects.map((o) => o.metadata.name)).toEqual(['a', 'b', 'c']);
    expect(objects.map((o) => originOf(o)?.line)).toEqual([4, 7, 14]);
  });

  it('reads scalars as kubectl does: 0644 is octal, yes is a boolean, dates and 1:20 stay strings', () => {
    const [obj] = parseManifests(`${cm('s')}spec:\n  mode: 0644\n  flag: yes\n  date: 2024-01-02\n  time: 1:20\n  quoted: "0644"\n`, 's.yaml');
    expect(obj!.spec).toEqual({ mode: 420, flag: true, date: '2024-01-02', time: '1:20', quoted: '0644' });
  });

  it('reports a syntax error as YAML_SYNTAX with the file and 1-based line and column', () => {
    const text = `${cm('a')}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n   bad: indent\n`;
    let error: unknown;
    try {
      parseManifests(text, 'deploy/broken.yaml');
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ManifestSyntaxError);
    expect(error).toMatchObject({ code: 'YAML_SYNTAX', data: { position: { file: 'deploy/broken.yaml', line: 9 } } });
    expect((error as Error).message).toMatch(/^deploy\/broken\.yaml:9:\d+: invalid YAML: /);
  });

  it('reports duplicate keys as YAML_SYNTAX, as kubectl does', () => {
    expect(() => parseManifests(`${cm('a')}data:\n  k: 1\n  k: 2\n`, 'd.yaml')).toThrow(
      expect.objectContaining({ code: 'YAML_SYNTAX', data: { position: expect.objectContaining({ file: 'd.yaml', line: 7 }), yamlCode: 'DUPLICATE_KEY' } }),
    );
  });

  it('reports a document without kind as INVALID_OBJECT at the line where the document starts', () => {
    const text = `${cm('a')}---\n# comment\napiVersion: v1\nmetadata:\n  name: b\n`;
    expect(() => parseManifests(text, 'k.yaml')).toThrow(InvalidObjectError);
    expect(() => parseManifests(text, 'k.yaml')).toThrow(
      expect.objectContaining({ code: 'INVALID_OBJECT', message: expect.stringMatching(/^k\.yaml:7: this document has no kind; .*Add a kind/), data: { position: { file: 'k.yaml', line: 7 } } }),
    );
  });

  it('reports a missing apiVersion, metadata or metadata.name as INVALID_OBJECT saying what to add', () => {
    expect(() => parseManifests('kind: ConfigMap\nmetadata:\n  name: a\n', 'x.yaml')).toThrow(/x\.yaml:1: this ConfigMap has no apiVersion.*Add one/);
    expect(() => parseManifests('apiVersion: v1\nkind: ConfigMap\n', 'x.yaml')).toThrow(/x\.yaml:1: this ConfigMap has no metadata/);
    expect(() => parseManifests('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {}\n', 'x.yaml')).toThrow(/x\.yaml:1: this ConfigMap has no metadata\.name.*Add metadata\.name/);
    expect(() => parseManifests('apiVersion: v1\nkind: Pod\nmetadata:\n  generateName: p-\n', 'x.yaml')).toThrow(/generateName can only be used by hooks/);
  });

  it('reports a document that is not a mapping as INVALID_OBJECT', () => {
    expect(() => parseManifests('- a\n- b\n', 'seq.yaml')).toThrow(expect.objectContaining({ code: 'INVALID_OBJECT', message: expect.stringContaining('seq.yaml:1: this document is a list') }));
    expect(() => parseManifests('just text\n', 't.yaml')).toThrow(expect.objectContaining({ code: 'INVALID_OBJECT' }));
  });

  it('reports an invalid List item at the item line', () => {
    const text = 'apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: { name: a }\n  - apiVersion: v1\n    metadata: { name: b }\n';
    expect(() => parseManifests(text, 'l.yaml')).toThrow(expect.objectContaining({ code: 'INVALID_OBJECT', data: { position: { file: 'l.yaml', line: 7 } } }));
  });

  it('reports a label that is not a string at its line, asking to quote it', () => {
    const text = `${cm('a')}  labels:\n    app: web\n    version: 1.0\n`;
    expect(() => parseManifests(text, 'l.yaml')).toThrow(
      expect.objectContaining({
        code: 'INVALID_OBJECT',
        message: expect.stringContaining('l.yaml:7: label "version" of ConfigMap a is the number 1; label and annotation values must be strings: quote it'),
        data: expect.objectContaining({ position: { file: 'l.yaml', line: 7 } }),
      }),
    );
  });

  it('drops null namespaces, labels and annotations as kubectl does', () => {
    const [obj] = parseManifests(`${cm('a')}  namespace:\n  labels:\n  annotations: ~\n`, 'n.yaml');
    expect(obj!.metadata).toEqual({ name: 'a' });
  });

  it('expands anchors and merge keys', () => {
    const text = `${cm('a')}data:\n  base: &b hello\n  copy: *b\n---\n${cm('b')}spec: &s { x: 1 }\n---\n${cm('c')}spec:\n  <<: { x: 1 }\n  z: 2\n`;
    const objects = parseManifests(text, 'a.yaml');
    expect(objects[0]!.data).toEqual({ base: 'hello', copy: 'hello' });
    expect(objects[2]!.spec).toEqual({ x: 1, z: 2 });
  });

  it('rejects an alias bomb instead of expanding it', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    const text = `${cm('bomb')}data:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
    expect(() => parseManifests(text, 'bomb.yaml')).toThrow(expect.objectContaining({ code: 'YAML_SYNTAX' }));
  });
});
