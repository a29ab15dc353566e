import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReconciler, directorySource, exponentialBackoff, GateError, yamlFiles, type KubeObject, type ReconcileEvent } from '@converge/core';
import { freePort, MemorySink, nextEvent } from '@converge/core/testing';
import { imagesExist, type BlockedImage } from '../src/images-exist.js';
import { startRegistry, type TestRegistry } from '../src/testing/registry-server.js';
import { fixtureRepo } from './support/fixture-repo.js';
import { startTokenService, type TokenService } from './support/token-service.js';

const ctx = { revision: 'test' };

function deployment(name: string, images: { containers: string[]; initContainers?: string[] }): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'demo' },
    spec: {
      template: {
        spec: {
          containers: images.containers.map((image, i) => ({ name: `c${i}`, image })),
          ...(images.initContainers && { initContainers: images.initContainers.map((image, i) => ({ name: `i${i}`, image })) }),
        },
      },
    },
  };
}

const blockedImages = (result: Awaited<ReturnType<ReturnType<typeof imagesExist>['check']>>) =>
  result.ok ? [] : ((result.data?.['images'] ?? []) as BlockedImage[]);

describe('imagesExist against a real registry (anonymous, http)', () => {
  let registry: TestRegistry;
  let digest: string;
  let indexDigest: string;
  beforeAll(async () => {
    registry = await startRegistry();
    digest = await registry.push('team/api', '1.2.3');
    indexDigest = await registry.pushIndex('team/multi', '2.0.0');
  }, 60_000);
  afterAll(() => registry?.stop());

  const gate = () => imagesExist({ insecureRegistries: [registry.host] });

  it('passes when every image exists', async () => {
    const result = await gate().check([deployment('api', { containers: [`${registry.host}/team/api:1.2.3`] })], ctx);
    expect(result).toEqual({ ok: true });
  });

  it('blocks on a missing tag, naming the image and asking whether CI pushed it', async () => {
    const image = `${registry.host}/team/api:9.9.9`;
    const result = await gate().check([deployment('api', { containers: [`${registry.host}/team/api:1.2.3`], initContainers: [image] })], ctx);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toBe(`image ${image} not found — has CI pushed it yet?`);
    expect(blockedImages(result)).toEqual([
      { image, usedBy: [{ group: 'apps', kind: 'Deployment', namespace: 'demo', name: 'api' }], registry: registry.host, reason: 'missing' },
    ]);
  });

  it('blocks on a repository that does not exist, listing every missing image once', async () => {
    const a = `${registry.host}/team/nope:1`;
    const b = `${registry.host}/other/nope:2`;
    const result = await gate().check([deployment('x', { containers: [a, b] }), deployment('y', { containers: [a] })], ctx);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toBe(`images ${a}, ${b} not found — has CI pushed them yet?`);
    expect(blockedImages(result).find((x) => x.image === a)?.usedBy.map((r) => r.name)).toEqual(['x', 'y']);
  });

  it('checks a digest-pinned image by its digest', async () => {
    const absent = `sha256:${'0'.repeat(64)}`;
    expect(await gate().check([deployment('api', { containers: [`${registry.host}/team/api@${digest}`] })], ctx)).toEqual({ ok: true });
    const pinnedAway = await gate().check([deployment('api', { containers: [`${registry.host}/team/api@${absent}`] })], ctx);
    expect(pinnedAway.ok).toBe(false);
  });

  it('checks the digest, not the tag, of a tag+digest reference', async () => {
    const absent = `sha256:${'1'.repeat(64)}`;
    const existingTagWrongDigest = await gate().check([deployment('api', { containers: [`${registry.host}/team/api:1.2.3@${absent}`] })], ctx);
    expect(existingTagWrongDigest.ok).toBe(false);
    const missingTagRightDigest = await gate().check([deployment('api', { containers: [`${registry.host}/team/api:0.0.0@${digest}`] })], ctx);
    expect(missingTagRightDigest).toEqual({ ok: true });
  });

  it('accepts multi-platform image indexes, by tag and by digest', async () => {
    const objects = [deployment('multi', { containers: [`${registry.host}/team/multi:2.0.0`, `${registry.host}/team/multi@${indexDigest}`] })];
    expect(await gate().check(objects, ctx)).toEqual({ ok: true });
  });

  it('finds images in every workload kind, including CronJob job templates', async () => {
    const missing = (n: string) => `${registry.host}/kinds/${n}:1`;
    const pod = (image: string) => ({ containers: [{ name: 'c', image }] });
    const objects: KubeObject[] = [
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { ...pod(missing('pod')), ephemeralContainers: [{ name: 'e', image: missing('ephemeral') }] } },
      { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c' }, spec: { jobTemplate: { spec: { template: { spec: pod(missing('cronjob')) } } } } },
    ];
    const result = await gate().check(objects, ctx);
    expect(blockedImages(result).map((b) => b.image)).toEqual([missing('pod'), missing('ephemeral'), missing('cronjob')]);
  });

  it('skips images matching an ignore glob', async () => {
    const objects = [deployment('api', { containers: [`${registry.host}/team/api:1.2.3`, `${registry.host}/thirdparty/tool:1`] })];
    expect((await gate().check(objects, ctx)).ok).toBe(false);
    expect(await imagesExist({ insecureRegistries: [registry.host], ignore: [`${registry.host}/thirdparty/**`] }).check(objects, ctx)).toEqual({ ok: true });
  });

  it('blocks, naming the registry, when the registry speaks http but https was expected', async () => {
    const result = await imagesExist({ timeoutMs: 3000 }).check([deployment('api', { containers: [`${registry.host}/team/api:1.2.3`] })], ctx);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toBe(
      `registry ${registry.host} is unreachable (TLS handshake failed: it seems to speak plain HTTP; mark the registry insecure if that is intended); could not check ${registry.host}/team/api:1.2.3`,
    );
  });
});

describe('imagesExist when the registry is down', () => {
  it('blocks with a retryable message that names the registry, once for all its images', async () => {
    const host = `127.0.0.1:${await freePort()}`;
    const objects = [deployment('api', { containers: [`${host}/a:1`, `${host}/b:1`, `${host}/c:1`] })];
    const result = await imagesExist({ insecureRegistries: [host], concurrency: 1 }).check(objects, ctx);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toMatch(new RegExp(`^registry ${host} is unreachable \\(.*ECONNREFUSED.*\\); could not check ${host}/a:1, ${host}/b:1, ${host}/c:1$`));
    expect(new GateError('images-exist', result.message, result.data).retryable).toBe(true);
  });
});

describe('imagesExist with a registry that requires Basic auth', () => {
  const password = 's3cret-Pa55word';
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ basicAuth: { username: 'ci', password } });
    await registry.push('private/app', '1.0.0');
  }, 60_000);
  afterAll(() => registry?.stop());

  const objects = () => [deployment('app', { containers: [`${registry.host}/private/app:1.0.0`] })];

  it('passes with the right credentials', async () => {
    const gate = imagesExist({ insecureRegistries: [registry.host], auth: { [registry.host]: { username: 'ci', password } } });
    expect(await gate.check(objects(), ctx)).toEqual({ ok: true });
  });

  it('still reports a missing image as missing once logged in', async () => {
    const gate = imagesExist({ insecureRegistries: [registry.host], auth: { [registry.host]: { username: 'ci', password } } });
    const result = await gate.check([deployment('app', { containers: [`${registry.host}/private/app:2.0.0`] })], ctx);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toBe(`image ${registry.host}/private/app:2.0.0 not found — has CI pushed it yet?`);
  });

  it('blocks with "requires credentials" when none are configured', async () => {
    const result = await imagesExist({ insecureRegistries: [registry.host] }).check(objects(), ctx);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toBe(`registry ${registry.host} refused access to ${registry.host}/private/app:1.0.0: the registry requires credentials and none are configured for it (HTTP 401)`);
  });

  it('blocks on a wrong password without ever showing it', async () => {
    const wrong = 'wr0ng-Pa55word';
    const gate = imagesExist({ insecureRegistries: [registry.host], auth: { [registry.host]: { username: 'ci', password: wrong } } });
    const result = await gate.check(objects(), ctx);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toContain('rejected the configured credentials');
    const everything = JSON.stringify(result) + new GateError('images-exist', result.message, result.data).message;
    expect(everything).not.toContain(wrong);
    expect(everything).not.toContain(Buffer.from(`ci:${wrong}`).toString('base64'));
  });
});

describe('imagesExist with a registry that uses a token service (Bearer auth)', () => {
  const password = 'tok3n-Pa55word';
  let dir: string;
  let tokens: TokenService;
  let registry: TestRegistry;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'converge-token-'));
    tokens = await startTokenService({ username: 'robot', password, certPath: join(dir, 'signer.pem') });
    registry = await startRegistry({ authConfig: tokens.authConfig, pushAuthorization: async (scope) => `Bearer ${tokens.mint(scope)}` });
    await registry.push('secure/app', '1.0.0');
    await registry.push('secure/app', '1.0.1');
    await registry.push('secure/worker', '1.0.0');
  }, 60_000);
  afterAll(async () => {
    await registry?.stop();
    await tokens?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gets a pull token for each repository with the configured credentials and passes', async () => {
    tokens.requests.length = 0;
    const gate = imagesExist({ insecureRegistries: [registry.host, tokens.host], auth: { [registry.host]: { username: 'robot', password } } });
    const objects = [deployment('app', { containers: [`${registry.host}/secure/app:1.0.0`, `${registry.host}/secure/app:1.0.1`, `${registry.host}/secure/worker:1.0.0`] })];
    expect(await gate.check(objects, ctx)).toEqual({ ok: true });
    // One token per repository, reused across tags; scope and service from the registry's challenge.
    expect(tokens.requests.map((r) => r.scope).sort()).toEqual([['repository:secure/app:pull'], ['repository:secure/worker:pull']]);
    expect(tokens.requests.every((r) => r.user === 'robot' && r.service === 'converge-test-registry')).toBe(true);
  });

  it('reports a missing image as missing with a valid token', async () => {
    const gate = imagesExist({ insecureRegistries: [registry.host, tokens.host], auth: { [registry.host]: { username: 'robot', password } } });
    const result = await gate.check([deployment('app', { containers: [`${registry.host}/secure/app:2.0.0`] })], ctx);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toBe(`image ${registry.host}/secure/app:2.0.0 not found — has CI pushed it yet?`);
  });

  it('blocks when the token service refuses the credentials, without showing them', async () => {
    const wrong = 'n0t-the-Pa55word';
    const gate = imagesExist({ insecureRegistries: [registry.host, tokens.host], auth: { [registry.host]: { username: 'robot', password: wrong } } });
    const result = await gate.check([deployment('app', { containers: [`${registry.host}/secure/app:1.0.0`] })], ctx);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toBe(
      `registry ${registry.host} refused access to ${registry.host}/secure/app:1.0.0: the token service rejected the configured credentials (HTTP 401)`,
    );
    expect(JSON.stringify(result)).not.toContain(wrong);
  });

  it('never sends the credentials over plain HTTP to a token service not marked insecure', async () => {
    tokens.requests.length = 0;
    const gate = imagesExist({ insecureRegistries: [registry.host], auth: { [registry.host]: { username: 'robot', password } } });
    const result = await gate.check([deployment('app', { containers: [`${registry.host}/secure/app:1.0.0`] })], ctx);
    expect(result.ok).toBe(false);
    expect(tokens.requests.length).toBeGreaterThan(0);
    expect(tokens.requests.every((r) => r.user === undefined)).toBe(true);
  });

  it('blocks when no credentials are configured and anonymous tokens are refused', async () => {
    const result = await imagesExist({ insecureRegistries: [registry.host] }).check([deployment('app', { containers: [`${registry.host}/secure/app:1.0.0`] })], ctx);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain('the token service refused an anonymous token (HTTP 401); configure credentials');
  });

  it('accepts a ready bearer token', async () => {
    const token = tokens.mint('repository:secure/app:pull');
    const gate = imagesExist({ insecureRegistries: [registry.host], auth: { [registry.host]: { token } } });
    expect(await gate.check([deployment('app', { containers: [`${registry.host}/secure/app:1.0.0`] })], ctx)).toEqual({ ok: true });
    const other = await gate.check([deployment('w', { containers: [`${registry.host}/secure/worker:1.0.0`] })], ctx);
    expect(other.ok).toBe(false);
    if (!other.ok) {
      expect(other.message).toContain('rejected the configured credentials (HTTP 401)');
      expect(other.message).not.toContain(token);
    }
  });
});

describe('a reconciler with the image gate', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  }, 60_000);
  afterAll(() => registry?.stop());

  it('applies nothing while the image is missing, then applies once CI has pushed it and the pass retries', async () => {
    const image = `${registry.host}/shop/web:3.1.0`;
    const repo = fixtureRepo({
      'web.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
spec:
  template:
    spec:
      containers:
        - name: web
          image: ${image}
`,
    });
    const sink = new MemorySink();
    const reconciler = createReconciler({
      name: 'web',
      source: directorySource(repo.root),
      render: yamlFiles(),
      sink,
      gates: [imagesExist({ insecureRegistries: [registry.host] })],
      retry: exponentialBackoff({ initialMs: 100, maxMs: 200, jitter: 0 }),
      intervalMs: 600_000,
    });
    const events: ReconcileEvent[] = [];
    reconciler.on('*', (e) => events.push(e));
    try {
      const failed = nextEvent(reconciler, 'pass.failed');
      reconciler.start();
      const { error, retryInMs } = await failed;
      expect(error.code).toBe('GATE_BLOCKED');
      expect(error.retryable).toBe(true);
      expect(error.message).toBe(`gate images-exist: image ${image} not found — has CI pushed it yet?`);
      expect(retryInMs).toBe(100);
      await nextEvent(reconciler, 'pass.failed'); // the retry is blocked too
      expect(sink.objects()).toEqual([]);
      expect(sink.writes).toBe(0);
      expect(events.filter((e) => e.type === 'gate.blocked').length).toBeGreaterThanOrEqual(2);

      const succeeded = nextEvent(reconciler, 'pass.succeeded');
      await registry.push('shop/web', '3.1.0');
      expect((await succeeded).counts.created).toBe(1);
      expect(sink.objects().map((o) => o.metadata.name)).toEqual(['web']);
      expect(reconciler.status().consecutiveFailures).toBe(0);
    } finally {
      await reconciler.stop();
      repo.dispose();
    }
  }, 30_000);
});
