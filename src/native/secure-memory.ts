/**
 * Memory for keys and user inputs: zeroing the compiler cannot remove, and key pages kept out of swap
 * (mlock) and core dumps (MADV_DONTDUMP) where the system allows.
 */
import { nativeAddon } from './addon.js';

/**
 * Zeroes the bytes (explicit_bzero in the addon; `fill(0)` without it, which JS never elides either). A buffer
 * transferred to another thread (detached here) has no bytes left to zero: the receiver owns them.
 */
export function secureZero(buf: Uint8Array): void {
  const addon = nativeAddon();
  if (addon) addon.secureZero(buf);
  else if (buf.byteLength > 0) buf.fill(0);
}

export type LockOutcome =
  | { locked: true }
  /** `firstRefusal` is true once per thread, so the caller logs one line and no more. */
  | { locked: false; reason: string; firstRefusal: boolean };

let refusedBefore = false;

function refusal(reason: string): LockOutcome {
  const firstRefusal = !refusedBefore;
  refusedBefore = true;
  return { locked: false, reason, firstRefusal };
}

/**
 * Locks the pages under `buf` in memory and leaves them out of core dumps. Best on a slab from
 * allocateKeySlab(), whose pages hold nothing else. A refusal (RLIMIT_MEMLOCK, no addon) is not an error.
 */
export function lockKeyBuffer(buf: Uint8Array): LockOutcome {
  const addon = nativeAddon();
  if (!addon) return refusal('the native addon is not loaded, so key memory cannot be locked');
  const result = addon.lockPages(buf);
  if (result.locked && result.dontDump) return { locked: true };
  return refusal(`key memory is not fully protected: ${result.error ?? 'unknown error'}`);
}

/**
 * Zero-filled memory on pages of its own (mmap), for keys; freed on garbage collection after being zeroed.
 * Without the addon, a plain Buffer.alloc (never from the shared pool).
 */
export function allocateKeySlab(bytes: number): Buffer {
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new RangeError(`bytes must be a positive integer, got ${bytes}`);
  const addon = nativeAddon();
  return addon ? addon.allocateSlab(bytes) : Buffer.alloc(bytes);
}
