// HWC uint8 pixels to NCHW planes R, G, B: value = byte * scale[c] + offset[c] in double, rounded to float32
// (and to float16 for the uint16_t output), exactly as src/native/kernels-js.ts does it.
#pragma once
#include <cstddef>
#include <cstdint>

namespace infernode {

constexpr int kPlanes = 3;

// `stride` is the bytes per pixel: 3 (RGB) or 4 (RGBA, alpha ignored).
void ImageToPlanes(const uint8_t* hwc, size_t pixels, size_t stride, const double scale[kPlanes], const double offset[kPlanes], float* planes);
void ImageToPlanes(const uint8_t* hwc, size_t pixels, size_t stride, const double scale[kPlanes], const double offset[kPlanes], uint16_t* planes);

}  // namespace infernode
