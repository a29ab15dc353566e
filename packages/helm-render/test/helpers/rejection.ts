import { ConvergeError } from '@converge/core';
import { expect } from 'vitest';
import type { HelmError } from '../../src/index.js';

/** The error `p` rejects with, checked to be a ConvergeError (a HelmError or an AbortedError). */
export async function rejection(p: Promise<unknown>): Promise<HelmError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConvergeError);
  return err as HelmError;
}
