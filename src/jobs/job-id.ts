import { randomFillSync } from 'node:crypto';
import { ulid } from 'ulid';

// ulid's default source makes one crypto call per random character (16 an id, about 90 µs on the request
// path); the same CSPRNG read 4 KiB at a time costs a fraction of that.
const pool = new Uint8Array(4096);
let next = pool.length;
const pooledRandom = (): number => {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return pool[next++]! / 256;
};

export const newJobId = (): string => `job_${ulid(undefined, pooledRandom)}`;
