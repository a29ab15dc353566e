// Issue 14's acceptance for SOPS: a git repository holding Secrets that the reference sops
// encrypted (age and PGP, the Flux way) reconciles into a real kube-apiserver, and no plaintext
// value reaches an event, a result, an error, a plan or a log line — also when a pass fails.
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { createReconciler, formatPlan, pipe, plan, refOf, yamlFiles, type ReconcileEvent, type ReconcileResult, type Renderer } from '@converge/core';
import { gitSource } from '@converge/git-source';
import { startGitServer, type GitServer } from '@converge/git-source/testing';
import { kubeSink, type KubeRequestInfo, type KubeSink } from '@converge/kube-sink';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sopsDecrypt } from '../src/index.js';
import { referenceSops, type ReferenceSops } from './reference-sops.js';

const id = randomUUID().slice(0, 6);
const ns = `sops-${id}`;
const FLUX = ['--encrypted-regex', '^(data|stringData)$'];
/** Every value that must never be printed, with the base64 form the API server stores. */
const PLAINTEXT = {
  agePassword: `age-db-password-${id}`,
  ageToken: `age-api-token-${id}`,
  pgpPassword: `pgp-db-password-${id}`,
  rotated: `age-rotated-password-${id}`,
};
const secrets = Object.values(PLAINTEXT).flatMap((v) => [v, Buffer.from(v).toString('base64')]);

const secretYaml = (name: string, password: string, token?: string) => `apiVersion: v1
kind: Secret
metadata:
  name: ${name}
  namespace: ${ns}
type: Opaque
stringData:
  password: ${password}
${token ? `data:\n  token: ${Buffer.from(token).toString('base64')}\n` : ''}`;

const env = await useTestEnv();
const core = env.kubeConfig.makeApiClient(CoreV1Api);
let sops: ReferenceSops;
let git: GitServer;
let sink: KubeSink;
let render: Renderer;
const requests: KubeRequestInfo[] = [];

/** Every output of a pass, as text: results, events, status, errors (with causes), plans in every format, log lines, stdout and stderr. */
const printed: string[] = [];

beforeAll(async () => {
  sops = await referenceSops(inject('sopsBin'));
  git = await startGitServer();
  await git.createRepo('config');
  await core.createNamespace({ body: { metadata: { name: ns } } });
  sink = kubeSink({ kubeConfig: env.kubeConfig, fieldManager: `sops-${id}`, inventory: { name: `sops-${id}`, namespace: ns }, onRequest: (info) => requests.push(info) });
  render = pipe(yamlFiles(), sopsDecrypt({ ageIdentities: [sops.age.identity], pgpPrivateKeys: [sops.pgp.privateKey] }));
}, 120_000);

afterAll(async () => {
  await sink?.close();
  await git?.close();
  sops?.close();
  await core.deleteNamespace({ name: ns }).catch(() => {});
});

const ageSecret = (password: string) => sops.encrypt('db.yaml', secretYaml('db', password, PLAINTEXT.ageToken), ['--age', sops.age.recipient, ...FLUX]);
const pgpSecret = () => sops.encrypt('cache.yaml', secretYaml('cache', PLAINTEXT.pgpPassword), ['--pgp', sops.pgp.fingerprint, ...FLUX]);
const settings = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ${ns}\ndata:\n  mode: fast\n`;

const reconciler = () =>
  createReconciler({ name: `sops-${id}`, source: gitSource({ url: git.repoUrl('config'), ref: { branch: 'main' } }), render, sink, prune: true });

/**
 * One pass with everything it prints captured: the plan against the live cluster (text,
 * Markdown, JSON), every event, a JSON log line per event (as the pull agent writes them), the
 * result, the status, and whatever reached stdout or stderr meanwhile.
 */
async function capturedPass(r: ReturnType<typeof reconciler>): Promise<ReconcileResult> {
  const events: ReconcileEvent[] = [];
  const off = r.on('*', (e) => {
    events.push(e);
    printed.push(JSON.stringify({ level: e.type === 'pass.failed' ? 'error' : 'info', ...e, ...('error' in e && { error: { code: e.error.code, message: e.error.message, data: e.error.data } }) }));
  });
  const writes: string[] = [];
  const stdout = process.stdout.write.bind(process.stdout);
  const stderr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => (writes.push(String(chunk)), stdout(chunk, ...rest))) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => (writes.push(String(chunk)), stderr(chunk, ...rest))) as typeof process.stderr.write;
  try {
    const desired = await render({ artifact: await gitSource({ url: git.repoUrl('config'), ref: { branch: 'main' } }).fetch() }).catch((error: unknown) => {
      printed.push(inspect(error, { depth: 20 }));
      return undefined;
    });
    if (desired) {
      const inventory = (await sink.readInventory(`sops-${id}`)) ?? [];
      const live = await sink.get(desired.map(refOf));
      const p = plan({ desired, live, inventory, prune: true });
      for (const format of ['text', 'markdown', 'json'] as const) printed.push(formatPlan(p, { format }));
    }
    const result = await r.reconcile();
    printed.push(inspect({ result, events, status: r.status() }, { depth: 20 }), JSON.stringify(result), ...writes);
    return result;
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
    off();
  }
}

async function secretData(name: string): Promise<Record<string, string>> {
  const secret = await core.readNamespacedSecret({ name, namespace: ns });
  return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

function expectNoPlaintext(): void {
  const all = printed.join('\n');
  expect(all.length).toBeGreaterThan(1000); // something was captured
  for (const value of secrets) expect(all).not.toContain(value);
}

describe('a git repository with SOPS-encrypted Secrets, reconciled into a real control plane', () => {
  it('applies the plaintext of age- and PGP-encrypted Secrets; the repository holds only ciphertext', async () => {
    const files = { 'deploy/db.yaml': ageSecret(PLAINTEXT.agePassword), 'deploy/cache.yaml': pgpSecret(), 'deploy/settings.yaml': settings };
    for (const text of Object.values(files)) for (const value of secrets) expect(text).not.toContain(value);
    await git.commitFiles('config', files, 'encrypted secrets');

    const result = await capturedPass(reconciler());
    expect(result).toMatchObject({ status: 'succeeded', counts: { created: 3 } });
    expect(await secretData('db')).toEqual({ password: PLAINTEXT.agePassword, token: PLAINTEXT.ageToken });
    expect(await secretData('cache')).toEqual({ password: PLAINTEXT.pgpPassword });
    const stored = await core.readNamespacedSecret({ name: 'db', namespace: ns });
    expect(JSON.stringify(stored)).not.toMatch(/ENC\[|"sops"/);
    expect(requests.some((r) => r.method === 'PATCH' && r.path.includes('/secrets/db'))).toBe(true);
    expectNoPlaintext();
  });

  it('rotates a value: the plan shows the Secret changing, masked, and the cluster holds the new value', async () => {
    await git.commitFiles('config', { 'deploy/db.yaml': ageSecret(PLAINTEXT.rotated) }, 'rotate the db password');
    const before = printed.length;
    const result = await capturedPass(reconciler());
    expect(result).toMatchObject({ status: 'succeeded', counts: { updated: 1 } });
    expect((await secretData('db'))['password']).toBe(PLAINTEXT.rotated);
    const planText = printed.slice(before).find((t) => t.includes('Secret'));
    expect(planText).toMatch(/masked/);
    expectNoPlaintext();
  });

  it('a tampered file fails the pass with a typed MAC error: nothing is pruned, nothing changes, nothing is printed', async () => {
    const good = ageSecret(PLAINTEXT.rotated);
    const tampered = good.replace(/^( +)namespace: (.*)$/m, '$1namespace: $2\n$1labels: { tampered: "yes" }');
    expect(() => sops.decrypt('db.yaml', tampered)).toThrow(); // the reference agrees: the MAC covers plain values
    // The same commit removes the ConfigMap: a failed pass must not prune it.
    await git.deleteFiles('config', ['deploy/settings.yaml'], 'drop settings');
    await git.commitFiles('config', { 'deploy/db.yaml': tampered }, 'tampered');
    const writesBefore = requests.filter((r) => r.write).length;

    const r = reconciler();
    const result = await capturedPass(r);
    expect(result.status).toBe('failed');
    if (result.status !== 'failed') return;
    expect(result.error.code).toBe('SOPS_MAC_MISMATCH');
    expect(result.error.message).toContain('deploy/db.yaml');
    expect(requests.filter((r) => r.write).length).toBe(writesBefore);
    await expect(core.readNamespacedConfigMap({ name: 'settings', namespace: ns })).resolves.toMatchObject({ data: { mode: 'fast' } });
    expect(await secretData('db')).toEqual({ password: PLAINTEXT.rotated, token: PLAINTEXT.ageToken });
    expect((await core.readNamespacedSecret({ name: 'db', namespace: ns })).metadata?.labels?.['tampered']).toBeUndefined();
    expectNoPlaintext();
  });
});
