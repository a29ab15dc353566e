import { mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { directorySource } from '../../src/directory-source.js';

let base: string;
let dir: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'converge-dirsource-'));
  dir = join(base, 'deploy');
  await mkdir(join(dir, 'apps'), { recursive: true });
  await writeFile(join(dir, 'ns.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n');
  await writeFile(join(dir, 'apps', 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n');
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('directorySource', () => {
  it('is identified by the absolute path of its directory', () => {
    expect(directorySource(dir).id).toBe(`dir:${dir}`);
  });

  it('gives the same sha256 revision while the directory is unchanged', async () => {
    const source = directorySource(dir);
    const first = await source.latestRevision();
    expect(first).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await source.latestRevision()).toBe(first);
    expect(await directorySource(join(base, 'deploy', '.')).latestRevision()).toBe(first);
  });

  it('changes the revision when a file is edited, added, removed or renamed', async () => {
    const source = directorySource(dir);
    const revisions = new Set([await source.latestRevision()]);
    await writeFile(join(dir, 'ns.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: api\n');
    revisions.add(await source.latestRevision());
    await writeFile(join(dir, 'extra.yaml'), '');
    revisions.add(await source.latestRevision());
    await unlink(join(dir, 'extra.yaml'));
    revisions.add(await source.latestRevision());
    await writeFile(join(dir, 'apps', 'cm2.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n');
    await unlink(join(dir, 'apps', 'cm.yaml'));
    revisions.add(await source.latestRevision());
    // Removing the extra file restores a revision seen before; every other step is new.
    expect(revisions.size).toBe(4);
  });

  it('ignores excluded files in the revision and the artifact', async () => {
    const source = directorySource(dir, { exclude: ['**/*.md'] });
    const before = await source.latestRevision();
    await writeFile(join(dir, 'README.md'), 'notes');
    expect(await source.latestRevision()).toBe(before);
    expect(await (await source.fetch()).files.list()).toEqual(['apps/cm.yaml', 'ns.yaml']);
  });

  it('fetches a snapshot that later edits to the directory do not change', async () => {
    const source = directorySource(dir);
    const artifact = await source.fetch();
    expect(artifact).toMatchObject({ source: `dir:${dir}`, revision: await source.latestRevision() });
    await writeFile(join(dir, 'ns.yaml'), 'changed');
    await rm(join(dir, 'apps'), { recursive: true });
    expect(await artifact.files.list()).toEqual(['apps/cm.yaml', 'ns.yaml']);
    expect(text(await artifact.files.read('ns.yaml'))).toContain('kind: Namespace');
  });

  it('fetches the current revision by name, and fails with REVISION_NOT_FOUND once it is gone', async () => {
    const source = directorySource(dir);
    const revision = await source.latestRevision();
    expect((await source.fetch(revision)).revision).toBe(revision);
    await writeFile(join(dir, 'ns.yaml'), 'changed');
    await expect(source.fetch(revision)).rejects.toMatchObject({ code: 'REVISION_NOT_FOUND', data: { revision } });
  });

  it('fails with SOURCE_NOT_FOUND for a directory that does not exist', async () => {
    await expect(directorySource(join(base, 'missing')).latestRevision()).rejects.toMatchObject({ code: 'SOURCE_NOT_FOUND' });
  });

  it('refuses a directory holding a symlink to a file outside it', async () => {
    await writeFile(join(base, 'outside.yaml'), 'secret');
    await symlink(join(base, 'outside.yaml'), join(dir, 'apps', 'leak.yaml'));
    await expect(directorySource(dir).fetch()).rejects.toMatchObject({ code: 'PATH_ESCAPE', data: { path: 'apps/leak.yaml' } });
  });

  it('stops reading when the signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(directorySource(dir).fetch(undefined, { signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
