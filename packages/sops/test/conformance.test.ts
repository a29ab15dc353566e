import { inspect } from 'node:util';
import { createReconciler, formatPlan, memoryFileTree, parseManifests, pipe, plan, SinkError, yamlFiles, type Artifact, type KubeObject, type ReconcileEvent } from '@converge/core';
import { MemorySink, memorySource } from '@converge/core/testing';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { decryptSopsFile, sopsDecrypt, sopsDecryptFiles, SopsError } from '../src/index.js';
import { referenceSops, type ReferenceSops } from './reference-sops.js';

let sops: ReferenceSops;
beforeAll(async () => {
  sops = await referenceSops(inject('sopsBin'));
}, 120_000);
afterAll(() => sops?.close());

const FLUX = ['--encrypted-regex', '^(data|stringData)$'];
const ageArgs = () => ['--age', sops.age.recipient];
const pgpArgs = () => ['--pgp', sops.pgp.fingerprint];
const keys = () => ({ ageIdentities: [sops.age.identity], pgpPrivateKeys: [sops.pgp.privateKey] });

const SECRET = `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
  labels:
    tier: backend
    enabled: "yes"
  annotations:
    note: plain text stays plain
type: Opaque
stringData:
  password: pa55-w0rd-for-db
  port: "5432"
  url: postgres://app:pa55-w0rd-for-db@db:5432/shop
data:
  token: dG9rZW4tdmFsdWUtMTIzNDU=
`;

const artifactOf = (files: Record<string, string>): Artifact => ({ source: 'test', revision: 'r1', files: memoryFileTree(files) });
const strip = (objects: KubeObject[]) => JSON.parse(JSON.stringify(objects)) as KubeObject[];

async function throwsSops(promise: Promise<unknown>): Promise<SopsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SopsError);
  return error as SopsError;
}

describe('sopsDecrypt on documents the reference sops encrypted', () => {
  for (const [name, args] of [
    ['age', ageArgs],
    ['PGP', pgpArgs],
  ] as const) {
    it(`decrypts a Secret encrypted the Flux way (${name}) to exactly what sops decrypt prints`, async () => {
      const encrypted = sops.encrypt('secret.yaml', SECRET, [...args(), ...FLUX]);
      expect(encrypted).toContain('ENC[AES256_GCM');
      expect(encrypted).not.toContain('pa55-w0rd-for-db');
      const expected = parseManifests(sops.decrypt('secret.yaml', encrypted).toString('utf8'), 'deploy/secret.yaml');
      const render = pipe(yamlFiles(), sopsDecrypt(keys()));
      const objects = await render({ artifact: artifactOf({ 'deploy/secret.yaml': encrypted }) });
      expect(strip(objects)).toEqual(strip(expected));
      expect(objects[0]!['sops']).toBeUndefined();
    });
  }

  it('decrypts objects that did not come from a file (e.g. a Kustomize output), from the object itself', async () => {
    const encrypted = sops.encrypt('secret.yaml', SECRET, [...ageArgs(), ...FLUX]);
    const [obj] = parseManifests(encrypted, 'x.yaml');
    const copy = JSON.parse(JSON.stringify(obj)) as KubeObject; // no origin
    const out = await sopsDecrypt(keys())([copy], { artifact: artifactOf({}) });
    expect(strip(out)).toEqual(strip(parseManifests(sops.decrypt('s.yaml', encrypted).toString('utf8'), 'x.yaml')));
  });

  it('honours unencrypted_regex, and a multi-document file checked as a whole', async () => {
    const text = `${SECRET}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: shop\ndata:\n  api-key: key-abcdef-123456\n  replicas: "3"\n`;
    const encrypted = sops.encrypt('all.yaml', text, [...ageArgs(), '--unencrypted-regex', '^(apiVersion|kind|metadata|type)$']);
    expect(encrypted.match(/^sops:/gm)).toHaveLength(2); // sops writes its block in every document; the first one counts
    const render = pipe(yamlFiles(), sopsDecrypt(keys()));
    const objects = await render({ artifact: artifactOf({ 'all.yaml': encrypted }) });
    expect(strip(objects)).toEqual(strip(parseManifests(sops.decrypt('all.yaml', encrypted).toString('utf8'), 'all.yaml')));
    expect(objects[1]!['data']).toEqual({ 'api-key': 'key-abcdef-123456', replicas: '3' });
  });

  it('honours mac_only_encrypted: plain values may change, encrypted ones may not', async () => {
    const config = `creation_rules:\n  - age: ${sops.age.recipient}\n    encrypted_regex: '^(data|stringData)$'\n    mac_only_encrypted: true\n`;
    const encrypted = sops.encrypt('secret.yaml', SECRET, [], config);
    expect(encrypted).toMatch(/mac_only_encrypted: true/);
    const relabelled = encrypted.replace('tier: backend', 'tier: frontend');
    expect(sops.decrypt('secret.yaml', relabelled).toString('utf8')).toContain('tier: frontend');
    const objects = await pipe(yamlFiles(), sopsDecrypt(keys()))({ artifact: artifactOf({ 's.yaml': relabelled }) });
    expect((objects[0]!['stringData'] as Record<string, string>)['password']).toBe('pa55-w0rd-for-db');
  });
});

describe('key groups', () => {
  it('combines Shamir shares from two key groups (age + PGP, threshold 2), and needs both', async () => {
    const config = `creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [${sops.age.recipient}]\n      - pgp: [${sops.pgp.fingerprint}]\n`;
    const encrypted = sops.encrypt('app.env', 'TOKEN=shamir-split-secret\n', [], config);
    expect(encrypted).toContain('sops_shamir_threshold=2');
    const expected = sops.decrypt('app.env', encrypted).toString('utf8');
    expect((await decryptSopsFile(encrypted, { path: 'app.env', ...keys() })).plaintext).toBe(expected);
    const error = await throwsSops(decryptSopsFile(encrypted, { path: 'app.env', ageIdentities: [sops.age.identity] }));
    expect(error.code).toBe('SOPS_NO_MATCHING_KEY');
    expect(error.data['recipients']).toEqual([sops.pgp.fingerprint]);
  });
});

const TYPED_YAML = `app:
  name: shop
  replicas: 3
  ratio: 0.25
  big: 1.5e+300
  enabled: true
  empty: ""
  nothing: null
  octal: 0644
  when: 2024-01-02
  yes_word: yes
  multi: |
    line one
    line two
  list:
    - a
    - 2
    - nested: value
      flag: false
password_secret: hunter2-secret
comment_plain: keep-me
`;

describe('decryptSopsFile: every format and rule, compared with sops decrypt', () => {
  const cases: Array<[string, string, string | Buffer, string[]]> = [
    ['yaml, all values', 'values.yaml', TYPED_YAML, []],
    ['yaml, encrypted_suffix', 'values.yaml', TYPED_YAML, ['--encrypted-suffix', '_secret']],
    ['yaml, unencrypted_suffix', 'values.yaml', TYPED_YAML, ['--unencrypted-suffix', '_plain']],
    ['yaml, encrypted_regex', 'values.yaml', TYPED_YAML, ['--encrypted-regex', '^(password|list)']],
    ['yaml, unencrypted_regex', 'values.yaml', TYPED_YAML, ['--unencrypted-regex', '^app$']],
    ['json', 'config.json', JSON.stringify({ user: 'admin', password: 'j50n-p4ss<&>', port: 8080, ratio: 1.5, on: true, none: null, list: [1, 'two', { x: 'y' }], empty: {} }, null, 2), []],
    ['dotenv', 'app.env', '# database\nDB_USER=app\nDB_PASSWORD=d0tenv-secret-value\nMULTI=a\\nb\nEMPTY=\n', []],
    ['ini', 'app.ini', '[database]\nuser = app\npassword = ini-secret-value\n\n[cache]\nhost = redis\n', []],
    ['binary', 'tls.key', Buffer.from('-----BEGIN KEY-----\nbinary-secret-\u00e9\n-----END KEY-----\n'), []],
  ];
  for (const [label, name, plaintext, args] of cases) {
    for (const [keyName, keyArgs] of [
      ['age', ageArgs],
      ['PGP', pgpArgs],
    ] as const) {
      it(`${label} (${keyName})`, async () => {
        const encrypted = sops.encrypt(name, plaintext, [...keyArgs(), ...args]);
        const expected = sops.decrypt(name, encrypted).toString('utf8');
        const result = await decryptSopsFile(encrypted, { path: name, ...keys() });
        if (result.format === 'yaml') {
          // Same data, same key order; the layout is this package's.
          expect(parseYaml(result.plaintext, { version: '1.2' })).toEqual(parseYaml(expected, { version: '1.2' }));
          expect(Object.keys(parseYaml(result.plaintext) as object)).toEqual(Object.keys(parseYaml(expected) as object));
        } else {
          expect(result.plaintext).toBe(expected);
        }
      });
    }
  }
});

describe('bad input, each a typed error that names the file and never a key or a value', () => {
  it('no matching key: names the recipients and the keys tried, not the key material', async () => {
    const encrypted = sops.encrypt('secret.yaml', SECRET, [...ageArgs(), ...FLUX]);
    const render = pipe(yamlFiles(), sopsDecrypt({ ageIdentities: [sops.otherAge.identity] }));
    const error = await throwsSops(render({ artifact: artifactOf({ 'secret.yaml': encrypted }) }));
    expect(error.code).toBe('SOPS_NO_MATCHING_KEY');
    expect(error.message).toContain('secret.yaml');
    expect(error.data['recipients']).toEqual([sops.age.recipient]);
    expect(error.data['tried']).toEqual([sops.otherAge.recipient]);
    expect(inspect(error, { depth: 10 })).not.toMatch(/AGE-SECRET-KEY|pa55-w0rd/);
  });

  it('no keys at all for a PGP file: names the fingerprint', async () => {
    const encrypted = sops.encrypt('app.env', 'A=b-secret-value\n', pgpArgs());
    const error = await throwsSops(decryptSopsFile(encrypted, { path: 'app.env' }));
    expect(error.code).toBe('SOPS_NO_MATCHING_KEY');
    expect(error.message).toContain(sops.pgp.fingerprint);
  });

  it('a value tampered after encryption fails, as it does for sops', async () => {
    const encrypted = sops.encrypt('secret.yaml', SECRET, [...ageArgs(), ...FLUX]);
    const tampered = encrypted.replace(/(password: ENC\[AES256_GCM,data:)(.)/, (_, head: string, c: string) => head + (c === 'A' ? 'B' : 'A'));
    expect(tampered).not.toBe(encrypted);
    expect(() => sops.decrypt('secret.yaml', tampered)).toThrow();
    const error = await throwsSops(pipe(yamlFiles(), sopsDecrypt(keys()))({ artifact: artifactOf({ 's.yaml': tampered }) }));
    expect(error.code).toBe('SOPS_DECRYPT_FAILED');
    expect(error.data['path']).toBe('stringData.password');
  });

  it('a plain value changed after encryption fails the MAC, as it does for sops', async () => {
    const encrypted = sops.encrypt('secret.yaml', SECRET, [...ageArgs(), ...FLUX]);
    const tampered = encrypted.replace('namespace: shop', 'namespace: prod');
    expect(() => sops.decrypt('secret.yaml', tampered)).toThrow();
    const error = await throwsSops(pipe(yamlFiles(), sopsDecrypt(keys()))({ artifact: artifactOf({ 's.yaml': tampered }) }));
    expect(error.code).toBe('SOPS_MAC_MISMATCH');
  });

  it('an encrypted value moved to another key fails (paths are authenticated)', async () => {
    const encrypted = sops.encrypt('app.env', 'A=first-secret\nB=second-secret\n', ageArgs());
    const a = /^A=(.*)$/m.exec(encrypted)![1]!;
    const b = /^B=(.*)$/m.exec(encrypted)![1]!;
    const swapped = encrypted.replace(`A=${a}`, `A=${b}`).replace(`B=${b}`, `B=${a}`);
    const error = await throwsSops(decryptSopsFile(swapped, { path: 'app.env', ...keys() }));
    expect(error.code).toBe('SOPS_DECRYPT_FAILED');
  });

  it('KMS/Vault-only files: says which key types are supported', async () => {
    const encrypted = sops.encrypt('app.env', 'A=some-secret\n', ageArgs());
    const kmsOnly = encrypted
      .split('\n')
      .filter((l) => !l.startsWith('sops_age__'))
      .join('\n')
      .concat('sops_kms__list_0__map_arn=arn:aws:kms:eu-west-1:1:key/abc\nsops_kms__list_0__map_enc=AQID\n');
    const error = await throwsSops(decryptSopsFile(kmsOnly, { path: 'app.env', ...keys() }));
    expect(error.code).toBe('SOPS_UNSUPPORTED_KEY_TYPE');
    expect(error.message).toMatch(/kms arn:aws:kms.*age identities and OpenPGP/);
  });

  it('a malformed sops block, a comment rule and an unreadable key are typed too', async () => {
    const encrypted = sops.encrypt('secret.yaml', SECRET, [...ageArgs(), ...FLUX]);
    const noMac = encrypted.replace(/^ {4}mac: .*$/m, '');
    expect((await throwsSops(decryptSopsFile(noMac, { path: 'secret.yaml', ...keys() }))).code).toBe('SOPS_MALFORMED');
    const commentRule = encrypted.replace(/^ {4}encrypted_regex: .*$/m, "    encrypted_comment_regex: 'x'");
    expect((await throwsSops(decryptSopsFile(commentRule, { path: 'secret.yaml', ...keys() }))).code).toBe('SOPS_UNSUPPORTED');
    const bad = await throwsSops(decryptSopsFile(encrypted, { path: 'secret.yaml', ageIdentities: ['AGE-SECRET-KEY-1NOTAKEY'] }));
    expect(bad.code).toBe('SOPS_INVALID_KEY');
    expect(bad.message).not.toContain('NOTAKEY');
  });
});

describe('decrypted values are masked everywhere', () => {
  const CONFIG = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  api-key: cfg-api-key-7f3a9b
  mode: fast
`;

  it('in results, events, status, plans and errors, even when the object is not a Secret', async () => {
    const encrypted = sops.encrypt('settings.yaml', CONFIG, [...ageArgs(), '--encrypted-regex', '^api-key$']);
    const source = memorySource({ 'settings.yaml': encrypted });
    const sink = new MemorySink();
    const events: ReconcileEvent[] = [];
    const render = pipe(yamlFiles(), sopsDecrypt(keys()));
    const reconciler = createReconciler({ name: 'app', source, render, sink });
    reconciler.on('*', (e) => events.push(e));
    const ok = await reconciler.reconcile();
    expect(ok.status).toBe('succeeded');
    expect((sink.objects()[0]!['data'] as Record<string, string>)['api-key']).toBe('cfg-api-key-7f3a9b');

    const desired = await render({ artifact: await source.fetch() });
    const planText = ['text', 'markdown', 'json'].map((format) => formatPlan(plan({ desired, live: [], inventory: [] }), { format: format as 'text' }));
    expect(planText.join('\n')).toContain('mode: fast');

    sink.fail({ op: 'apply', times: 5, error: new SinkError('APPLY_FAILED', 'server rejected value cfg-api-key-7f3a9b', { cause: new Error('field api-key=cfg-api-key-7f3a9b invalid') }) });
    source.replace({ 'settings.yaml': encrypted, 'other.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n  namespace: shop\n' });
    const failed = await reconciler.reconcile();
    expect(failed.status).toBe('failed');

    const printed = inspect({ ok, failed, events, status: reconciler.status(), planText }, { depth: 20 });
    expect(printed).not.toContain('cfg-api-key-7f3a9b');
    expect(printed).not.toContain(Buffer.from('cfg-api-key-7f3a9b').toString('base64'));
    expect(printed).toContain('*** (masked)');
  });

  it('in objects a generator builds from an encrypted file (sopsDecryptFiles)', async () => {
    const encrypted = sops.encrypt('app.env', 'TOKEN=env-token-5e8d1c\nMODE=plain-mode\n', ['--age', sops.age.recipient, '--encrypted-regex', '^TOKEN$']);
    // A stand-in generator: a ConfigMap from the env file, as Kustomize's configMapGenerator builds it.
    const generator = async ({ artifact }: { artifact: Artifact }): Promise<KubeObject[]> => {
      const text = Buffer.from(await artifact.files.read('app.env')).toString('utf8');
      const data = Object.fromEntries(text.trim().split('\n').map((l) => l.split('=') as [string, string]));
      return [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'env', namespace: 'shop' }, data }];
    };
    const objects = await sopsDecryptFiles(generator, keys())({ artifact: artifactOf({ 'app.env': encrypted }) });
    expect(objects[0]!['data']).toEqual({ TOKEN: 'env-token-5e8d1c', MODE: 'plain-mode' });
    const text = formatPlan(plan({ desired: objects, live: [], inventory: [] }));
    expect(text).not.toContain('env-token-5e8d1c');
    expect(text).toContain('MODE: plain-mode');
  });
});
