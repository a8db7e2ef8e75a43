import { randomFillSync } from 'node:crypto';
import { allocateKeySlab, lockKeyBuffer, secureZero } from '../native/secure-memory.js';
import { KEY_BYTES } from './aead.js';

const KEYS_PER_SLAB = 1024;

export type LockRefusalListener = (reason: string) => void;

/**
 * Per-vault keys carved from slabs on pages of their own, locked in memory and kept out of core dumps
 * where the system allows (a refusal is tolerated and reported once). A released key is zeroed at once.
 */
export class KeyPool {
  private readonly free: Buffer[] = [];

  constructor(private readonly onLockRefused: LockRefusalListener = () => undefined) {}

  acquire(): Buffer {
    if (this.free.length === 0) this.grow();
    return randomFillSync(this.free.pop()!);
  }

  release(key: Buffer): void {
    secureZero(key);
    this.free.push(key);
  }

  private grow(): void {
    const slab = allocateKeySlab(KEYS_PER_SLAB * KEY_BYTES);
    const outcome = lockKeyBuffer(slab);
    if (!outcome.locked && outcome.firstRefusal) this.onLockRefused(outcome.reason);
    for (let i = KEYS_PER_SLAB - 1; i >= 0; i--) this.free.push(slab.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES));
  }
}
