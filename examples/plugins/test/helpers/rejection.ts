import { ConvergeError } from '@converge/core';
import { expect } from 'vitest';

/** What `promise` rejects with, asserted to be a `ConvergeError` (so its code and data can be checked). */
export async function rejection(promise: Promise<unknown>): Promise<ConvergeError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ConvergeError);
  return error as ConvergeError;
}
