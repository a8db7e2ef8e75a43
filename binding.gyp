{
  "targets": [
    {
      "target_name": "infernode_native",
      "sources": [
        "native/addon.cc",
        "native/half.cc",
        "native/image_planes.cc",
        "native/planes_to_rgb.cc",
        "native/tensor_kernels.cc",
        "native/secure_memory.cc",
        "native/nvml.cc",
        "native/thread_priority.cc"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags": ["-O3", "-fvisibility=hidden", "-ffp-contract=off"],
      "cflags_cc": ["-std=c++17"],
      "libraries": ["-ldl"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O3", "-ffp-contract=off"],
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES"
      }
    }
  ]
}
