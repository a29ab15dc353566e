import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { directoryFileTree } from '../../src/directory-file-tree.js';
import { PathEscapeError } from '../../src/errors.js';

let base: string;
let root: string;
let outside: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'converge-dirtree-'));
  root = join(base, 'root');
  outside = join(base, 'outside');
  await mkdir(join(root, 'apps', 'web'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(root, 'ns.yaml'), 'namespace');
  await writeFile(join(root, 'apps', 'web', 'deploy.yaml'), 'deployment');
  await writeFile(join(outside, 'secret.yaml'), 'secret from outside');
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('directoryFileTree', () => {
  it('lists files recursively, sorted, as /-separated paths from the root', async () => {
    await writeFile(join(root, 'apps', 'a.yaml'), '');
    const tree = directoryFileTree(root);
    expect(await tree.list()).toEqual(['apps/a.yaml', 'apps/web/deploy.yaml', 'ns.yaml']);
    expect(await tree.list('apps/web')).toEqual(['apps/web/deploy.yaml']);
    expect(text(await tree.read('apps/web/deploy.yaml'))).toBe('deployment');
  });

  it('leaves .git out of listings and refuses to read from it', async () => {
    await mkdir(join(root, '.git'));
    await writeFile(join(root, '.git', 'config'), '[core]');
    const tree = directoryFileTree(root);
    expect(await tree.list()).not.toContain('.git/config');
    await expect(tree.read('.git/config')).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });

  it('rejects a missing file with FILE_NOT_FOUND', async () => {
    await expect(directoryFileTree(root).read('nope.yaml')).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });

  it('refuses a .. path that leaves the root', async () => {
    const tree = directoryFileTree(root);
    await expect(tree.read('../outside/secret.yaml')).rejects.toBeInstanceOf(PathEscapeError);
    await expect(tree.read('apps/../../outside/secret.yaml')).rejects.toMatchObject({ code: 'PATH_ESCAPE' });
  });

  it('refuses to list a tree holding a symlink to a file outside the root, naming the link', async () => {
    await symlink(join(outside, 'secret.yaml'), join(root, 'apps', 'leak.yaml'));
    const tree = directoryFileTree(root);
    await expect(tree.list()).rejects.toMatchObject({ code: 'PATH_ESCAPE', data: { path: 'apps/leak.yaml', position: { file: 'apps/leak.yaml' } } });
    await expect(tree.read('apps/leak.yaml')).rejects.toMatchObject({ code: 'PATH_ESCAPE', data: { path: 'apps/leak.yaml' } });
  });

  it('refuses a symlinked directory that points outside the root, in listings and reads', async () => {
    await symlink(outside, join(root, 'linked'));
    const tree = directoryFileTree(root);
    await expect(tree.list()).rejects.toMatchObject({ code: 'PATH_ESCAPE', data: { path: 'linked' } });
    await expect(tree.list('linked')).rejects.toMatchObject({ code: 'PATH_ESCAPE' });
    await expect(tree.read('linked/secret.yaml')).rejects.toMatchObject({ code: 'PATH_ESCAPE' });
  });

  it('follows symlinks that stay inside the root', async () => {
    await symlink(join(root, 'ns.yaml'), join(root, 'apps', 'ns-link.yaml'));
    await symlink('web', join(root, 'apps', 'web-link'));
    const tree = directoryFileTree(root);
    expect(await tree.list('apps')).toEqual(['apps/ns-link.yaml', 'apps/web-link/deploy.yaml', 'apps/web/deploy.yaml']);
    expect(text(await tree.read('apps/ns-link.yaml'))).toBe('namespace');
  });

  it('does not loop on a symlink to one of its own parent directories', async () => {
    await symlink('..', join(root, 'apps', 'up'));
    const tree = directoryFileTree(root);
    const files = await tree.list();
    expect(files).toContain('apps/web/deploy.yaml');
    expect(files.length).toBeLessThan(10);
  });

  it('works when the root itself is reached through a symlink', async () => {
    const link = join(base, 'root-link');
    await symlink(root, link);
    const tree = directoryFileTree(link);
    expect(await tree.list()).toEqual(['apps/web/deploy.yaml', 'ns.yaml']);
    expect(text(await tree.read('ns.yaml'))).toBe('namespace');
  });

  it('leaves dangling symlinks out of listings', async () => {
    await symlink(join(root, 'gone.yaml'), join(root, 'dangling.yaml'));
    expect(await directoryFileTree(root).list()).toEqual(['apps/web/deploy.yaml', 'ns.yaml']);
  });
});
