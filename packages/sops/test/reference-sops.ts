import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import * as openpgp from 'openpgp';

/** Keys generated for one test run, and the reference sops binary set up to use them. */
export interface ReferenceSops {
  dir: string;
  age: { identity: string; recipient: string };
  otherAge: { identity: string; recipient: string };
  pgp: { privateKey: string; fingerprint: string };
  /** Encrypts `plaintext` (written as `name`) with the reference sops and returns the file's text. */
  encrypt(name: string, plaintext: string | Uint8Array, args: string[], config?: string): string;
  /** What `sops decrypt` prints for an encrypted file's text. */
  decrypt(name: string, encrypted: string): Buffer;
  close(): void;
}

/** Generates an age identity (age-encryption) and an OpenPGP key (openpgp, imported into a private GNUPGHOME for sops). */
export async function referenceSops(sopsBin: string): Promise<ReferenceSops> {
  const dir = mkdtempSync(join(tmpdir(), 'converge-sops-'));
  const gnupg = join(dir, 'gnupg');
  mkdirSync(gnupg, { mode: 0o700 });
  const ageIdentity = await generateX25519Identity();
  const otherIdentity = await generateX25519Identity();
  const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'converge test', email: 'test@converge.invalid' }], format: 'armored' });
  const key = await openpgp.readKey({ armoredKey: publicKey });
  // The public key for `sops encrypt`, the private one for `sops decrypt` (the reference's side only).
  writeFileSync(join(dir, 'key.asc'), `${publicKey}\n${privateKey}`);
  execFileSync('gpg', ['--batch', '--quiet', '--import', join(dir, 'key.asc')], { env: { ...process.env, GNUPGHOME: gnupg }, stdio: 'ignore' });
  const fingerprint = key.getFingerprint().toUpperCase();
  execFileSync('gpg', ['--batch', '--quiet', '--import-ownertrust'], { env: { ...process.env, GNUPGHOME: gnupg }, input: `${fingerprint}:6:\n`, stdio: ['pipe', 'ignore', 'ignore'] });
  const ageKeyFile = join(dir, 'age.txt');
  writeFileSync(ageKeyFile, `${ageIdentity}\n`);
  const env = { ...process.env, GNUPGHOME: gnupg, SOPS_AGE_KEY_FILE: ageKeyFile, SOPS_GPG_EXEC: 'gpg' };
  let n = 0;
  return {
    dir,
    age: { identity: ageIdentity, recipient: await identityToRecipient(ageIdentity) },
    otherAge: { identity: otherIdentity, recipient: await identityToRecipient(otherIdentity) },
    pgp: { privateKey, fingerprint },
    encrypt(name, plaintext, args, config) {
      const sub = join(dir, `enc-${n++}`);
      mkdirSync(sub);
      if (config !== undefined) writeFileSync(join(sub, '.sops.yaml'), config);
      const path = join(sub, name);
      writeFileSync(path, plaintext);
      return execFileSync(sopsBin, ['encrypt', ...args, path], { env, cwd: sub, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    },
    decrypt(name, encrypted) {
      const sub = join(dir, `dec-${n++}`);
      mkdirSync(sub);
      const path = join(sub, name);
      writeFileSync(path, encrypted);
      return execFileSync(sopsBin, ['decrypt', path], { env, cwd: sub, stdio: ['ignore', 'pipe', 'pipe'] });
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
