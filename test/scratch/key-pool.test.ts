import t from 'tap';
import { KeyPool } from '../../src/scratch/key-pool.js';

t.test('keys are random, distinct and zeroed the moment they are released', async (t) => {
  const pool = new KeyPool();
  const a = pool.acquire();
  const b = pool.acquire();
  t.equal(a.length, 32);
  t.notSame(a, b);
  t.ok(a.some((x) => x !== 0));
  const view = a;
  pool.release(a);
  t.ok(view.every((x) => x === 0), 'the released key bytes are zero');
  const c = pool.acquire();
  t.ok(c.some((x) => x !== 0), 'a reused slot gets fresh random bytes');
});

t.test('a pool grows past one slab', async (t) => {
  const pool = new KeyPool();
  const keys = Array.from({ length: 3000 }, () => pool.acquire());
  t.equal(new Set(keys.map((k) => k.toString('hex'))).size, 3000);
});
