// The single include site for napi.h: every native file includes this instead.
#pragma once

#define NAPI_VERSION 8
#define NODE_ADDON_API_CPP_EXCEPTIONS
#define NODE_ADDON_API_DISABLE_DEPRECATED
#define NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED
#include <napi.h>
