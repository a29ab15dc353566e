import { inheritOrigin, markSensitive, named, originOf, type KubeObject, type RenderContext, type Transform } from '@converge/core';
import type { SopsKeys } from './decrypt-sops-file.js';
import { parseKeys, recoverDataKey, type ParsedKeys } from './internal/data-key.js';
import { decryptBranches, type DecryptedTree } from './internal/decrypt-tree.js';
import { formatOf, loadFile, type LoadedFile } from './internal/formats.js';
import { readMetadata } from './internal/metadata.js';
import { fromJs, leafToJs, type Branch } from './internal/tree.js';

/** Options of {@link sopsDecrypt}: the keys that may open the documents. */
export type SopsDecryptOptions = SopsKeys;

const ENCRYPTED_PREFIX = 'ENC[AES256_GCM,';

/**
 * A transform that decrypts SOPS-encrypted Kubernetes documents, such as Secrets encrypted
 * the way Flux recommends (`sops --encrypt --encrypted-regex '^(data|stringData)$'`), with the
 * caller's age identities and OpenPGP private keys. Documents without a `sops` block pass
 * through unchanged.
 *
 * Each document's MAC is verified over the file as sops wrote it: for objects `yamlFiles`
 * parsed, the transform reads their file again from the artifact (so every value keeps the
 * type and order sops saw, and a file holding several documents is checked as a whole); for
 * objects made elsewhere (a Kustomize or Helm output) it uses the object as given. Put it
 * right after the renderer, before substitution and other transforms: a value changed
 * before decryption fails the MAC. The `sops` block is removed, and every decrypted value is
 * marked sensitive (`markSensitive`), so plans, diffs, events and errors mask it whatever the
 * object's kind.
 *
 * @throws {@link SopsError} naming the file — no matching key (with the recipients), a key
 *   that fails, MAC mismatch, tampered value, unsupported key type, malformed sops block.
 * @example
 * ```ts
 * const render = pipe(
 *   yamlFiles({ path: 'deploy' }),
 *   sopsDecrypt({ ageIdentities: [process.env.SOPS_AGE_KEY ?? ''] }),
 *   substitute({ CLUSTER: 'prod-eu' }),
 * );
 * ```
 */
export function sopsDecrypt(options: SopsDecryptOptions): Transform {
  let keys: Promise<ParsedKeys> | undefined;
  return named('sopsDecrypt', async (objects: KubeObject[], ctx: RenderContext) => {
    if (!objects.some(isEncrypted)) return objects;
    keys ??= parseKeys(options.ageIdentities ?? [], options.pgpPrivateKeys ?? []);
    const parsedKeys = await keys;
    const files = new Map<string, Promise<{ loaded: LoadedFile; decrypted: DecryptedTree } | undefined>>();
    const out: KubeObject[] = [];
    for (const obj of objects) {
      if (!isEncrypted(obj)) {
        out.push(obj);
        continue;
      }
      const origin = originOf(obj);
      let done = false;
      if (origin?.file !== undefined && origin.line !== undefined && ctx.artifact) {
        const file = origin.file;
        if (!files.has(file)) files.set(file, decryptArtifactFile(ctx, file, parsedKeys));
        const result = await files.get(file);
        const index = result?.loaded.lines?.indexOf(origin.line) ?? -1;
        if (result && index !== -1) {
          out.push(applyDecrypted(obj, result.decrypted, index));
          done = true;
        }
      }
      if (!done) out.push(await decryptObject(obj, parsedKeys, origin?.file ?? describe(obj)));
    }
    return out;
  });
}

function isEncrypted(obj: KubeObject): boolean {
  const block = obj['sops'];
  if (block !== null && typeof block === 'object' && !Array.isArray(block)) return true;
  // A later document of a multi-document file sops encrypted as a whole (its block is in the first).
  return originOf(obj) !== undefined && hasEncryptedValue(obj);
}

function hasEncryptedValue(value: unknown): boolean {
  if (typeof value === 'string') return value.startsWith(ENCRYPTED_PREFIX);
  if (value !== null && typeof value === 'object') return Object.values(value).some(hasEncryptedValue);
  return false;
}

async function decryptArtifactFile(ctx: RenderContext, file: string, keys: ParsedKeys): Promise<{ loaded: LoadedFile; decrypted: DecryptedTree } | undefined> {
  let text: string;
  try {
    text = Buffer.from(await ctx.artifact.files.read(file)).toString('utf8');
  } catch {
    return undefined;
  }
  const format = formatOf(file) === 'json' ? 'json' : 'yaml';
  const loaded = loadFile(text, format, file);
  const dataKey = await recoverDataKey(loaded.meta, keys, file);
  return { loaded, decrypted: decryptBranches(loaded.branches, loaded.meta, dataKey, file) };
}

async function decryptObject(obj: KubeObject, keys: ParsedKeys, file: string): Promise<KubeObject> {
  const { sops: block, ...rest } = obj;
  const meta = readMetadata(fromJs(block), file);
  const dataKey = await recoverDataKey(meta, keys, file);
  const decrypted = decryptBranches([fromJs(rest) as Branch], meta, dataKey, file);
  return applyDecrypted(obj, decrypted, 0);
}

/** The object without its sops block, each encrypted value replaced and marked sensitive. */
function applyDecrypted(obj: KubeObject, decrypted: DecryptedTree, branch: number): KubeObject {
  const copy = structuredClone(obj);
  delete copy['sops'];
  const pointers: string[] = [];
  for (const value of decrypted.values) {
    if (value.branch !== branch) continue;
    setAt(copy, value.pointer, leafToJs(value.leaf));
    pointers.push(`/${value.pointer.map((t) => t.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`);
  }
  return markSensitive(inheritOrigin(copy, obj), pointers);
}

function setAt(doc: object, tokens: string[], value: unknown): void {
  let node = doc as Record<string, unknown>;
  for (const token of tokens.slice(0, -1)) node = node[token] as Record<string, unknown>;
  node[tokens.at(-1)!] = value;
}

function describe(obj: KubeObject): string {
  return `${obj.kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name}`;
}
