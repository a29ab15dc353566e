import { describe, expect, it } from 'vitest';
import { allBlocks } from './extract.ts';
import { typecheckBlocks } from './typecheck.ts';

// The convention (setup comments, ```ts run) is described at the top of extract.ts.
const blocks = allBlocks();
const HINT =
  'A name the prose defines goes in a <!-- ts-setup … --> comment above the block (see docs/test/extract.ts); ' +
  'a block that is not meant to compile takes another fence language.';

describe('every TypeScript block in the docs compiles', () => {
  // One program for all blocks (a few seconds); each block then reports its own errors.
  let errors: ReturnType<typeof typecheckBlocks> | undefined;
  const check = () => (errors ??= typecheckBlocks(blocks));

  it('finds the blocks', () => {
    expect(blocks.length).toBeGreaterThan(20);
  });

  for (const block of blocks) {
    it(block.label, () => {
      const found = check().get(block.label) ?? [];
      if (found.length > 0) {
        throw new Error(`${found.map((d) => `${d.where}  ${d.message}`).join('\n')}\n\n${HINT}`);
      }
    }, 60_000);
  }
});

/** How long one executed block may take: a testing example that hangs fails, naming its line. */
const RUN_TIMEOUT_MS = 20_000;

describe('the testing examples run', () => {
  for (const block of blocks.filter((b) => b.run)) {
    if (block.declaresTests) {
      // A test file: its it()s register under the block's file:line.
      describe(block.label, async () => {
        await withTimeout(import(/* @vite-ignore */ block.file), block.label);
      });
    } else {
      it(block.label, async () => {
        await import(/* @vite-ignore */ block.file);
      }, RUN_TIMEOUT_MS);
    }
  }
});

async function withTimeout<T>(promise: Promise<T>, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: loading the block took over ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
