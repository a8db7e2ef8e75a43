// NCHW float planes in [-1, 1] to interleaved bytes: floor((x + 1) * 127.5 + 0.5) in double, clamped to [0, 255],
// NaN to 0, exactly as src/native/kernels-js.ts does it.
#pragma once
#include <cstddef>
#include <cstdint>

namespace infernode {

uint8_t UnitToByte(float x);

// Three planes of `pixels` values each (R, G, B) to RGB bytes; AVX2 where the CPU has it.
void PlanesToRgb(const float* planes, size_t pixels, uint8_t* rgb);

}  // namespace infernode
