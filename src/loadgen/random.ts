/** A seeded uniform generator on [0, 1) (mulberry32): the same seed gives the same run. */
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

/**
 * Gaps between Poisson arrivals at `ratePerS`, in milliseconds: exponentially distributed,
 * so arrivals are independent of the server's answers (open-loop load).
 */
export function* poissonGapsMs(ratePerS: number, random: () => number): Generator<number, never> {
  if (!(ratePerS > 0)) throw new RangeError('rate must be positive');
  for (;;) yield (-Math.log(1 - random()) / ratePerS) * 1000;
}
