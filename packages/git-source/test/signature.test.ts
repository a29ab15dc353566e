import * as fs from 'node:fs';
import git from 'isomorphic-git';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { gitSource, type GitSourceEvent } from '../src/index.js';
import { startGitServer, type GitServer } from '../src/testing/index.js';
import { readAll, tempDir } from './helpers.js';

let server: GitServer;
let cache: { path: string; remove: () => Promise<void> };
let trusted: { publicKey: string; privateKey: string };
let stranger: { publicKey: string; privateKey: string };

/** Signs like `git commit -S` does: a detached, armored, binary-mode signature of the payload. */
function signer(privateKeyArmored: string) {
  return async ({ payload }: { payload: string }) => {
    const signingKeys = await openpgp.readPrivateKey({ armoredKey: privateKeyArmored });
    const message = await openpgp.createMessage({ binary: new TextEncoder().encode(payload) });
    const signature = await openpgp.sign({ message, signingKeys, detached: true, format: 'armored' });
    return { signature: signature as string };
  };
}

/** Adds a commit on `branch` with isomorphic-git, signed by `key` (or unsigned), on the server's bare repo. */
async function commitOn(branch: string, file: string, key?: string): Promise<string> {
  const gitdir = `${server.root}/signed.git`;
  const parent = await git.resolveRef({ fs, gitdir, ref: `refs/heads/${branch}` }).catch(() => undefined);
  const blob = await git.writeBlob({ fs, gitdir, blob: new TextEncoder().encode(`file: ${file}\n`) });
  const tree = await git.writeTree({ fs, gitdir, tree: [{ mode: '100644', path: `${file}.yaml`, oid: blob, type: 'blob' }] });
  return git.commit({
    fs,
    gitdir,
    ref: `refs/heads/${branch}`,
    tree,
    parent: parent ? [parent] : [],
    message: `${file}\n`,
    author: { name: 'Signer', email: 'signer@converge.invalid', timestamp: 1_700_000_000, timezoneOffset: 0 },
    ...(key && { signingKey: key, onSign: signer(key) }),
  });
}

beforeAll(async () => {
  server = await startGitServer();
  cache = await tempDir();
  const gen = (name: string) =>
    openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name, email: `${name}@converge.invalid` }], format: 'armored' });
  [trusted, stranger] = await Promise.all([gen('release'), gen('stranger')]);
  await server.createRepo('signed');
  await server.commitFiles('signed', { 'readme.md': 'signed commits\n' }, 'init');
  await commitOn('signed', 'good', trusted.privateKey);
  await commitOn('unsigned', 'plain');
  await commitOn('stranger', 'other', stranger.privateKey);
});
afterAll(async () => {
  await server.close();
  await cache.remove();
});

test('a commit signed by a trusted key is accepted and reported as verified', async () => {
  const events: GitSourceEvent[] = [];
  const source = gitSource({
    url: server.repoUrl('signed'),
    ref: { branch: 'signed' },
    verify: { publicKeys: [stranger.publicKey, trusted.publicKey] },
    cacheDir: `${cache.path}/good`,
    onProgress: (e) => events.push(e),
  });
  expect(await readAll((await source.fetch()).files)).toEqual({ 'good.yaml': 'file: good\n' });
  expect(events).toContainEqual(expect.objectContaining({ type: 'verified' }));
});

test('an unsigned commit is refused with GIT_SIGNATURE_INVALID (unsigned)', async () => {
  const source = gitSource({ url: server.repoUrl('signed'), ref: { branch: 'unsigned' }, verify: { publicKeys: [trusted.publicKey] }, cacheDir: `${cache.path}/unsigned` });
  await expect(source.fetch()).rejects.toMatchObject({ code: 'GIT_SIGNATURE_INVALID', data: { reason: 'unsigned' } });
});

test('a commit signed by an untrusted key is refused (untrusted)', async () => {
  const source = gitSource({ url: server.repoUrl('signed'), ref: { branch: 'stranger' }, verify: { publicKeys: [trusted.publicKey] }, cacheDir: `${cache.path}/stranger` });
  await expect(source.fetch()).rejects.toMatchObject({ code: 'GIT_SIGNATURE_INVALID', data: { reason: 'untrusted' } });
});

test('a signature copied onto a different commit does not verify (invalid)', async () => {
  const gitdir = `${server.root}/signed.git`;
  const good = await git.readCommit({ fs, gitdir, oid: await git.resolveRef({ fs, gitdir, ref: 'refs/heads/signed' }) });
  const forged = await git.writeCommit({ fs, gitdir, commit: { ...good.commit, message: 'tampered\n' } });
  await server.setRef('signed', 'refs/heads/forged', forged);
  const source = gitSource({ url: server.repoUrl('signed'), ref: { branch: 'forged' }, verify: { publicKeys: [trusted.publicKey] }, cacheDir: `${cache.path}/forged` });
  await expect(source.fetch()).rejects.toMatchObject({ code: 'GIT_SIGNATURE_INVALID', data: { reason: 'invalid' } });
});

test('without verify, unsigned commits are served', async () => {
  const source = gitSource({ url: server.repoUrl('signed'), ref: { branch: 'unsigned' }, cacheDir: `${cache.path}/noverify` });
  expect(await readAll((await source.fetch()).files)).toEqual({ 'plain.yaml': 'file: plain\n' });
});
