import { createDecipheriv, createHash } from 'node:crypto';
import { SopsError } from '../sops-error.js';
import { shouldBeEncrypted, type SopsMetadata } from './metadata.js';
import { isKeyItem, macText, str, type Branch, type Leaf, type TreeNode } from './tree.js';

/** sops' `MACOnlyEncryptedInitialization`: makes a mac_only_encrypted MAC differ from a full one. */
const MAC_ONLY_ENCRYPTED_INIT = Buffer.from('8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69', 'hex');

const ENCRYPTED = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]/;

/** A decrypted value and where it was (JSON-pointer tokens, list indices included). */
export interface DecryptedValue {
  pointer: string[];
  leaf: Leaf;
}

/** What {@link decryptBranches} gives back. */
export interface DecryptedTree {
  branches: Branch[];
  /** Every value that was encrypted, with its place in its branch (`branch` is the index). */
  values: Array<DecryptedValue & { branch: number }>;
}

/**
 * Decrypts every value sops encrypted (as its metadata says), in place of a copy, and checks
 * the MAC, as `sops decrypt` does (`Tree.Decrypt` + `DecryptTree`).
 */
export function decryptBranches(branches: Branch[], meta: SopsMetadata, dataKey: Uint8Array, file: string): DecryptedTree {
  const hash = createHash('sha512');
  if (meta.macOnlyEncrypted) hash.update(MAC_ONLY_ENCRYPTED_INIT);
  const values: DecryptedTree['values'] = [];
  const position = { file };

  const leaf = (node: Leaf, path: string[], pointer: string[], branch: number): Leaf => {
    const encrypted = shouldBeEncrypted(meta, path);
    let out = node;
    if (encrypted) {
      if (node.t !== 'str') {
        throw new SopsError('SOPS_MALFORMED', `${file}: the value at ${path.join('.')} should be encrypted but is a plain ${node.t}; the file was changed after encryption`, {
          data: { position, path: path.join('.') },
        });
      }
      out = decryptValue(node.v, dataKey, `${path.join(':')}:`, file, path.join('.'));
      values.push({ pointer, leaf: out, branch });
    }
    if (!meta.macOnlyEncrypted || encrypted) {
      const text = macText(out);
      if (text !== undefined) hash.update(text, 'utf8');
    }
    return out;
  };
  const walk = (node: TreeNode, path: string[], pointer: string[], branch: number): TreeNode => {
    if (node.t === 'map') {
      return {
        t: 'map',
        items: node.items.map((item) => {
          if (!isKeyItem(item)) {
            if (!shouldBeEncrypted(meta, path) || !ENCRYPTED.test(item.comment)) return item;
            try {
              const plain = decryptValue(item.comment, dataKey, `${path.join(':')}:`, file, path.join('.'));
              return { comment: plain.t === 'str' ? plain.v : (macText(plain) ?? '') };
            } catch {
              // As sops: a comment that does not decrypt was never encrypted.
              return item;
            }
          }
          return { key: item.key, value: walk(item.value, [...path, item.key], [...pointer, item.key], branch) };
        }),
      };
    }
    // sops walks list items with their list's path: indices are not part of it.
    if (node.t === 'seq') return { t: 'seq', items: node.items.map((v, i) => walk(v, path, [...pointer, String(i)], branch)) };
    if (node.t === 'null') return node;
    return leaf(node, path, pointer, branch);
  };

  const decrypted = branches.map((b, i) => walk(b, [], [], i) as Branch);
  const computed = hash.digest('hex').toUpperCase();
  let stored: Leaf;
  try {
    stored = decryptValue(meta.mac, dataKey, meta.lastModified, file, 'sops.mac');
  } catch (error) {
    throw new SopsError('SOPS_MAC_MISMATCH', `${file}: the MAC does not decrypt; the file (or its sops.lastmodified) was changed after encryption`, {
      cause: error,
      data: { position },
    });
  }
  if (stored.t !== 'str' || stored.v !== computed) {
    throw new SopsError('SOPS_MAC_MISMATCH', `${file}: MAC mismatch: the values were changed after encryption (re-encrypt the file with sops, or restore it)`, {
      data: { position },
    });
  }
  return { branches: decrypted, values };
}

/** Decrypts one `ENC[AES256_GCM,…]` value with `aad` (the path, `a:b:c:`) authenticated. */
function decryptValue(text: string, dataKey: Uint8Array, aad: string, file: string, where: string): Leaf {
  if (text === '') return str('');
  const match = ENCRYPTED.exec(text);
  const failed = (why: string, code: 'SOPS_DECRYPT_FAILED' | 'SOPS_MALFORMED' | 'SOPS_UNSUPPORTED' = 'SOPS_DECRYPT_FAILED') =>
    new SopsError(code, `${file}: the value at ${where} ${why}`, { data: { position: { file }, path: where } });
  if (!match) throw failed('is not a sops-encrypted value (ENC[AES256_GCM,…])', 'SOPS_MALFORMED');
  const [, data, iv, tag, type] = match as unknown as [string, string, string, string, string];
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(iv, 'base64'));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    plain = Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]);
  } catch {
    throw failed('does not decrypt: it was changed after encryption or moved from another key (each value is bound to its path)');
  }
  const textValue = plain.toString('utf8');
  switch (type) {
    case 'str':
    case 'comment':
    case 'bytes':
    case 'time':
      return str(textValue);
    case 'int':
      if (!/^[+-]?\d+$/.test(textValue)) throw failed('holds an int that is not one', 'SOPS_MALFORMED');
      return { t: 'int', v: BigInt(textValue) };
    case 'float': {
      const v = Number(textValue.replace(/^\+?Inf$/i, 'Infinity').replace(/^-Inf$/i, '-Infinity'));
      if (Number.isNaN(v) && textValue !== 'NaN') throw failed('holds a float that is not one', 'SOPS_MALFORMED');
      return { t: 'float', v };
    }
    case 'bool': {
      // Go's strconv.ParseBool.
      if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(textValue)) return { t: 'bool', v: true };
      if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(textValue)) return { t: 'bool', v: false };
      throw failed('holds a bool that is not one', 'SOPS_MALFORMED');
    }
    default:
      throw failed(`has the value type ${JSON.stringify(type)}, which sops does not write`, 'SOPS_UNSUPPORTED');
  }
}
