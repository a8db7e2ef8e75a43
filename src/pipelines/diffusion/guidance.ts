/**
 * Classifier-free guidance on a UNet output batched as [negatives..., positives...] (each half `count` items of
 * `itemSize` values): guided = uncond + scale · (cond − uncond), written into a new array of `count` items.
 */
export function applyGuidance(batched: Float32Array, count: number, itemSize: number, scale: number, out = new Float32Array(count * itemSize)): Float32Array {
  const half = count * itemSize;
  if (batched.length !== 2 * half) throw new RangeError(`guidance expects ${2 * half} values, got ${batched.length}`);
  for (let i = 0; i < half; i++) {
    const uncond = batched[i]!;
    out[i] = uncond + scale * (batched[half + i]! - uncond);
  }
  return out;
}

/** diffusers guides only above 1: at 1 or below the negative prompt would not change the result. */
export const usesGuidance = (scale: number): boolean => scale > 1;
