import { parseKeys, recoverDataKey, type ParsedKeys } from './internal/data-key.js';
import { decryptBranches } from './internal/decrypt-tree.js';
import { emitFile, formatOf, loadFile, type SopsFormat } from './internal/formats.js';
import { macText } from './internal/tree.js';

export type { SopsFormat } from './internal/formats.js';

/** The caller's keys. Read them from files or environment variables; they are never logged. */
export interface SopsKeys {
  /** age identities (`AGE-SECRET-KEY-1…`), one per string or several per string as in a keys.txt. @default [] */
  ageIdentities?: string[];
  /** Armored OpenPGP private keys, unlocked (no passphrase). @default [] */
  pgpPrivateKeys?: string[];
}

/** Options of {@link decryptSopsFile}. */
export interface DecryptSopsFileOptions extends SopsKeys {
  /** The file's path: names it in errors and picks the format, as sops does. */
  path: string;
  /** The format, when the file name does not say it (sops' `--input-type`). @default from the extension */
  format?: SopsFormat;
}

/** A decrypted file. */
export interface DecryptedSopsFile {
  /** The plaintext, as `sops decrypt` prints it (YAML: the same data, laid out by this package). */
  plaintext: string;
  format: SopsFormat;
  /** Every decrypted value as text: what must be masked wherever it shows up. */
  secrets: string[];
}

/**
 * Decrypts one SOPS-encrypted file (YAML, JSON, dotenv, INI or binary): unwraps the data key
 * with the first matching age identity or OpenPGP key, decrypts each value with its path as
 * authenticated data, and verifies the MAC, as `sops decrypt` does.
 *
 * @throws {@link SopsError} — see {@link SopsErrorCode} for each failure.
 * @example
 * ```ts
 * const { plaintext } = await decryptSopsFile(await readFile('app.env'), {
 *   path: 'app.env',
 *   ageIdentities: [process.env.SOPS_AGE_KEY ?? ''],
 * });
 * ```
 */
export async function decryptSopsFile(content: Uint8Array | string, options: DecryptSopsFileOptions): Promise<DecryptedSopsFile> {
  return decryptWithKeys(content, options.path, options.format ?? formatOf(options.path), await parseKeys(options.ageIdentities ?? [], options.pgpPrivateKeys ?? []));
}

/** {@link decryptSopsFile} with keys already parsed (the transforms parse them once). */
export async function decryptWithKeys(content: Uint8Array | string, path: string, format: SopsFormat, keys: ParsedKeys): Promise<DecryptedSopsFile> {
  const text = typeof content === 'string' ? content : Buffer.from(content).toString('utf8');
  const loaded = loadFile(text, format, path);
  const dataKey = await recoverDataKey(loaded.meta, keys, path);
  const { branches, values } = decryptBranches(loaded.branches, loaded.meta, dataKey, path);
  const plaintext = emitFile(branches, format, path);
  const secrets = values.map((v) => macText(v.leaf)).filter((t): t is string => t !== undefined && t !== '');
  if (format === 'binary' || format === 'dotenv' || format === 'ini') secrets.push(plaintext);
  return { plaintext, format, secrets };
}
