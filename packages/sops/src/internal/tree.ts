/**
 * SOPS' in-memory tree, as sops' Go code builds it (`sops.TreeBranch`): maps keep their key
 * order, leaves keep the type the file's store decoded, because the MAC is computed over the
 * values in document order with Go's text form of each type.
 */
export type Leaf =
  | { t: 'str'; v: string }
  | { t: 'int'; v: bigint }
  | { t: 'float'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'null' };

/** A comment kept in a map (dotenv and INI files); never part of the MAC. */
export interface CommentItem {
  comment: string;
}

/** One key and its value in a {@link Branch}. */
export interface KeyItem {
  key: string;
  value: TreeNode;
}

/** A map, in file order. */
export interface Branch {
  t: 'map';
  items: Array<KeyItem | CommentItem>;
}

/** A list. */
export interface Seq {
  t: 'seq';
  items: TreeNode[];
}

/** Any node of the tree. */
export type TreeNode = Leaf | Branch | Seq;

export const str = (v: string): Leaf => ({ t: 'str', v });

export function isKeyItem(item: KeyItem | CommentItem): item is KeyItem {
  return 'key' in item;
}

/** The value under `key` in a branch, if any. */
export function lookup(branch: Branch, key: string): TreeNode | undefined {
  for (const item of branch.items) if (isKeyItem(item) && item.key === key) return item.value;
  return undefined;
}

/** Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest round-trip digits, never an exponent. */
export function goFormatFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const text = String(v);
  const match = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!match) return text;
  const [, sign, int, frac = '', exp] = match as unknown as [string, string, string, string | undefined, string];
  const digits = int + frac;
  const point = int.length + Number(exp);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** sops' `ToBytes`: the text a leaf contributes to the MAC, or `undefined` for null (skipped). */
export function macText(leaf: Leaf): string | undefined {
  switch (leaf.t) {
    case 'str':
      return leaf.v;
    case 'int':
      return leaf.v.toString();
    case 'float':
      return goFormatFloat(leaf.v);
    case 'bool':
      return leaf.v ? 'True' : 'False';
    case 'null':
      return undefined;
  }
}

/** A leaf as a JavaScript value (ints within the safe range as numbers). */
export function leafToJs(leaf: Leaf): unknown {
  switch (leaf.t) {
    case 'null':
      return null;
    case 'int':
      return leaf.v >= BigInt(Number.MIN_SAFE_INTEGER) && leaf.v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(leaf.v) : leaf.v.toString();
    default:
      return leaf.v;
  }
}

/** The tree as plain JavaScript values (comments dropped). */
export function toJs(node: TreeNode): unknown {
  if (node.t === 'map') return Object.fromEntries(node.items.filter(isKeyItem).map((item) => [item.key, toJs(item.value)]));
  if (node.t === 'seq') return node.items.map(toJs);
  return leafToJs(node);
}

/** A JavaScript value (parsed JSON/YAML, e.g. a rendered object) as a tree, in property order. */
export function fromJs(value: unknown): TreeNode {
  if (value === null || value === undefined) return { t: 'null' };
  if (Array.isArray(value)) return { t: 'seq', items: value.map(fromJs) };
  if (typeof value === 'object') return { t: 'map', items: Object.entries(value).map(([key, v]) => ({ key, value: fromJs(v) })) };
  if (typeof value === 'boolean') return { t: 'bool', v: value };
  if (typeof value === 'bigint') return { t: 'int', v: value };
  if (typeof value === 'number') return Number.isInteger(value) ? { t: 'int', v: BigInt(value) } : { t: 'float', v: value };
  return str(String(value));
}
