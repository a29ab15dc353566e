import { defineProject, type Plugin } from 'vitest/config';
import { join } from 'node:path';
import { blockOfFile, root } from './test/extract.ts';

/**
 * Serves each ```ts block of the docs as a module (its setup, then the block), with a source
 * map to its Markdown lines, so `import(block.file)` runs it with the real packages.
 */
function docBlocks(): Plugin {
  return {
    name: 'converge-doc-blocks',
    enforce: 'pre',
    resolveId(id) {
      return blockOfFile(id) ? id : undefined;
    },
    load(id) {
      const block = blockOfFile(id);
      if (!block) return undefined;
      // One segment per line: generated column 0 → the block's line in the Markdown file.
      let prev = 0;
      const mappings = block.lines.map((docLine) => {
        const segment = `AA${vlq(docLine - 1 - prev)}A`;
        prev = docLine - 1;
        return segment;
      });
      const map = { version: 3, sources: [join(root, block.doc)], names: [], mappings: mappings.join(';') };
      return { code: block.code, map };
    },
  };
}

/** Base64 VLQ of one integer (source maps). */
function vlq(value: number): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let v = value < 0 ? (-value << 1) | 1 : value << 1;
  let out = '';
  do {
    let digit = v & 31;
    v >>>= 5;
    if (v > 0) digit |= 32;
    out += chars[digit];
  } while (v > 0);
  return out;
}

export default defineProject({
  plugins: [docBlocks()],
  test: {
    name: 'docs',
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
  },
});
