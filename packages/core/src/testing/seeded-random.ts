/**
 * A reproducible source of randomness in [0, 1) (mulberry32): the same seed gives the same
 * numbers, so a randomized test that prints its seed can be run again exactly. Pass it where
 * an API takes `random` (a reconciler's jitter) or draw a test's own choices from it.
 *
 * @example
 * ```ts
 * const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));
 * const random = seededRandom(seed);
 * const action = ['trigger', 'suspend', 'stop'][Math.floor(random() * 3)];
 * ```
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
