// Tensor conversions for the pipelines. Argument shapes are checked in src/native/kernels.ts; the checks here
// only keep a wrong call from touching memory outside the arrays it passed.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "exports.h"
#include "half.h"
#include "image_planes.h"
#include "planes_to_rgb.h"

namespace infernode {
namespace {

constexpr int kOutChannels = kPlanes;

void Require(bool ok, Napi::Env env, const char* message) {
  if (!ok) throw Napi::TypeError::New(env, message);
}

template <typename T>
Napi::TypedArrayOf<T> TypedArrayArg(const Napi::CallbackInfo& info, size_t i, napi_typedarray_type type, const char* message) {
  Require(info[i].IsTypedArray() && info[i].As<Napi::TypedArray>().TypedArrayType() == type, info.Env(), message);
  return info[i].As<Napi::TypedArrayOf<T>>();
}

size_t SizeArg(const Napi::CallbackInfo& info, size_t i, const char* message) {
  Require(info[i].IsNumber(), info.Env(), message);
  const double value = info[i].As<Napi::Number>().DoubleValue();
  Require(value >= 0 && value <= 9007199254740991.0 && std::floor(value) == value, info.Env(), message);
  return static_cast<size_t>(value);
}

size_t Product(Napi::Env env, size_t a, size_t b) {
  size_t product;
  Require(!__builtin_mul_overflow(a, b, &product), env, "sizes too large");
  return product;
}

void ChannelArrayArg(const Napi::CallbackInfo& info, size_t i, double out[kOutChannels], const char* message) {
  Require(info[i].IsArray() && info[i].As<Napi::Array>().Length() == kOutChannels, info.Env(), message);
  const Napi::Array array = info[i].As<Napi::Array>();
  for (uint32_t c = 0; c < kOutChannels; ++c) {
    const Napi::Value v = array.Get(c);
    Require(v.IsNumber(), info.Env(), message);
    out[c] = v.As<Napi::Number>().DoubleValue();
  }
}

// imageToTensorInto(hwc: Uint8Array, width, height, channels: 3|4, scale: number[3], offset: number[3],
//                   out: Float32Array | Uint16Array (float16 bits), length 3*width*height)
void ImageToTensorInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto hwc = TypedArrayArg<uint8_t>(info, 0, napi_uint8_array, "image must be a Uint8Array");
  const size_t width = SizeArg(info, 1, "width must be a non-negative integer");
  const size_t height = SizeArg(info, 2, "height must be a non-negative integer");
  const size_t channels = SizeArg(info, 3, "channels must be 3 or 4");
  Require(channels == 3 || channels == 4, env, "channels must be 3 or 4");
  double scale[kOutChannels];
  double offset[kOutChannels];
  ChannelArrayArg(info, 4, scale, "scale must hold 3 numbers");
  ChannelArrayArg(info, 5, offset, "offset must hold 3 numbers");
  const size_t pixels = Product(env, width, height);
  const size_t planes = Product(env, pixels, kOutChannels);
  Require(hwc.ElementLength() == Product(env, pixels, channels), env, "image length must be width*height*channels");
  Require(info[6].IsTypedArray(), env, "out must be a Float32Array or a Uint16Array");
  const napi_typedarray_type outType = info[6].As<Napi::TypedArray>().TypedArrayType();
  if (outType == napi_float32_array) {
    auto out = info[6].As<Napi::Float32Array>();
    Require(out.ElementLength() == planes, env, "out length must be 3*width*height");
    ImageToPlanes(hwc.Data(), pixels, channels, scale, offset, out.Data());
    return;
  }
  Require(outType == napi_uint16_array, env, "out must be a Float32Array or a Uint16Array");
  auto out = info[6].As<Napi::Uint16Array>();
  Require(out.ElementLength() == planes, env, "out length must be 3*width*height");
  ImageToPlanes(hwc.Data(), pixels, channels, scale, offset, out.Data());
}

// float32ToFloat16Into(src: Float32Array, dst: Uint16Array of the same length)
void Float32ToFloat16Into(const Napi::CallbackInfo& info) {
  const auto src = TypedArrayArg<float>(info, 0, napi_float32_array, "src must be a Float32Array");
  auto dst = TypedArrayArg<uint16_t>(info, 1, napi_uint16_array, "dst must be a Uint16Array");
  Require(src.ElementLength() == dst.ElementLength(), info.Env(), "dst length must equal src length");
  Float32ToFloat16Array(src.Data(), dst.Data(), src.ElementLength());
}

// float16ToFloat32Into(src: Uint16Array, dst: Float32Array of the same length)
void Float16ToFloat32Into(const Napi::CallbackInfo& info) {
  const auto src = TypedArrayArg<uint16_t>(info, 0, napi_uint16_array, "src must be a Uint16Array");
  auto dst = TypedArrayArg<float>(info, 1, napi_float32_array, "dst must be a Float32Array");
  Require(src.ElementLength() == dst.ElementLength(), info.Env(), "dst length must equal src length");
  Float16ToFloat32Array(src.Data(), dst.Data(), src.ElementLength());
}

// tensorToImageInto(nchw: Float32Array, start: element index of the image, channels, height, width,
//                   out: Uint8Array, length height*width*channels, interleaved)
void TensorToImageInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto nchw = TypedArrayArg<float>(info, 0, napi_float32_array, "tensor must be a Float32Array");
  const size_t start = SizeArg(info, 1, "start must be a non-negative integer");
  const size_t channels = SizeArg(info, 2, "channels must be a positive integer");
  const size_t height = SizeArg(info, 3, "height must be a non-negative integer");
  const size_t width = SizeArg(info, 4, "width must be a non-negative integer");
  auto out = TypedArrayArg<uint8_t>(info, 5, napi_uint8_array, "out must be a Uint8Array");
  Require(channels >= 1, env, "channels must be a positive integer");
  const size_t pixels = Product(env, height, width);
  const size_t values = Product(env, pixels, channels);
  Require(start <= nchw.ElementLength() && nchw.ElementLength() - start >= values, env, "tensor is too short for the image");
  Require(out.ElementLength() == values, env, "out length must be height*width*channels");
  const float* planes = nchw.Data() + start;
  uint8_t* hwc = out.Data();
  if (channels == 3) {
    PlanesToRgb(planes, pixels, hwc);
    return;
  }
  for (size_t c = 0; c < channels; ++c) {
    const float* plane = planes + c * pixels;
    for (size_t p = 0; p < pixels; ++p) hwc[p * channels + c] = UnitToByte(plane[p]);
  }
}

}  // namespace

void ExportTensorKernels(Napi::Env env, Napi::Object exports) {
  exports.Set("imageToTensorInto", Napi::Function::New(env, ImageToTensorInto, "imageToTensorInto"));
  exports.Set("float32ToFloat16Into", Napi::Function::New(env, Float32ToFloat16Into, "float32ToFloat16Into"));
  exports.Set("float16ToFloat32Into", Napi::Function::New(env, Float16ToFloat32Into, "float16ToFloat32Into"));
  exports.Set("tensorToImageInto", Napi::Function::New(env, TensorToImageInto, "tensorToImageInto"));
}

}  // namespace infernode
