// IEEE 754 binary32 <-> binary16 conversion. Results are bit-exact with src/native/kernels-js.ts: round to
// nearest even, overflow to infinity, subnormals kept, NaN keeps its sign and top payload bits and is quieted.
#pragma once
#include <cstddef>
#include <cstdint>

namespace infernode {

uint16_t Float32BitsToFloat16(uint32_t bits);
uint32_t Float16ToFloat32Bits(uint16_t half);

// Whole arrays; use the CPU's F16C conversions where it has them.
void Float32ToFloat16Array(const float* src, uint16_t* dst, size_t count);
void Float16ToFloat32Array(const uint16_t* src, float* dst, size_t count);

}  // namespace infernode
