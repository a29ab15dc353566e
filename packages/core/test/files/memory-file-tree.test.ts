import { describe, expect, it } from 'vitest';
import { ConvergeError } from '../../src/errors.js';
import { memoryFileTree } from '../../src/memory-file-tree.js';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('memoryFileTree', () => {
  it('normalises paths so ./a//b, /a/b and a/b name the same file', async () => {
    const tree = memoryFileTree({ './deploy//app.yaml': 'a', '/deploy/db.yaml': 'b' });
    expect(await tree.list()).toEqual(['deploy/app.yaml', 'deploy/db.yaml']);
    expect(text(await tree.read('deploy/app.yaml'))).toBe('a');
    expect(text(await tree.read('/deploy/./db.yaml'))).toBe('b');
  });

  it('lists files under a directory, sorted, with paths from the root', async () => {
    const tree = memoryFileTree({ 'z.yaml': '', 'b/2.yaml': '', 'b/1.yaml': '', 'b/c/3.yaml': '', 'bb/x.yaml': '' });
    expect(await tree.list()).toEqual(['b/1.yaml', 'b/2.yaml', 'b/c/3.yaml', 'bb/x.yaml', 'z.yaml']);
    expect(await tree.list('b')).toEqual(['b/1.yaml', 'b/2.yaml', 'b/c/3.yaml']);
    expect(await tree.list('./b/')).toEqual(['b/1.yaml', 'b/2.yaml', 'b/c/3.yaml']);
  });

  it('rejects reading a missing file with FILE_NOT_FOUND', async () => {
    const tree = memoryFileTree({ 'a.yaml': '' });
    await expect(tree.read('b.yaml')).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', data: { position: { file: 'b.yaml' } } });
    await expect(tree.read('b.yaml')).rejects.toBeInstanceOf(ConvergeError);
  });

  it('rejects listing a directory that does not exist', async () => {
    await expect(memoryFileTree({ 'a/x.yaml': '' }).list('b')).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });

  it('refuses paths that climb above the root', async () => {
    const tree = memoryFileTree({ 'a.yaml': '' });
    await expect(tree.read('../a.yaml')).rejects.toMatchObject({ code: 'PATH_ESCAPE' });
    await expect(tree.list('x/../..')).rejects.toMatchObject({ code: 'PATH_ESCAPE' });
  });

  it('keeps its own copy of the bytes: neither the input nor a read result can change it', async () => {
    const input = new TextEncoder().encode('abc');
    const tree = memoryFileTree({ 'f': input });
    input[0] = 0x7a;
    const read = await tree.read('f');
    read[1] = 0x7a;
    expect(text(await tree.read('f'))).toBe('abc');
  });
});
