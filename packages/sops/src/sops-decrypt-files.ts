import { markSensitive, MIN_REDACTED_LENGTH, named, pluginName, type FileTree, type KubeObject, type Renderer } from '@converge/core';
import picomatch from 'picomatch';
import { decryptWithKeys, type SopsKeys } from './decrypt-sops-file.js';
import { parseKeys, type ParsedKeys } from './internal/data-key.js';
import { formatOf, looksEncrypted } from './internal/formats.js';

/** Options of {@link sopsDecryptFiles}. */
export interface SopsDecryptFilesOptions extends SopsKeys {
  /**
   * Globs (picomatch, relative to the artifact root) of the files that may be SOPS-encrypted;
   * of those, only files sops actually encrypted (they carry its metadata) are decrypted, the
   * rest are read as they are.
   * @default ['**'] (every file)
   */
  include?: string[];
}

/**
 * Wraps a renderer so that every SOPS-encrypted file it reads from the artifact — dotenv,
 * INI, JSON, YAML or binary, as used by Kustomize's `secretGenerator`/`configMapGenerator`
 * (`envs:`, `files:`) or by any renderer — reads as its plaintext, exactly as
 * `sops decrypt` prints it (for dotenv, INI, JSON and binary files; YAML keeps its data,
 * in this package's layout). Files are decrypted only when the renderer reads them, once
 * per render; the MAC is verified.
 *
 * Whatever the renderer builds from a decrypted file is sensitive: every string value in its
 * output that contains a decrypted value (or is its base64 form) is marked with
 * `markSensitive`, so a ConfigMap generated from an encrypted `.env` is masked like a Secret.
 *
 * @throws {@link SopsError} naming the file (see {@link SopsErrorCode}).
 * @example
 * ```ts
 * const render = sopsDecryptFiles(kustomize({ path: 'overlays/prod' }), {
 *   ageIdentities: [await readFile('/etc/converge/age.key', 'utf8')],
 * });
 * ```
 */
export function sopsDecryptFiles(render: Renderer, options: SopsDecryptFilesOptions): Renderer {
  const included = picomatch(options.include ?? ['**'], { dot: true });
  let keys: Promise<ParsedKeys> | undefined;
  const wrapped: Renderer = async (ctx) => {
    keys ??= parseKeys(options.ageIdentities ?? [], options.pgpPrivateKeys ?? []);
    const parsedKeys = await keys;
    const secrets = new Set<string>();
    const cache = new Map<string, Promise<Uint8Array>>();
    const source = ctx.artifact.files;
    const files: FileTree = {
      list: (dir) => source.list(dir),
      read: (path) => {
        if (!included(path)) return source.read(path);
        let pending = cache.get(path);
        if (!pending) {
          pending = (async () => {
            const raw = await source.read(path);
            const format = formatOf(path);
            const text = Buffer.from(raw).toString('utf8');
            if (!looksEncrypted(text, format)) return raw;
            const { plaintext, secrets: found } = await decryptWithKeys(text, path, format, parsedKeys);
            for (const s of found) secrets.add(s);
            return new Uint8Array(Buffer.from(plaintext, 'utf8'));
          })();
          cache.set(path, pending);
        }
        return pending;
      },
    };
    const objects = await render({ ...ctx, artifact: { ...ctx.artifact, files } });
    return secrets.size === 0 ? objects : objects.map((obj) => markDerived(obj, secrets));
  };
  return named(`sopsDecryptFiles(${pluginName(render, 'renderer')})`, wrapped);
}

/** Marks every string of `obj` that holds a decrypted value (as is, or base64-encoded). */
function markDerived(obj: KubeObject, secrets: ReadonlySet<string>): KubeObject {
  const long = [...secrets].filter((s) => s.length >= MIN_REDACTED_LENGTH);
  const encoded = new Set([...secrets].map((s) => Buffer.from(s, 'utf8').toString('base64')));
  const pointers: string[] = [];
  const visit = (value: unknown, pointer: string): void => {
    if (typeof value === 'string') {
      if (secrets.has(value) || encoded.has(value) || long.some((s) => value.includes(s))) pointers.push(pointer);
      return;
    }
    if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) visit(v, `${pointer}/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`);
    }
  };
  visit(obj, '');
  return pointers.length > 0 ? markSensitive(obj, pointers) : obj;
}
