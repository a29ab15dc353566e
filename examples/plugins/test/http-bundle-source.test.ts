import { inspect } from 'node:util';
import { createReconciler, yamlFiles } from '@converge/core';
import { MemorySink } from '@converge/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { rejection } from './helpers/rejection.ts';
import { httpBundleSource } from '../src/http-bundle-source.ts';
import { startBundleServer, type BundleServer } from './helpers/bundle-server.ts';

const CONFIG = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: shop, namespace: shop }\ndata: { color: blue }\n';
let server: BundleServer;
afterEach(() => server?.close());

describe('httpBundleSource', () => {
  it('checks the revision with one HEAD request that downloads nothing', async () => {
    server = await startBundleServer({ 'deploy/app.yaml': CONFIG });
    const source = httpBundleSource({ url: server.url });
    const revision = await source.latestRevision();
    expect(revision).toMatch(/^etag:"[0-9a-f]{16}"$/);
    expect(server.requests).toEqual([expect.objectContaining({ method: 'HEAD', sentBody: false })]);
    expect(await source.latestRevision()).toBe(revision);
  });

  it('fetches the files at the revision, and downloads a revision only once', async () => {
    server = await startBundleServer({ 'deploy/app.yaml': CONFIG });
    const source = httpBundleSource({ url: server.url });
    const revision = await source.latestRevision();
    const artifact = await source.fetch(revision);
    expect(artifact).toMatchObject({ source: source.id, revision });
    expect(await artifact.files.list()).toEqual(['deploy/app.yaml']);
    expect(new TextDecoder().decode(await artifact.files.read('deploy/app.yaml'))).toBe(CONFIG);

    expect(await source.fetch(revision)).toBe(artifact); // known revision: no request at all
    expect(await source.fetch()).toBe(artifact); // latest, unchanged: a 304, no body
    expect(server.requests.map((r) => [r.method, r.sentBody])).toEqual([['HEAD', false], ['GET', true], ['GET', false]]);
    expect(server.requests[2]?.ifNoneMatch).toBe(revision.slice('etag:'.length));
  });

  it('sees a changed bundle as a new revision, and refuses to pass the new content off as an old revision', async () => {
    server = await startBundleServer({ 'a.yaml': CONFIG });
    const source = httpBundleSource({ url: server.url });
    const first = await source.latestRevision();
    server.setFiles({ 'b.yaml': CONFIG });
    const second = await source.latestRevision();
    expect(second).not.toBe(first);
    const error = await rejection(source.fetch(first));
    expect(error.code).toBe('REVISION_NOT_FOUND');
    expect(error.retryable).toBe(true);
    expect(await (await source.fetch(second)).files.list()).toEqual(['b.yaml']);
  });

  it('sends the token as a bearer token and keeps it out of its id and errors', async () => {
    server = await startBundleServer({ 'a.yaml': CONFIG }, { token: 's3cr3t-token' });
    const good = httpBundleSource({ url: `${server.url}?sig=abc`, token: 's3cr3t-token' });
    await good.fetch(await good.latestRevision());
    expect(server.requests[0]?.authorization).toBe('Bearer s3cr3t-token');
    expect(good.id).toBe(`http:${new URL(server.url).origin}/bundles/shop.json`);

    const bad = httpBundleSource({ url: server.url, token: 'wrong-token-value' });
    const error = await rejection(bad.latestRevision());
    expect(error.code).toBe('SOURCE_UNAUTHORIZED');
    expect(error.retryable).toBe(false);
    expect(inspect(error, { depth: 10 })).not.toContain('wrong-token-value');
  });

  it('gives up on a server that does not answer within timeoutMs, retryably', async () => {
    server = await startBundleServer({ 'a.yaml': CONFIG });
    server.mode = 'stall';
    const started = Date.now();
    const error = await rejection(httpBundleSource({ url: server.url, timeoutMs: 200 }).latestRevision());
    expect(error.code).toBe('SOURCE_TIMEOUT');
    expect(error.retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("stops when the caller's signal aborts, rejecting with the signal's reason", async () => {
    server = await startBundleServer({ 'a.yaml': CONFIG });
    server.mode = 'stall';
    const controller = new AbortController();
    const pending = httpBundleSource({ url: server.url }).fetch(undefined, { signal: controller.signal });
    const reason = new DOMException('the pass was cancelled', 'AbortError');
    setTimeout(() => controller.abort(reason), 50);
    await expect(pending).rejects.toBe(reason);
  });

  it('types what goes wrong on the server side', async () => {
    server = await startBundleServer({ 'a.yaml': CONFIG });
    const source = httpBundleSource({ url: server.url, maxBytes: 1_000 });
    server.mode = { status: 503 };
    expect(await rejection(source.latestRevision())).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true });
    server.mode = { status: 404 };
    expect((await rejection(source.latestRevision())).code).toBe('SOURCE_NOT_FOUND');
    server.mode = 'no-etag';
    expect((await rejection(source.latestRevision())).message).toMatch(/sent no ETag.*serve it with an ETag header/);
    server.mode = 'serve';
    server.setFiles({ 'big.yaml': 'x'.repeat(2_000) });
    expect((await rejection(source.fetch())).code).toBe('BUNDLE_TOO_LARGE');
    server.setBody('{"files": {"a.yaml": "password: hunter2"');
    const invalid = await rejection(source.fetch());
    expect(invalid.code).toBe('BUNDLE_INVALID');
    expect(inspect(invalid, { depth: 10 })).not.toContain('hunter2');
  });

  it('reports a server that is not there as unreachable, retryably', async () => {
    server = await startBundleServer({});
    const url = server.url;
    await server.close();
    expect(await rejection(httpBundleSource({ url }).latestRevision())).toMatchObject({ code: 'SOURCE_UNREACHABLE', retryable: true });
  });

  it('drives a reconciler: applies the bundle, follows a change, and fails a pass labelled with the source when the server is down', async () => {
    server = await startBundleServer({ 'app.yaml': CONFIG });
    const source = httpBundleSource({ url: server.url });
    const sink = new MemorySink();
    const r = createReconciler({ name: 'shop', source, render: yamlFiles(), sink });

    expect((await r.reconcile()).counts.created).toBe(1);
    server.setFiles({ 'app.yaml': CONFIG.replace('blue', 'green') });
    expect((await r.reconcile()).counts.updated).toBe(1);
    expect(sink.objects().find((o) => o.kind === 'ConfigMap')?.['data']).toEqual({ color: 'green' });

    server.mode = { status: 502 };
    const writes = sink.writes;
    const failed = await r.reconcile();
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'SOURCE_UNAVAILABLE', data: { stage: 'source', plugin: source.id } });
    expect(sink.writes).toBe(writes);
  });
});
