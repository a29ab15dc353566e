/**
 * Finds the TypeScript code blocks of README.md and docs/*.md and turns each into a module
 * that can be type-checked (docs.test.ts) and, when marked, run (the plugin in
 * ../vitest.config.ts).
 *
 * The convention, for whoever writes docs:
 *
 * - Every ```ts / ```typescript block is type-checked under strict settings. A block that is
 *   not meant to compile (shell, YAML, pseudo-code) takes another fence language.
 * - A block is a fragment: names it uses without defining them (`source`, `sink`, `render`…)
 *   come from the nearest `<!-- ts-setup … -->` comment above it in the same file. The comment
 *   is hidden when the Markdown is rendered and visible in its source; its body is TypeScript
 *   put before the block (imports, and `declare const source: Source;` for values the prose
 *   describes). It applies to every following block until the next `<!-- ts-setup -->`.
 * - ```ts run marks a block that is also executed under vitest with the real packages: its
 *   setup must then define real values, not `declare` them. A block that calls `it()`/`test()`
 *   is a test file (its tests run under the block's file:line); any other is run as one test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the modules made from blocks pretend to live: module resolution starts there. */
export const blocksDir = join(root, 'docs', '.blocks');

export interface DocBlock {
  /** The Markdown file, relative to the root: `docs/core.md`. */
  doc: string;
  /** 1-based line of the block's first code line. */
  line: number;
  /** Run under vitest, not only type-checked. */
  run: boolean;
  /** Its module: the setup, then the block. */
  code: string;
  /** The virtual file name of the module (in {@link blocksDir}). */
  file: string;
  /** Doc line (1-based) of each line of `code`. */
  lines: number[];
  /** Whether the block declares tests itself (`it(`, `test(`, `describe(` at the start of a line). */
  declaresTests: boolean;
  /** `docs/core.md:131`. */
  label: string;
}

/** The Markdown files whose blocks are checked: README.md and docs/*.md. */
export function docFiles(): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)\s*(.*)$/;
const SETUP_OPEN = /^\s*<!--\s*ts-setup\b(.*)$/;

/** The TypeScript blocks of one Markdown file, each with the setup that applies to it. */
export function extractBlocks(doc: string, text = readFileSync(join(root, doc), 'utf8')): DocBlock[] {
  const src = text.split('\n');
  const blocks: DocBlock[] = [];
  let setup: { code: string[]; lines: number[] } = { code: [], lines: [] };
  for (let i = 0; i < src.length; i++) {
    const line = src[i] ?? '';
    const open = SETUP_OPEN.exec(line);
    if (open) {
      const code: string[] = [];
      const lines: number[] = [];
      let rest = open[1] ?? '';
      for (;;) {
        const end = rest.indexOf('-->');
        const part = end === -1 ? rest : rest.slice(0, end);
        if (part.trim() !== '') {
          code.push(part);
          lines.push(i + 1);
        }
        if (end !== -1) break;
        i++;
        if (i >= src.length) throw new Error(`${doc}:${lines[0] ?? i}: <!-- ts-setup is never closed with -->`);
        rest = src[i] ?? '';
      }
      setup = { code, lines };
      continue;
    }
    const fence = FENCE.exec(line);
    if (!fence) continue;
    const [, indent = '', marker = '', lang = '', info = ''] = fence;
    const start = i;
    const body: string[] = [];
    for (i++; i < src.length; i++) {
      const l = src[i] ?? '';
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(l);
      if (close && close[1]?.[0] === marker[0] && (close[1]?.length ?? 0) >= marker.length) break;
      body.push(l.startsWith(indent) ? l.slice(indent.length) : l.trimStart());
    }
    if (lang !== 'ts' && lang !== 'typescript') continue;
    const firstLine = start + 2;
    const name = `${doc.replaceAll('/', '_')}-${firstLine}.ts`;
    blocks.push({
      doc,
      line: firstLine,
      run: info.split(/\s+/).includes('run'),
      code: [...setup.code, ...body, 'export {};'].join('\n'),
      file: join(blocksDir, name),
      lines: [...setup.lines, ...body.map((_, k) => firstLine + k), start + 1],
      declaresTests: body.some((l) => /^(it|test|describe)(\.\w+)?\(/.test(l)),
      label: `${doc}:${firstLine}`,
    });
  }
  return blocks;
}

/** Every block of every checked doc. */
export function allBlocks(): DocBlock[] {
  return docFiles().flatMap((doc) => extractBlocks(doc));
}

/** The block whose virtual module is `file`, if any. */
export function blockOfFile(file: string): DocBlock | undefined {
  if (!file.startsWith(blocksDir)) return undefined;
  const name = relative(blocksDir, file);
  const m = /^(.*)-(\d+)\.ts$/.exec(name);
  if (!m) return undefined;
  const doc = (m[1] ?? '').replace(/^docs_/, 'docs/');
  return extractBlocks(doc).find((b) => b.line === Number(m[2]));
}
