import { describe, expect, it } from 'vitest';
import { HelmIgnore } from '../src/internal/helm-ignore.js';

// helm-render packages `file://` dependencies itself, so it applies `.helmignore` as Helm's
// pkg/ignore does. The table is Helm's own (pkg/ignore/rules_test.go TestIgnore), including
// its reading of `!` rules.
const dirs = new Set(['cargo', 'cargo/', 'mast/', '.', './']);
const table: [pattern: string, name: string, ignored: boolean][] = [
  ['helm.txt', 'helm.txt', true],
  ['helm.*', 'helm.txt', true],
  ['helm.*', 'rudder.txt', false],
  ['*.txt', 'tiller.txt', true],
  ['*.txt', 'cargo/a.txt', true],
  ['cargo/*.txt', 'cargo/a.txt', true],
  ['cargo/*.*', 'cargo/a.txt', true],
  ['cargo/*.txt', 'mast/a.txt', false],
  ['ru[c-e]?er.txt', 'rudder.txt', true],
  ['templates/.?*', 'templates/.dotfile', true],
  ['.*', '.', false],
  ['.*', './', false],
  ['.*', '.joonix', true],
  ['.*', 'helm.txt', false],
  ['.*', '', false],
  ['cargo/', 'cargo', true],
  ['cargo/', 'cargo/', true],
  ['cargo/', 'mast/', false],
  ['helm.txt/', 'helm.txt', false],
  ['!helm.txt', 'helm.txt', false],
  ['!helm.txt', 'tiller.txt', true],
  ['!*.txt', 'cargo', true],
  ['!cargo/', 'mast/', true],
  ['/a.txt', 'a.txt', true],
  ['/a.txt', 'cargo/a.txt', false],
  ['/cargo/a.txt', 'cargo/a.txt', true],
];

describe('.helmignore rules, as Helm applies them', () => {
  for (const [pattern, name, ignored] of table) {
    it(`${pattern} ${ignored ? 'ignores' : 'keeps'} ${JSON.stringify(name)}`, () => {
      expect(new HelmIgnore(pattern).ignore(name, dirs.has(name))).toBe(ignored);
    });
  }

  it('skips every file under an ignored folder, and templates/ dotfiles by default', () => {
    const rules = new HelmIgnore('# comment\n\ndocs/\n*.skip\n');
    expect(rules.ignores('docs/guide/a.md')).toBe(true);
    expect(rules.ignores('files/x.skip')).toBe(true);
    expect(rules.ignores('templates/.hidden.yaml')).toBe(true);
    expect(rules.ignores('templates/deployment.yaml')).toBe(false);
  });

  it('refuses what Helm refuses: ** and malformed patterns', () => {
    expect(() => new HelmIgnore('a/**/b')).toThrow(/double-star/);
    expect(() => new HelmIgnore('ok\n[ab')).toThrow(/line 2/);
    expect(() => new HelmIgnore('a\\')).toThrow(/syntax error/);
    expect(new HelmIgnore('[z-a]').ignore('z', false)).toBe(false);
  });
});
