import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// docs/extending.md quotes these examples; a block whose first line is `// examples/plugins/<file>`
// must be a run of that file's lines (dedented), so the guide cannot drift from tested code.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const guide = readFileSync(join(root, 'docs/extending.md'), 'utf8');
const quotes = [...guide.matchAll(/^```ts\n\/\/ (examples\/plugins\/\S+)\n([\s\S]*?)^```$/gm)].map((m) => ({ file: m[1] ?? '', body: (m[2] ?? '').replace(/\n$/, '').split('\n') }));

/** Whether `quoted` stands in `lines` as consecutive lines, all indented alike. */
function standsIn(quoted: string[], lines: string[]): boolean {
  return lines.some((line, start) => {
    const indent = line.slice(0, line.length - line.trimStart().length);
    return quoted.every((q, k) => {
      const actual = lines[start + k];
      return actual !== undefined && (q === '' ? actual.trim() === '' : actual === indent + q);
    });
  });
}

describe('docs/extending.md', () => {
  it('quotes the example files', () => {
    expect(quotes.length).toBeGreaterThanOrEqual(9);
  });

  for (const { file, body } of quotes) {
    it(`quotes ${file} as it is: ${body[0]}`, () => {
      const lines = readFileSync(join(root, file), 'utf8').split('\n');
      expect(standsIn(body, lines), `the block starting "${body[0]}" no longer matches ${file}; copy the code again`).toBe(true);
    });
  }

  it('links only to files that exist', () => {
    const links = [...guide.matchAll(/\]\((\.\.\/[^)#]+)\)/g)].map((m) => m[1] ?? '');
    expect(links.length).toBeGreaterThan(10);
    expect(links.filter((link) => !existsSync(join(root, 'docs', link)))).toEqual([]);
  });
});
