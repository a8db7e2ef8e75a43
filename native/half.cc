#include "half.h"

#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define INFERNODE_X86 1
#endif

namespace infernode {

uint16_t Float32BitsToFloat16(uint32_t bits) {
  const uint32_t sign = (bits >> 16) & 0x8000u;
  const uint32_t abs = bits & 0x7fffffffu;
  if (abs >= 0x7f800000u) {
    if (abs == 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u);
    return static_cast<uint16_t>(sign | 0x7e00u | ((abs >> 13) & 0x3ffu));
  }
  // 65520 is halfway between 65504 (largest half, odd mantissa) and 2^16: ties to even round it up to infinity.
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);
  if (abs < 0x38800000u) {
    // 2^-25 is halfway between zero and the smallest subnormal; ties to even give zero.
    if (abs <= 0x33000000u) return static_cast<uint16_t>(sign);
    const uint32_t exponent = abs >> 23;
    const uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - exponent;
    uint32_t half = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1u);
    const uint32_t halfway = 1u << (shift - 1u);
    if (rest > halfway || (rest == halfway && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  const uint32_t rebiased = abs - 0x38000000u;
  uint32_t half = rebiased >> 13;
  const uint32_t rest = rebiased & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;
  return static_cast<uint16_t>(sign | half);
}

uint32_t Float16ToFloat32Bits(uint16_t half) {
  const uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  uint32_t exponent = (half >> 10) & 0x1fu;
  uint32_t mantissa = half & 0x3ffu;
  if (exponent == 0x1fu) {
    if (mantissa == 0) return sign | 0x7f800000u;
    return sign | 0x7fc00000u | (mantissa << 13);
  }
  if (exponent == 0) {
    if (mantissa == 0) return sign;
    exponent = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    return sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
  }
  return sign | ((exponent + 112u) << 23) | (mantissa << 13);
}

namespace {

void Float32ToFloat16Scalar(const float* src, uint16_t* dst, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    uint32_t bits;
    std::memcpy(&bits, src + i, sizeof bits);
    dst[i] = Float32BitsToFloat16(bits);
  }
}

void Float16ToFloat32Scalar(const uint16_t* src, float* dst, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    const uint32_t bits = Float16ToFloat32Bits(src[i]);
    std::memcpy(dst + i, &bits, sizeof bits);
  }
}

#ifdef INFERNODE_X86
bool HasF16c() {
  static const bool has = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
  return has;
}

__attribute__((target("avx,f16c"))) size_t Float32ToFloat16F16c(const float* src, uint16_t* dst, size_t count) {
  size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m128i half = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), half);
  }
  return i;
}

// vcvtph2ps keeps a signalling NaN signalling; quieting afterwards matches the scalar rule.
__attribute__((target("avx,f16c"))) size_t Float16ToFloat32F16c(const uint16_t* src, float* dst, size_t count) {
  const __m256 quietBit = _mm256_castsi256_ps(_mm256_set1_epi32(0x00400000));
  size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256 wide = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
    const __m256 isNan = _mm256_cmp_ps(wide, wide, _CMP_UNORD_Q);
    _mm256_storeu_ps(dst + i, _mm256_or_ps(wide, _mm256_and_ps(isNan, quietBit)));
  }
  return i;
}
#endif

}  // namespace

void Float32ToFloat16Array(const float* src, uint16_t* dst, size_t count) {
  size_t done = 0;
#ifdef INFERNODE_X86
  if (HasF16c()) done = Float32ToFloat16F16c(src, dst, count);
#endif
  Float32ToFloat16Scalar(src + done, dst + done, count - done);
}

void Float16ToFloat32Array(const uint16_t* src, float* dst, size_t count) {
  size_t done = 0;
#ifdef INFERNODE_X86
  if (HasF16c()) done = Float16ToFloat32F16c(src, dst, count);
#endif
  Float16ToFloat32Scalar(src + done, dst + done, count - done);
}

}  // namespace infernode
