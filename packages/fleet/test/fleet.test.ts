import { pipe, substitute, yamlFiles, type Source } from '@converge/core';
import { MemorySink, memorySource } from '@converge/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { AppSpecError, createFleet, type AppSpec, type FleetEvent } from '../src/index.js';

const workload = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: registry.local/shop:\${BRANCH}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: env
data:
  environment: \${NAME}
`;

const template = `namespace: preview-\${NAME}
source: { path: app }
vars:
  NAME: \${NAME}
`;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn();
});

/** The specs of these tests: `source.path` is a folder of the same repository. */
type PathSpec = AppSpec<{ path: string }> & { source: { path: string } };

function parsePathSpec(spec: AppSpec, { file }: { file: string }): PathSpec {
  const path = spec.source?.['path'];
  if (typeof path !== 'string') throw new AppSpecError(`${file}: source.path must be a string`, { file });
  return { ...spec, source: { path } };
}

function previews(repo: Source, sink: MemorySink) {
  return createFleet({
    name: 'previews',
    source: repo,
    path: 'apps',
    sink,
    parseSpec: parsePathSpec,
    createApp: (spec) => ({ source: repo, render: pipe(yamlFiles({ path: spec.source.path }), substitute(spec.vars ?? {})) }),
  });
}

function setup() {
  const repo = memorySource({ 'app/workload.yaml': workload, 'apps/_template.yaml': template });
  const sink = new MemorySink();
  const fleet = previews(repo, sink);
  const events: FleetEvent[] = [];
  fleet.on('*', (e) => events.push(e));
  cleanups.push(() => fleet.stop());
  return { repo, sink, fleet, events };
}

const inNamespace = (sink: MemorySink, ns: string) =>
  sink
    .objects()
    .filter((o) => o.metadata.namespace === ns || (o.kind === 'Namespace' && o.metadata.name === ns))
    .map((o) => `${o.kind}/${o.metadata.name}`)
    .sort();

describe('createFleet', () => {
  it('a new spec file creates its namespace and workloads; deleting the file tears them down', async () => {
    const { repo, sink, fleet } = setup();
    repo.write('apps/feature-x.yaml', 'vars:\n  BRANCH: feature-x\n');
    const added = await fleet.reconcile();
    expect(added).toMatchObject({ status: 'succeeded', added: ['feature-x'] });
    expect(added.apps['feature-x']).toMatchObject({ status: 'succeeded', counts: { created: 3 } });
    expect(inNamespace(sink, 'preview-feature-x')).toEqual(['ConfigMap/env', 'Deployment/web', 'Namespace/preview-feature-x']);
    const image = (sink.objects().find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers[0]!.image;
    expect(image).toBe('registry.local/shop:feature-x');

    repo.remove('apps/feature-x.yaml');
    const removed = await fleet.reconcile();
    expect(removed).toMatchObject({ status: 'succeeded', removed: ['feature-x'] });
    expect(sink.objects()).toEqual([]);
    expect(fleet.app('feature-x')).toBeUndefined();
    // No record is left behind for a short-lived environment.
    expect(await sink.readInventory('previews-feature-x')).toBeUndefined();
  });

  it('an application removed while the fleet was not running is torn down by the next fleet (after a restart)', async () => {
    const { repo, sink, fleet } = setup();
    repo.write('apps/a.yaml', 'vars:\n  BRANCH: a\n');
    repo.write('apps/b.yaml', 'vars:\n  BRANCH: b\n');
    await fleet.reconcile();
    await fleet.stop();
    expect(inNamespace(sink, 'preview-b')).toHaveLength(3);

    // The process restarts; meanwhile b's file was deleted.
    repo.remove('apps/b.yaml');
    const restarted = previews(repo, sink);
    cleanups.push(() => restarted.stop());
    const result = await restarted.reconcile();
    expect(result).toMatchObject({ status: 'succeeded', added: ['a'], removed: ['b'] });
    expect(inNamespace(sink, 'preview-b')).toEqual([]);
    expect(inNamespace(sink, 'preview-a')).toHaveLength(3);
    expect(await sink.readInventory('previews-b')).toBeUndefined();
    expect((await sink.readInventory('fleet:previews'))?.map((r) => r.name)).toEqual(['a']);
  });

  it('a broken spec file fails the fleet pass and prunes no application', async () => {
    const { repo, sink, fleet } = setup();
    repo.write('apps/a.yaml', 'vars:\n  BRANCH: a\n');
    repo.write('apps/b.yaml', 'vars:\n  BRANCH: b\n');
    await fleet.reconcile();
    const before = sink.objects();

    repo.remove('apps/b.yaml');
    repo.write('apps/c.yaml', 'vars: [not, a, map\n');
    const result = await fleet.reconcile();
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ code: 'APP_SPEC_INVALID' });
    expect(result.error?.data.position?.file).toBe('apps/c.yaml');
    expect(sink.objects()).toEqual(before);
    expect(Object.keys(fleet.status().apps).sort()).toEqual(['a', 'b']);
  });

  it.each([
    ['interval: 60000\n', /apps\/a\.yaml: interval is now intervalMs \(milliseconds\)/],
    ['wait: { timeout: 60000 }\n', /apps\/a\.yaml: wait needs timeoutMs.*\(timeout is now timeoutMs\)/],
    ['intervalMs: 1m\n', /apps\/a\.yaml: intervalMs must be a number/],
  ])('a spec file whose duration is not a number under a …Ms name (%j) is refused, naming the field', async (spec, message) => {
    const { repo, sink, fleet } = setup();
    repo.write('apps/a.yaml', spec);
    const result = await fleet.reconcile();
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ code: 'APP_SPEC_INVALID', data: { position: { file: 'apps/a.yaml' } } });
    expect(result.error?.message).toMatch(message);
    expect(sink.objects()).toEqual([]);
  });

  it('a changed spec file reconfigures that application only', async () => {
    const { repo, sink, fleet } = setup();
    repo.write('apps/a.yaml', 'vars:\n  BRANCH: one\n');
    repo.write('apps/b.yaml', 'vars:\n  BRANCH: b\n');
    await fleet.reconcile();
    repo.write('apps/a.yaml', 'vars:\n  BRANCH: two\n');
    const result = await fleet.reconcile();
    expect(result).toMatchObject({ updated: ['a'], added: [], removed: [] });
    expect(result.apps['a']!.counts.updated).toBe(1);
    expect(result.apps['b']!.counts).toMatchObject({ updated: 0, unchanged: 3 });
    const images = sink.objects().filter((o) => o.kind === 'Deployment').map((o) => (o as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers[0]!.image);
    expect(images.sort()).toEqual(['registry.local/shop:b', 'registry.local/shop:two']);
  });

  it('an application waits for the ones it depends on', async () => {
    const { repo, sink, fleet } = setup();
    repo.write('apps/db.yaml', 'vars:\n  BRANCH: db\n');
    repo.write('apps/api.yaml', 'vars:\n  BRANCH: api\ndependsOn: [db]\n');
    sink.fail({ op: 'apply', ref: { group: 'apps', kind: 'Deployment', namespace: 'preview-db', name: 'web' } });
    const first = await fleet.reconcile();
    expect(first.apps['db']!.status).toBe('failed');
    expect(first.apps['api']!.error).toMatchObject({ code: 'GATE_BLOCKED' });
    expect(first.apps['api']!.error!.message).toContain('db (not applied yet)');
    expect(inNamespace(sink, 'preview-api')).toEqual([]);

    const second = await fleet.reconcile();
    expect(second.apps['db']!.status).toBe('succeeded');
    expect(second.apps['api']!.status).toBe('succeeded');
    expect(inNamespace(sink, 'preview-api')).toHaveLength(3);
  });

  it('rejects a dependency cycle without touching anything', async () => {
    const { repo, sink, fleet } = setup();
    repo.write('apps/a.yaml', 'vars:\n  BRANCH: a\ndependsOn: [b]\n');
    repo.write('apps/b.yaml', 'vars:\n  BRANCH: b\ndependsOn: [a]\n');
    const result = await fleet.reconcile();
    expect(result.error?.message).toContain('dependency cycle');
    expect(sink.writes).toBe(0);
  });

  it('shows every application in one status view and forwards their events', async () => {
    const { repo, fleet, events } = setup();
    repo.write('apps/a.yaml', 'vars:\n  BRANCH: a\n');
    await fleet.reconcile();
    const status = fleet.status();
    expect(status.apps['a']).toMatchObject({ name: 'previews-a', managedObjects: 3, spec: { namespace: 'preview-a' } });
    expect(events.some((e) => e.type === 'app.added' && e.app === 'a')).toBe(true);
    expect(events.some((e) => e.type === 'object.applied' && e.reconciler === 'previews-a')).toBe(true);
  });
});
