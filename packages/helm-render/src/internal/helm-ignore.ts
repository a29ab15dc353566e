import { helmError } from '../errors.js';

interface Pattern {
  negate: boolean;
  mustDir: boolean;
  /** Matches against the whole path (`/`-prefixed or `/`-containing rules) or its base name. */
  whole: boolean;
  regex: RegExp;
}

/**
 * `.helmignore` rules, as Helm's `pkg/ignore` reads and applies them (including its
 * treatment of `!` rules and the default `templates/.?*`). Used where helm-render packages a
 * chart folder itself (a `file://` dependency), as `helm dependency build` does with
 * `loader.LoadDir`.
 */
export class HelmIgnore {
  readonly #patterns: Pattern[] = [];

  /** Parses a `.helmignore` (absent: no rules) and adds Helm's default rule. */
  constructor(text?: string) {
    const lines = (text ?? '').replace(/^\uFEFF/, '').split(/\r?\n/);
    for (const [i, line] of lines.entries()) this.#add(line, i + 1);
    this.#add('templates/.?*', 0);
  }

  /**
   * Whether the directory walker skips a file at `path` (relative to the chart root, `/`
   * separators): one of its parent folders is ignored, or the file itself is.
   */
  ignores(path: string): boolean {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      if (this.ignore(parts.slice(0, i).join('/'), true)) return true;
    }
    return this.ignore(path, false);
  }

  /** `ignore.Rules.Ignore` for one path, line for line: whether the rules match it. */
  ignore(path: string, isDir: boolean): boolean {
    if (path === '' || path === '.' || path === './') return false;
    for (const p of this.#patterns) {
      const name = p.whole ? path : baseName(path);
      if (p.negate) {
        if (p.mustDir && !isDir) return true;
        if (!p.regex.test(name)) return true;
        continue;
      }
      if (p.mustDir && !isDir) continue;
      if (p.regex.test(name)) return true;
    }
    return false;
  }

  #add(line: string, lineNumber: number): void {
    let rule = line.trim();
    if (rule === '' || rule.startsWith('#')) return;
    const bad = (why: string) => helmError('HELM_CHART_INVALID', `.helmignore line ${lineNumber}: ${why}`, { position: { file: '.helmignore', line: lineNumber } });
    if (rule.includes('**')) throw bad('double-star (**) syntax is not supported');
    const negate = rule.startsWith('!');
    if (negate) rule = rule.slice(1);
    const mustDir = rule.endsWith('/');
    if (mustDir) rule = rule.slice(0, -1);
    const whole = rule.includes('/');
    if (rule.startsWith('/')) rule = rule.slice(1);
    const regex = matchRegex(rule);
    if (!regex) throw bad(`syntax error in pattern ${JSON.stringify(line.trim())}`);
    this.#patterns.push({ negate, mustDir, whole, regex });
  }
}

/** Go's `filepath.Match` pattern as an anchored regular expression, or `undefined` if malformed. */
function matchRegex(pattern: string): RegExp | undefined {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\') {
      if (i + 1 >= pattern.length) return undefined;
      out += escape(pattern[++i]!);
    } else if (c === '[') {
      let j = i + 1;
      let cls = '';
      if (pattern[j] === '^') {
        cls += '^';
        j++;
      }
      let ranges = 0;
      for (;;) {
        if (j >= pattern.length) return undefined;
        if (pattern[j] === ']' && ranges > 0) break;
        let lo = pattern[j]!;
        if (lo === '-' || lo === ']') return undefined;
        if (lo === '\\') lo = pattern[++j] ?? '';
        if (lo === '') return undefined;
        j++;
        let item = escapeClass(lo);
        if (pattern[j] === '-' && pattern[j + 1] !== ']') {
          let hi = pattern[j + 1] ?? '';
          j += 2;
          if (hi === '\\') hi = pattern[j++] ?? '';
          if (hi === '') return undefined;
          // Go accepts a reversed range; it matches nothing.
          item = hi < lo ? '' : `${item}-${escapeClass(hi)}`;
        }
        cls += item;
        ranges++;
      }
      out += `[${cls}]`;
      i = j;
    } else out += escape(c);
  }
  return new RegExp(`^${out}$`, 'su');
}

/** Go's `filepath.Base`: the last element, trailing slashes removed. */
function baseName(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' ? (path === '' ? '.' : '/') : trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

const escape = (c: string) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const escapeClass = (c: string) => c.replace(/[\]\\^-]/g, '\\$&');
