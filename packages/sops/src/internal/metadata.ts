import { SopsError } from '../sops-error.js';
import { isKeyItem, toJs, type Branch, type TreeNode } from './tree.js';

/** An age recipient of the data key. */
export interface AgeStanza {
  recipient: string;
  enc: string;
}

/** An OpenPGP recipient of the data key. */
export interface PgpStanza {
  fp: string;
  enc: string;
}

/** One key group: every master key in it wraps the same data key (or Shamir share). */
export interface KeyGroup {
  age: AgeStanza[];
  pgp: PgpStanza[];
  /** Master keys of types this package cannot use, by type (`kms`, `hc_vault`…) and name. */
  other: Array<{ type: string; name: string }>;
}

/** The `sops` block: which values are encrypted, the MAC and the wrapped data keys. */
export interface SopsMetadata {
  lastModified: string;
  mac: string;
  version: string;
  unencryptedSuffix?: string;
  encryptedSuffix?: string;
  unencryptedRegex?: RegExp;
  encryptedRegex?: RegExp;
  macOnlyEncrypted: boolean;
  shamirThreshold: number;
  groups: KeyGroup[];
}

/** sops' default when a file names no rule: keys ending `_unencrypted` stay plain. */
export const DEFAULT_UNENCRYPTED_SUFFIX = '_unencrypted';

const OTHER_TYPES: Record<string, string[]> = {
  kms: ['arn'],
  gcp_kms: ['resource_id'],
  azure_kv: ['vault_url', 'name'],
  hc_vault: ['vault_address', 'engine_path', 'key_name'],
  hckms: ['key_id'],
};

/** Reads a `sops` block (already unflattened for dotenv and INI), as sops' `ToInternal` does. */
export function readMetadata(node: TreeNode | undefined, file: string): SopsMetadata {
  const malformed = (what: string) =>
    new SopsError('SOPS_MALFORMED', `${file}: the sops metadata ${what}; the file is not what sops writes (re-encrypt it with sops)`, {
      data: { position: { file } },
    });
  if (!node || node.t !== 'map') throw malformed('is missing or not a mapping');
  const raw = toJs(node) as Record<string, unknown>;
  const text = (key: string): string | undefined => {
    const value = raw[key];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value === 'object') throw malformed(`field ${key} is not a scalar`);
    return String(value);
  };
  const lastModified = text('lastmodified');
  if (!lastModified || Number.isNaN(Date.parse(lastModified))) throw malformed('has no valid lastmodified');
  const mac = text('mac');
  if (!mac) throw malformed('has no mac');

  for (const key of ['encrypted_comment_regex', 'unencrypted_comment_regex']) {
    if (text(key) !== undefined) {
      throw new SopsError('SOPS_UNSUPPORTED', `${file}: sops' ${key} is not supported by @converge/sops; encrypt the file with encrypted_regex, unencrypted_regex or a suffix rule instead`, {
        data: { position: { file }, feature: key },
      });
    }
  }
  const rules = ['unencrypted_suffix', 'encrypted_suffix', 'unencrypted_regex', 'encrypted_regex'].filter((k) => text(k) !== undefined);
  if (rules.length > 1) throw malformed(`sets more than one of ${rules.join(', ')}`);
  const regex = (key: string): RegExp | undefined => {
    const source = text(key);
    if (source === undefined) return undefined;
    try {
      return new RegExp(source);
    } catch {
      throw malformed(`field ${key} is not a regular expression this package can read`);
    }
  };
  const flag = text('mac_only_encrypted');
  const threshold = text('shamir_threshold');

  const group = (value: Record<string, unknown>): KeyGroup => {
    const list = (key: string): Array<Record<string, unknown>> => {
      const items = value[key];
      if (items === undefined || items === null) return [];
      if (!Array.isArray(items) || items.some((i) => i === null || typeof i !== 'object')) throw malformed(`field ${key} is not a list of keys`);
      return items as Array<Record<string, unknown>>;
    };
    const field = (item: Record<string, unknown>, key: string, where: string): string => {
      const v = item[key];
      if (typeof v !== 'string' || v === '') throw malformed(`has a ${where} key without ${key}`);
      return v;
    };
    return {
      age: list('age').map((k) => ({ recipient: field(k, 'recipient', 'age'), enc: field(k, 'enc', 'age') })),
      pgp: list('pgp').map((k) => ({ fp: field(k, 'fp', 'pgp'), enc: field(k, 'enc', 'pgp') })),
      other: Object.entries(OTHER_TYPES).flatMap(([type, names]) =>
        list(type).map((k) => ({ type, name: names.map((n) => k[n]).filter((v) => typeof v === 'string' && v !== '').join('/') || type })),
      ),
    };
  };
  const groupsRaw = raw['key_groups'];
  let groups: KeyGroup[];
  if (groupsRaw !== undefined && groupsRaw !== null) {
    if (!Array.isArray(groupsRaw) || groupsRaw.some((g) => g === null || typeof g !== 'object')) throw malformed('field key_groups is not a list of groups');
    groups = (groupsRaw as Array<Record<string, unknown>>).map(group);
  } else {
    groups = [group(raw)];
  }
  if (groups.every((g) => g.age.length + g.pgp.length + g.other.length === 0)) throw malformed('names no master key');

  return {
    lastModified,
    mac,
    version: text('version') ?? '',
    ...(rules.length === 0 ? { unencryptedSuffix: DEFAULT_UNENCRYPTED_SUFFIX } : {}),
    ...(text('unencrypted_suffix') !== undefined && { unencryptedSuffix: text('unencrypted_suffix')! }),
    ...(text('encrypted_suffix') !== undefined && { encryptedSuffix: text('encrypted_suffix')! }),
    ...(regex('unencrypted_regex') && { unencryptedRegex: regex('unencrypted_regex')! }),
    ...(regex('encrypted_regex') && { encryptedRegex: regex('encrypted_regex')! }),
    macOnlyEncrypted: flag !== undefined && /^(1|t|T|true|TRUE|True)$/.test(flag),
    shamirThreshold: threshold === undefined ? 0 : Number.parseInt(threshold, 10) || 0,
    groups,
  };
}

/** Whether a branch is a `sops` block-bearing document (has a top-level `sops` mapping). */
export function sopsBlockOf(branch: Branch): TreeNode | undefined {
  for (const item of branch.items) if (isKeyItem(item) && item.key === 'sops') return item.value;
  return undefined;
}

/** sops' `shouldBeEncrypted` without the comment rules (which {@link readMetadata} refuses). */
export function shouldBeEncrypted(meta: SopsMetadata, path: readonly string[]): boolean {
  let encrypted = true;
  if (meta.unencryptedSuffix !== undefined && path.some((p) => p.endsWith(meta.unencryptedSuffix!))) encrypted = false;
  if (meta.encryptedSuffix !== undefined) encrypted = path.some((p) => p.endsWith(meta.encryptedSuffix!));
  if (meta.unencryptedRegex && path.some((p) => meta.unencryptedRegex!.test(p))) encrypted = false;
  if (meta.encryptedRegex) encrypted = path.some((p) => meta.encryptedRegex!.test(p));
  return encrypted;
}

/**
 * Undoes sops' flattening of the metadata in dotenv and INI files: keys like
 * `age__list_0__map_enc` become `age[0].enc`; maps come out with sorted keys, as sops' do.
 */
export function unflatten(entries: Array<[string, string]>, file: string): Branch {
  type Slot = { value?: string; keys?: Map<string, Slot>; indices?: Map<number, Slot> };
  const root: Slot = {};
  for (const [key, value] of entries) {
    let slot = root;
    for (const token of key.split(/(?=__map_|__list_)/)) {
      if (token.startsWith('__list_')) {
        const index = Number(token.slice('__list_'.length));
        slot.indices ??= new Map();
        if (!slot.indices.has(index)) slot.indices.set(index, {});
        slot = slot.indices.get(index)!;
      } else {
        const name = token.startsWith('__map_') ? token.slice('__map_'.length) : token;
        slot.keys ??= new Map();
        if (!slot.keys.has(name)) slot.keys.set(name, {});
        slot = slot.keys.get(name)!;
      }
    }
    slot.value = value;
  }
  const convert = (slot: Slot): TreeNode => {
    if (slot.value !== undefined) return { t: 'str', v: slot.value };
    if (slot.indices) {
      const size = slot.indices.size;
      const items: TreeNode[] = [];
      for (let i = 0; i < size; i++) {
        const item = slot.indices.get(i);
        if (!item) throw new SopsError('SOPS_MALFORMED', `${file}: the flattened sops metadata has an incomplete list`, { data: { position: { file } } });
        items.push(convert(item));
      }
      return { t: 'seq', items };
    }
    return { t: 'map', items: [...(slot.keys ?? new Map<string, Slot>())].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, s]) => ({ key, value: convert(s) })) };
  };
  return convert(root) as Branch;
}
