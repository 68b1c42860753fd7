{
  "targets": [
    {
      "target_name": "tfhub_node",
      "sources": [
        "native/addon.cc",
        "native/executor.cc",
        "native/graph.cc",
        "native/reaper.cc",
        "native/server.cc",
        "native/session.cc",
        "native/status.cc",
        "native/tensor.cc",
        "native/tf_api.cc",
        "native/thread_priority.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(node scripts/libtensorflow.js include-dir)"
      ],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS=0"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-ldl", "-pthread"]
    }
  ]
}
