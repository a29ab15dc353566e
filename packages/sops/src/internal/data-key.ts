import { armor, Decrypter, identityToRecipient } from 'age-encryption';
import * as openpgp from 'openpgp';
import { SopsError } from '../sops-error.js';
import type { KeyGroup, SopsMetadata } from './metadata.js';

/** The caller's keys, parsed once per transform. Never printed: only recipients and fingerprints are. */
export interface ParsedKeys {
  age: Array<{ identity: string; recipient: string }>;
  pgp: openpgp.PrivateKey[];
}

/** Parses the caller's keys; a key that cannot be read is named by its index, never quoted. */
export async function parseKeys(ageIdentities: readonly string[], pgpPrivateKeys: readonly string[]): Promise<ParsedKeys> {
  const age: ParsedKeys['age'] = [];
  for (const [i, text] of ageIdentities.entries()) {
    // An identity file may hold comments and several keys, one per line (as age-keygen writes).
    const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    if (lines.length === 0) throw invalidKey('ageIdentities', i, 'it holds no AGE-SECRET-KEY-1… line');
    for (const identity of lines) {
      try {
        age.push({ identity, recipient: await identityToRecipient(identity) });
      } catch {
        throw invalidKey('ageIdentities', i, 'it is not an age identity (AGE-SECRET-KEY-1…)');
      }
    }
  }
  const pgp: openpgp.PrivateKey[] = [];
  for (const [i, text] of pgpPrivateKeys.entries()) {
    let keys: openpgp.PrivateKey[];
    try {
      keys = await openpgp.readPrivateKeys({ armoredKeys: text });
    } catch {
      throw invalidKey('pgpPrivateKeys', i, 'it is not an armored OpenPGP private key');
    }
    for (const key of keys) {
      if (!key.isDecrypted()) {
        throw invalidKey('pgpPrivateKeys', i, `key ${key.getFingerprint().toUpperCase()} is protected by a passphrase; unlock it first with openpgp.decryptKey and pass key.armor()`);
      }
      pgp.push(key);
    }
  }
  return { age, pgp };
}

function invalidKey(option: string, index: number, why: string): SopsError {
  return new SopsError('SOPS_INVALID_KEY', `sopsDecrypt: ${option}[${index}] cannot be used: ${why}`, { data: { keyIndex: index, option } });
}

/** Recovers the data key from the key groups (Shamir-combining shares when there are several). */
export async function recoverDataKey(meta: SopsMetadata, keys: ParsedKeys, file: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const failures: SopsError[] = [];
  for (const group of meta.groups) {
    try {
      parts.push(await openGroup(group, keys, file));
    } catch (error) {
      failures.push(error as SopsError);
    }
  }
  const needed = meta.groups.length > 1 ? Math.max(meta.shamirThreshold, 1) : 1;
  if (parts.length < needed) {
    // The most specific failure: a key that matched but failed beats "no key matched".
    throw failures.find((f) => f.code === 'SOPS_KEY_FAILED') ?? failures[0]!;
  }
  return meta.groups.length > 1 ? shamirCombine(parts.slice(0, needed)) : parts[0]!;
}

async function openGroup(group: KeyGroup, keys: ParsedKeys, file: string): Promise<Uint8Array> {
  const position = { file };
  for (const stanza of group.age) {
    const candidates = keys.age.filter((k) => k.recipient === stanza.recipient);
    if (candidates.length === 0) continue;
    try {
      const decrypter = new Decrypter();
      for (const k of candidates) decrypter.addIdentity(k.identity);
      return await decrypter.decrypt(armor.decode(stanza.enc.trim()), 'uint8array');
    } catch {
      throw new SopsError('SOPS_KEY_FAILED', `${file}: the age identity for recipient ${stanza.recipient} did not open the data key (the file's age block is damaged)`, {
        data: { position, recipient: stanza.recipient },
      });
    }
  }
  for (const stanza of group.pgp) {
    const fp = stanza.fp.toUpperCase();
    const key = keys.pgp.find((k) => [k, ...k.getSubkeys()].some((part) => part.getFingerprint().toUpperCase().endsWith(fp)));
    if (!key) continue;
    try {
      const message = await openpgp.readMessage({ armoredMessage: stanza.enc });
      const { data } = await openpgp.decrypt({ message, decryptionKeys: key, format: 'binary' });
      return data as Uint8Array;
    } catch {
      throw new SopsError('SOPS_KEY_FAILED', `${file}: the OpenPGP key ${fp} did not open the data key (the file's pgp block is damaged, or the key is not the one it was encrypted to)`, {
        data: { position, recipient: fp },
      });
    }
  }
  const recipients = [...group.age.map((s) => s.recipient), ...group.pgp.map((s) => s.fp.toUpperCase())];
  const tried = [...keys.age.map((k) => k.recipient), ...keys.pgp.map((k) => k.getFingerprint().toUpperCase())];
  if (recipients.length === 0) {
    const others = group.other.map((o) => `${o.type} ${o.name}`);
    throw new SopsError(
      'SOPS_UNSUPPORTED_KEY_TYPE',
      `${file}: encrypted only for ${others.join(', ')}; @converge/sops opens files with age identities and OpenPGP private keys only (add an age or pgp recipient with \`sops updatekeys\`)`,
      { data: { position, recipients: others } },
    );
  }
  throw new SopsError(
    'SOPS_NO_MATCHING_KEY',
    `${file}: none of the keys given opens it; it is encrypted for ${recipients.join(', ')}${group.other.length > 0 ? ` (and ${group.other.map((o) => o.type).join(', ')}, not supported)` : ''}; keys given: ${tried.length > 0 ? tried.join(', ') : 'none'}`,
    { data: { position, recipients, tried } },
  );
}

/** GF(2^8) multiplication with the AES polynomial, as HashiCorp's (and sops') shamir package. */
function mult(a: number, b: number): number {
  let r = 0;
  for (let i = 7; i >= 0; i--) {
    r = ((-((b >> i) & 1) & a) ^ (-(r >> 7) & 0x1b) ^ (r + r)) & 0xff;
  }
  return r;
}

function inverse(a: number): number {
  let b = mult(a, a);
  let c = mult(a, b);
  b = mult(c, c);
  b = mult(b, b);
  c = mult(b, c);
  b = mult(b, b);
  b = mult(b, b);
  b = mult(b, c);
  b = mult(b, b);
  b = mult(a, b);
  return mult(b, b);
}

/** Combines Shamir shares (each: y bytes then the x coordinate) into the secret. */
function shamirCombine(parts: Uint8Array[]): Uint8Array {
  const size = parts[0]!.length - 1;
  const xs = parts.map((p) => p[size]!);
  const secret = new Uint8Array(size);
  for (let idx = 0; idx < size; idx++) {
    let result = 0;
    for (let i = 0; i < parts.length; i++) {
      let basis = 1;
      for (let j = 0; j < parts.length; j++) {
        if (i === j) continue;
        basis = mult(basis, mult(xs[j]!, inverse(xs[i]! ^ xs[j]!)));
      }
      result ^= mult(parts[i]![idx]!, basis);
    }
    secret[idx] = result;
  }
  return secret;
}
