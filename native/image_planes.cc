#include "image_planes.h"

#include <cstring>

#include "half.h"

namespace infernode {
namespace {

inline void Store(float value, float* out) { *out = value; }

inline void Store(float value, uint16_t* out) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  *out = Float32BitsToFloat16(bits);
}

template <typename Out>
struct ChannelTables {
  Out values[kPlanes][256];
};

// A byte has 256 values, so each channel is a lookup table.
template <typename Out>
void FillTables(const double scale[kPlanes], const double offset[kPlanes], ChannelTables<Out>& tables) {
  for (int c = 0; c < kPlanes; ++c) {
    for (int v = 0; v < 256; ++v) Store(static_cast<float>(static_cast<double>(v) * scale[c] + offset[c]), &tables.values[c][v]);
  }
}

// Four pixels at a time: their bytes in one or two wide loads and each plane's four values in one store,
// which keeps the loop off the load and store ports that bound the byte-by-byte version.
template <size_t Stride, typename Out>
size_t FourPixelsAtATime(const uint8_t* hwc, size_t pixels, const ChannelTables<Out>& tables, Out* planes) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  const size_t whole = pixels & ~static_cast<size_t>(3);
  for (size_t p = 0; p < whole; p += 4) {
    uint64_t low;
    uint64_t high = 0;
    std::memcpy(&low, hwc + p * Stride, sizeof low);
    std::memcpy(&high, hwc + p * Stride + 8, 4 * Stride - 8);
    const auto byte = [&](size_t k) -> uint8_t { return static_cast<uint8_t>(k < 8 ? low >> (8 * k) : high >> (8 * (k - 8))); };
    for (size_t c = 0; c < kPlanes; ++c) {
      const Out group[4] = {tables.values[c][byte(c)], tables.values[c][byte(Stride + c)], tables.values[c][byte(2 * Stride + c)], tables.values[c][byte(3 * Stride + c)]};
      std::memcpy(planes + c * pixels + p, group, sizeof group);
    }
  }
  return whole;
#else
  return 0;
#endif
}

template <typename Out>
void Planes(const uint8_t* hwc, size_t pixels, size_t stride, const double scale[kPlanes], const double offset[kPlanes], Out* planes) {
  ChannelTables<Out> tables;
  FillTables(scale, offset, tables);
  const size_t done = stride == 4 ? FourPixelsAtATime<4>(hwc, pixels, tables, planes) : FourPixelsAtATime<3>(hwc, pixels, tables, planes);
  for (size_t p = done; p < pixels; ++p) {
    for (size_t c = 0; c < kPlanes; ++c) planes[c * pixels + p] = tables.values[c][hwc[p * stride + c]];
  }
}

}  // namespace

void ImageToPlanes(const uint8_t* hwc, size_t pixels, size_t stride, const double scale[kPlanes], const double offset[kPlanes], float* planes) {
  Planes(hwc, pixels, stride, scale, offset, planes);
}

void ImageToPlanes(const uint8_t* hwc, size_t pixels, size_t stride, const double scale[kPlanes], const double offset[kPlanes], uint16_t* planes) {
  Planes(hwc, pixels, stride, scale, offset, planes);
}

}  // namespace infernode
