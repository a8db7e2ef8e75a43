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

/**
 * diffusers' get_guidance_scale_embedding (the LCM pipelines) for `count` items: [sin(1000·w·fᵢ) ‖ cos(1000·w·fᵢ)]
 * with fᵢ = exp(−i·ln 10⁴ / (dim/2 − 1)), zero-padded to an odd `dim`. The pipeline passes w = guidance_scale − 1.
 * Each operation is rounded to float32 as torch computes it there: at 1000·w·f₀ in the thousands, float64
 * arguments would move the sines by 10⁻⁴.
 */
export function guidanceEmbedding(w: number, dim: number, count: number): Float32Array {
  const f = Math.fround;
  const half = Math.floor(dim / 2);
  const rate = f(f(Math.log(10000)) / (half - 1));
  const scaled = f(f(w) * 1000);
  const row = new Float32Array(dim);
  for (let i = 0; i < half; i++) {
    const angle = f(scaled * f(Math.exp(f(i * -rate))));
    row[i] = Math.sin(angle);
    row[half + i] = Math.cos(angle);
  }
  const out = new Float32Array(dim * count);
  for (let c = 0; c < count; c++) out.set(row, c * dim);
  return out;
}
