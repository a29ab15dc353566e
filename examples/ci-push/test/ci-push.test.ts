// converge-push as a pipeline runs it: a subprocess with --kubeconfig, against a real etcd +
// kube-apiserver, reading a local folder (a CI checkout) or a repository on a real git server.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { startGitServer, type GitServer } from '@converge/git-source/testing';
import { kubeSink, type KubeSink } from '@converge/kube-sink';
import { ociSource } from '@converge/oci';
import { startRegistry, type TestRegistry } from '@converge/oci/testing';
import { giteaForge, planCommentMarker, type Forge } from '@converge/forge';
import { startGitea, type TestGitea } from '@converge/forge/testing';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const id = randomUUID().slice(0, 6);
const ns = `push-${id}`;
const password = `s3cret-${id}`;
const newPassword = `rotated-${id}`;

const env = await useTestEnv();
const core = env.kubeConfig.makeApiClient(CoreV1Api);
const apps = env.kubeConfig.makeApiClient(AppsV1Api);

let work: string;
let git: GitServer;
let sink: KubeSink;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `converge-push <args>` as CI would, against the test control plane (never the default kubeconfig). */
function push(...args: string[]): Promise<Run> {
  return runPush(args, {});
}

/** The same on GitHub Actions, where failures become `::error::` annotations. */
function pushOnGitHub(...args: string[]): Promise<Run> {
  return runPush(args, { GITHUB_ACTIONS: 'true' });
}

function runPush(args: string[], extraEnv: Record<string, string | undefined>): Promise<Run> {
  const { GITHUB_ACTIONS: _, ...inherited } = process.env;
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { timeout: 80_000, env: { ...inherited, KUBECONFIG: '/nonexistent', ...extraEnv } }, (error, stdout, stderr) => {
      const run = { code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr };
      if (process.env['CI_PUSH_DEBUG']) appendFileSync(process.env['CI_PUSH_DEBUG'], `$ converge-push ${args.join(' ')}\n${stdout}${stderr}→ exit ${run.code}\n\n`);
      resolve(run);
    });
  });
}

const kube = () => ['--kubeconfig', env.kubeconfigPath];

function manifests(greeting: string, secret: string, namespace = ns): Record<string, string> {
  return {
    'deploy/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${namespace} }\n`,
    'deploy/config.yaml': `apiVersion: v1
kind: ConfigMap
metadata: { name: app-config }
data:
  greeting: ${greeting}
  environment: \${ENVIRONMENT}
`,
    'deploy/service.yaml': `apiVersion: v1
kind: Service
metadata: { name: app }
spec:
  selector: { app: app }
  ports: [{ port: 80, targetPort: 8080 }]
`,
    'deploy/secret.yaml': `apiVersion: v1\nkind: Secret\nmetadata: { name: app-db }\nstringData: { password: ${secret} }\n`,
  };
}

async function writeTree(root: string, files: Record<string, string>): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  return root;
}

function expectNoSecret(run: Run): void {
  for (const value of [password, newPassword]) {
    for (const text of [run.stdout, run.stderr]) {
      expect(text).not.toContain(value);
      expect(text).not.toContain(Buffer.from(value).toString('base64'));
    }
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ci-push-test-'));
  await writeTree(join(work, 'checkout'), manifests('hello', password));
  git = await startGitServer();
  sink = kubeSink({ kubeConfig: env.kubeConfig });
});

afterAll(async () => {
  await sink?.close();
  await git?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('converge-push against a real control plane', () => {
  const checkout = () => ['--dir', join(work, 'checkout'), '--path', 'deploy', '--namespace', ns, '--name', `app-${id}`, '--var', 'ENVIRONMENT=staging'];

  it('exits 64 with the usage on bad usage', async () => {
    for (const args of [[], ['deploy', '--dir', '.'], ['diff'], ['diff', '--dir', '.', '--repo', 'http://x'], ['apply', '--dir', '.', '--wait-timeout', 'soon'], ['diff', '--dir', '.', '--bogus']]) {
      const run = await push(...args);
      expect(run.code, args.join(' ')).toBe(64);
      expect(run.stderr).toContain('usage: converge-push <diff|apply>');
    }
  });

  it('diff on an empty cluster exits 2 and prints a readable plan with Secret values masked', async () => {
    const run = await push('diff', ...checkout(), ...kube());
    expect(run.stderr).toBe('');
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout).toContain(`+ Namespace ${ns} (create)`);
    expect(run.stdout).toContain(`+ ConfigMap ${ns}/app-config (create)`);
    expect(run.stdout).toContain(`+ Service ${ns}/app (create)`);
    expect(run.stdout).toContain(`+ Secret ${ns}/app-db (create)`);
    expect(run.stdout).toMatch(/environment: staging/);
    expect(run.stdout).toContain('4 to create, 0 to update, 0 to prune');
    expectNoSecret(run);
  });

  it('apply --dry-run validates on the server and persists nothing', async () => {
    const run = await push('apply', '--dry-run', ...checkout(), ...kube());
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(`created ConfigMap ${ns}/app-config (dry run)`);
    expect(run.stdout).toMatch(/^dry run of \S+ passed in [\d.]+ s; nothing was persisted$/m);
    expectNoSecret(run);
    await expect(core.readNamespace({ name: ns })).rejects.toMatchObject({ code: 404 });
    expect(await sink.readInventory(`app-${id}`)).toBeUndefined();
  });

  it('apply exits 0 once everything is applied and healthy; the objects exist', async () => {
    const run = await push('apply', '--wait-timeout', '60', ...checkout(), ...kube());
    expect(run.stderr).toBe('');
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(`created Secret ${ns}/app-db`);
    expect(run.stdout).toMatch(new RegExp(`health ConfigMap ${ns}/app-config: Current`));
    expect(run.stdout).toMatch(/^applied \S+ in [\d.]+ s$/m);
    expectNoSecret(run);

    expect((await core.readNamespacedConfigMap({ name: 'app-config', namespace: ns })).data).toEqual({ greeting: 'hello', environment: 'staging' });
    expect((await core.readNamespacedService({ name: 'app', namespace: ns })).spec?.ports?.[0]?.port).toBe(80);
    const secret = await core.readNamespacedSecret({ name: 'app-db', namespace: ns });
    expect(Buffer.from(secret.data!['password']!, 'base64').toString()).toBe(password);
    expect((await sink.readInventory(`app-${id}`))?.length).toBe(4);
  });

  it('diff again exits 0 and says "no changes"', async () => {
    const run = await push('diff', ...checkout(), ...kube());
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('no changes');
    expect(run.stdout).toContain('0 to create, 0 to update, 0 to prune');
  });

  it('shows a changed Secret as masked and a changed ConfigMap field as old → new', async () => {
    await writeTree(join(work, 'checkout'), manifests('hello-again', newPassword));
    const diff = await push('diff', ...checkout(), ...kube());
    expect(diff.code).toBe(2);
    expect(diff.stdout).toContain(`~ ConfigMap ${ns}/app-config (update)`);
    expect(diff.stdout).toContain('~ /data/greeting: "hello" → "hello-again"');
    expect(diff.stdout).toContain(`~ Secret ${ns}/app-db (update)`);
    expectNoSecret(diff);

    const apply = await push('apply', ...checkout(), ...kube());
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    expect(apply.stdout).toContain(`updated Secret ${ns}/app-db`);
    expectNoSecret(apply);
    const secret = await core.readNamespacedSecret({ name: 'app-db', namespace: ns });
    expect(Buffer.from(secret.data!['password']!, 'base64').toString()).toBe(newPassword);
  });

  it('apply exits 1 naming the invalid object and the API server’s reason', async () => {
    const dir = await writeTree(join(work, 'invalid'), {
      'deploy/ok.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: fine }\ndata: { a: "1" }\n`,
      'deploy/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: { name: no-selector }
spec:
  replicas: 1
  template:
    metadata: { labels: { app: x } }
    spec: { containers: [{ name: x, image: registry.example/x:1 }] }
`,
    });
    const run = await pushOnGitHub('apply', '--dir', dir, '--path', 'deploy', '--namespace', ns, '--name', `invalid-${id}`, ...kube());
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain(`FAILED Deployment.apps ${ns}/no-selector`);
    expect(run.stderr).toMatch(/^::error::converge-push apply failed \[KUBE_INVALID\]: Deployment.apps \S+\/no-selector is invalid: spec.selector: Required value/m);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    await expect(apps.readNamespacedDeployment({ name: 'no-selector', namespace: ns })).rejects.toMatchObject({ code: 404 });
  });

  it('apply exits 1 with HEALTH_TIMEOUT when a Deployment does not become available in time', async () => {
    const dir = await writeTree(join(work, 'slow'), {
      'deploy/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: { name: never-ready }
spec:
  replicas: 1
  selector: { matchLabels: { app: never-ready } }
  template:
    metadata: { labels: { app: never-ready } }
    spec: { containers: [{ name: app, image: registry.example/app:1 }] }
`,
    });
    const started = Date.now();
    const run = await push('apply', '--dir', dir, '--path', 'deploy', '--namespace', ns, '--name', `slow-${id}`, '--wait-timeout', '3', ...kube());
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain(`created Deployment.apps ${ns}/never-ready`);
    expect(run.stderr).toMatch(/^error: converge-push apply failed \[HEALTH_TIMEOUT\]: not healthy after 3000 ms: Deployment.apps \S+\/never-ready \(InProgress/m);
    expect(Date.now() - started).toBeLessThan(30_000);
    // The object was applied; only the wait failed.
    expect((await apps.readNamespacedDeployment({ name: 'never-ready', namespace: ns })).spec?.replicas).toBe(1);
  });

  it('reads a private repository with a token from --git-token-env, and never prints the token', async () => {
    const token = `tok-${id}`;
    const privateGit = await startGitServer({ auth: { token } });
    try {
      await privateGit.createRepo('private');
      await privateGit.commitFiles('private', { 'cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: private-cm, namespace: ${ns} }\ndata: { a: "1" }\n` }, 'private');
      const args = ['diff', '--repo', privateGit.repoUrl('private'), '--name', `private-${id}`, ...kube()];

      const without = await push(...args);
      expect(without.code).toBe(1);
      expect(without.stderr).toMatch(/^error: converge-push diff failed \[\w+\]: .*(401|auth)/im);

      const unset = await push(...args, '--git-token-env', 'CI_PUSH_TEST_UNSET_TOKEN');
      expect(unset.code).toBe(64);
      expect(unset.stderr).toContain('--git-token-env CI_PUSH_TEST_UNSET_TOKEN: the variable is not set');

      const withToken = await runPush([...args, '--git-token-env', 'GIT_TOKEN'], { GIT_TOKEN: token });
      expect(withToken.code, withToken.stdout + withToken.stderr).toBe(2);
      expect(withToken.stdout).toContain(`+ ConfigMap ${ns}/private-cm (create)`);
      for (const run of [without, withToken]) expect(run.stdout + run.stderr).not.toContain(token);
    } finally {
      await privateGit.close();
    }
  });

  it('applies from a repository on a git server: --repo with --branch and --path', async () => {
    await git.createRepo('env');
    const repoNs = `${ns}-git`;
    await git.commitFiles(
      'env',
      {
        'deploy/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${repoNs} }\n`,
        'deploy/config.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: from-git }\ndata: { greeting: "\${GREETING}" }\n`,
      },
      'env',
    );
    const args = ['--repo', git.repoUrl('env'), '--branch', 'main', '--path', 'deploy', '--namespace', repoNs, '--name', `git-${id}`, '--var', 'GREETING=hi from git', ...kube()];
    const diff = await push('diff', ...args);
    expect(diff.code).toBe(2);
    expect(diff.stdout).toContain(`converge-push diff: main@sha1:${await git.revParse('env', 'main')}`);
    expect(diff.stdout).toContain(`+ ConfigMap ${repoNs}/from-git (create)`);

    const apply = await push('apply', ...args);
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    expect((await core.readNamespacedConfigMap({ name: 'from-git', namespace: repoNs })).data).toEqual({ greeting: 'hi from git' });

    await git.deleteFiles('env', ['deploy/config.yaml'], 'drop the config map');
    const prune = await push('apply', ...args);
    expect(prune.code).toBe(0);
    expect(prune.stdout).toContain(`pruned ConfigMap ${repoNs}/from-git`);
    await expect(core.readNamespacedConfigMap({ name: 'from-git', namespace: repoNs })).rejects.toMatchObject({ code: 404 });
  });
});

describe('converge-push comment against a real Gitea', () => {
  const commentNs = `comment-${id}`;
  let gitea: TestGitea;
  let repository: string;
  let forge: Forge;
  let mergeRequest: number;
  beforeAll(async () => {
    gitea = await startGitea();
    repository = await gitea.createRepo('deploy');
    await gitea.commitFiles(repository, { 'deploy/config.yaml': 'changed on the branch' }, 'a change', { branch: 'change', from: 'main' });
    mergeRequest = (await gitea.api<{ number: number }>('POST', `/repos/${repository}/pulls`, { head: 'change', base: 'main', title: 'A change' })).number;
    forge = giteaForge({ url: gitea.url, repository, token: gitea.admin.token });
  });
  afterAll(async () => gitea?.stop());

  const forgeFlags = () => ['--forge', 'gitea', '--forge-url', gitea.url, '--forge-repo', repository, '--merge-request', String(mergeRequest), '--forge-token-env', 'FORGE_TOKEN'];
  const comment = (dir: string, name: string, token = gitea.admin.token) =>
    runPush(['comment', '--dir', dir, '--path', 'deploy', '--namespace', commentNs, '--name', name, ...forgeFlags(), ...kube()], { FORGE_TOKEN: token });
  const bodyOf = async (name: string) => (await forge.listComments(mergeRequest)).filter((c) => c.body.startsWith(planCommentMarker(name)));

  it('posts the plan on the merge request, then updates that one comment when the plan changes; Secret values masked, the token never printed', async () => {
    const first = await comment(await writeTree(join(work, 'comment-1'), manifests('hello', password, commentNs)), `plan-${id}`);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toContain('4 to create, 0 to update, 0 to prune');
    expect(first.stdout).toMatch(new RegExp(`^converge-push comment: created comment \\d+ on #${mergeRequest} of ${repository}$`, 'm'));
    let comments = await bodyOf(`plan-${id}`);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain(`ConfigMap ${commentNs}/app-config`);
    expect(comments[0]!.body).toContain('hello');
    expect(comments[0]!.body).toMatch(/Revision `sha256:[0-9a-f]+`/);

    // A new push to the merge request: a changed plan updates the same comment.
    const second = await comment(await writeTree(join(work, 'comment-2'), manifests('bonjour', newPassword, commentNs)), `plan-${id}`);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toContain(`converge-push comment: updated comment ${comments[0]!.id} on #${mergeRequest}`);
    comments = await bodyOf(`plan-${id}`);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('bonjour');
    expect(comments[0]!.body).not.toContain('hello');
    // The same plan again writes nothing.
    expect((await comment(join(work, 'comment-2'), `plan-${id}`)).stdout).toContain(`comment already up to date ${comments[0]!.id}`);

    for (const body of [comments[0]!.body, first.stdout, second.stdout]) {
      for (const value of [password, newPassword]) {
        expect(body).not.toContain(value);
        expect(body).not.toContain(Buffer.from(value).toString('base64'));
      }
    }
    for (const run of [first, second]) expect(run.stdout + run.stderr).not.toContain(gitea.admin.token);
  });

  it('cuts a large plan to the forge’s limit with a note of what was left out, in a comment of its own per --name', async () => {
    const big: Record<string, string> = { 'deploy/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${commentNs} }\n` };
    for (let i = 0; i < 40; i++) big[`deploy/cm-${i}.yaml`] = `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: big-${i} }\ndata:\n${Array.from({ length: 40 }, (_, j) => `  key-${j}: "${'x'.repeat(60)}"`).join('\n')}\n`;
    const run = await comment(await writeTree(join(work, 'comment-big'), big), `big-${id}`);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('41 to create');
    const [large] = await bodyOf(`big-${id}`);
    expect(large!.body.length).toBeGreaterThan(60_000);
    expect(large!.body.length).toBeLessThanOrEqual(forge.maxCommentLength);
    expect(large!.body).toContain('41 to create');
    expect(large!.body).toMatch(/… \d+ more lines not shown/);
    // The first reconciler's comment is still there, on its own.
    expect(await bodyOf(`plan-${id}`)).toHaveLength(1);
  });

  it('exits 64 without the forge flags or with the token variable unset; 1 with FORGE_UNAUTHORIZED for a wrong token, which it never prints', async () => {
    const dir = join(work, 'comment-1');
    const missing = await push('comment', '--dir', dir, '--forge', 'gitea', '--forge-url', gitea.url, '--merge-request', '1', '--forge-token-env', 'X', ...kube());
    expect(missing.code).toBe(64);
    expect(missing.stderr).toContain('comment needs --forge-repo owner/name');
    expect((await push('diff', '--dir', dir, ...forgeFlags(), ...kube())).stderr).toContain('go with comment');
    const unset = await push('comment', '--dir', dir, ...forgeFlags(), ...kube());
    expect(unset.code).toBe(64);
    expect(unset.stderr).toContain('--forge-token-env FORGE_TOKEN: the variable is not set');

    const wrong = await comment(dir, `plan-${id}`, `wrong-token-${id}`);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^error: converge-push comment failed \[FORGE_UNAUTHORIZED\]/m);
    expect(wrong.stdout + wrong.stderr).not.toContain(`wrong-token-${id}`);
  });
});

describe('converge-push push-artifact against a real registry', () => {
  let registry: TestRegistry;
  const registryPassword = `reg-${id}`;
  beforeAll(async () => {
    registry = await startRegistry({ basicAuth: { username: 'ci', password: registryPassword } });
  });
  afterAll(async () => registry?.stop());

  it('pushes the folder in Flux format, and ociSource deploys exactly those files; the password is never printed', async () => {
    const url = `oci://${registry.host}/acme/deploy`;
    // A checkout of its own: the apply tests above change theirs.
    const checkout = await writeTree(join(work, 'artifact'), manifests('hello', password));
    const run = await runPush(
      ['push-artifact', '--dir', checkout, '--path', 'deploy', '--to', `${url}:main`, '--source', 'https://git.example/acme', '--revision', 'main@sha1:1234',
        '--registry-user', 'ci', '--registry-password-env', 'REGISTRY_PASSWORD', '--insecure-registry'],
      { REGISTRY_PASSWORD: registryPassword },
    );
    expect(run.code, run.stderr).toBe(0);
    const revision = /revision (main@sha256:[a-f0-9]{64})/.exec(run.stdout)?.[1];
    expect(revision).toBeDefined();
    expect(run.stdout + run.stderr).not.toContain(registryPassword);

    const source = ociSource({ url, ref: { tag: 'main' }, insecure: true, auth: { username: 'ci', password: registryPassword } });
    expect(await source.latestRevision()).toBe(revision);
    const artifact = await source.fetch(revision);
    const expected = Object.fromEntries(Object.entries(manifests('hello', password)).map(([path, text]) => [path.replace(/^deploy\//, ''), text]));
    const got: Record<string, string> = {};
    for (const path of await artifact.files.list()) got[path] = Buffer.from(await artifact.files.read(path)).toString('utf8');
    expect(got).toEqual(expected);
  });

  it('exits 1 with OCI_DENIED on a wrong password, and 64 without --to', async () => {
    const denied = await runPush(
      ['push-artifact', '--dir', join(work, 'checkout'), '--to', `oci://${registry.host}/acme/deploy:x`, '--registry-user', 'ci', '--registry-password-env', 'REGISTRY_PASSWORD', '--insecure-registry'],
      { REGISTRY_PASSWORD: 'wrong-one' },
    );
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('[OCI_DENIED]');
    expect(denied.stderr).not.toContain('wrong-one');
    expect((await push('push-artifact', '--dir', join(work, 'checkout'))).code).toBe(64);
  });
});
