// libcurl, loaded when first used. libcurl brings about 25 libraries with it (GnuTLS, Kerberos,
// LDAP, SSH, ...): loading them costs about 10 ms of every start and 3 MiB of resident memory,
// which an agent writing to a file or the console never needs. So fimbeat is not linked against
// libcurl: it defines the libcurl functions it calls here, and the first call dlopen()s
// libcurl.so.4 and forwards every call to the real functions from then on.

#define CURL_DISABLE_TYPECHECK  // plain declarations: the functions are defined below
#include <curl/curl.h>
#include <dlfcn.h>

#include <cstdarg>
#include <string>

#include "core/curl_loader.h"
#include "core/logging.h"

namespace fim::core {
namespace {

constexpr const char* kLibrary = "libcurl.so.4";

struct CurlApi {
  CURLcode (*global_init)(long);
  CURL* (*easy_init)();
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  CURLcode (*easy_perform)(CURL*);
  void (*easy_cleanup)(CURL*);
  const char* (*easy_strerror)(CURLcode);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
  CURLM* (*multi_init)();
  CURLMcode (*multi_add_handle)(CURLM*, CURL*);
  CURLMcode (*multi_remove_handle)(CURLM*, CURL*);
  CURLMcode (*multi_perform)(CURLM*, int*);
  CURLMcode (*multi_poll)(CURLM*, curl_waitfd*, unsigned int, int, int*);
  CURLMcode (*multi_wakeup)(CURLM*);
  CURLMsg* (*multi_info_read)(CURLM*, int*);
  CURLMcode (*multi_cleanup)(CURLM*);
};

struct Loaded {
  const CurlApi* api = nullptr;  // null: libcurl could not be loaded
  std::string error;
};

template <typename Function>
bool bind(void* library, const char* name, Function& function, std::string& error) {
  function = reinterpret_cast<Function>(::dlsym(library, name));
  if (function == nullptr && error.empty()) error = std::string(kLibrary) + " has no " + name;
  return function != nullptr;
}

const Loaded& loaded() {
  static const Loaded result = [] {
    Loaded out;
    // Never unloaded: handles may live until exit. RTLD_LOCAL: its symbols do not interpose.
    void* library = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
      const char* why = ::dlerror();
      out.error = std::string("cannot load ") + kLibrary + ": " + (why ? why : "unknown error");
    } else {
      static CurlApi api{};
      bool ok = true;
      ok &= bind(library, "curl_global_init", api.global_init, out.error);
      ok &= bind(library, "curl_easy_init", api.easy_init, out.error);
      ok &= bind(library, "curl_easy_setopt", api.easy_setopt, out.error);
      ok &= bind(library, "curl_easy_getinfo", api.easy_getinfo, out.error);
      ok &= bind(library, "curl_easy_perform", api.easy_perform, out.error);
      ok &= bind(library, "curl_easy_cleanup", api.easy_cleanup, out.error);
      ok &= bind(library, "curl_easy_strerror", api.easy_strerror, out.error);
      ok &= bind(library, "curl_slist_append", api.slist_append, out.error);
      ok &= bind(library, "curl_slist_free_all", api.slist_free_all, out.error);
      ok &= bind(library, "curl_multi_init", api.multi_init, out.error);
      ok &= bind(library, "curl_multi_add_handle", api.multi_add_handle, out.error);
      ok &= bind(library, "curl_multi_remove_handle", api.multi_remove_handle, out.error);
      ok &= bind(library, "curl_multi_perform", api.multi_perform, out.error);
      ok &= bind(library, "curl_multi_poll", api.multi_poll, out.error);
      ok &= bind(library, "curl_multi_wakeup", api.multi_wakeup, out.error);
      ok &= bind(library, "curl_multi_info_read", api.multi_info_read, out.error);
      ok &= bind(library, "curl_multi_cleanup", api.multi_cleanup, out.error);
      if (ok) out.api = &api;
    }
    if (!out.api) logger("http").error("{}: HTTP requests (Elasticsearch, cloud metadata) will fail", out.error);
    return out;
  }();
  return result;
}

const CurlApi* api() { return loaded().api; }

}  // namespace

Status loadCurl() {
  if (api()) return {};
  return fail(ErrorCode::Unavailable, loaded().error);
}

}  // namespace fim::core

using fim::core::api;

extern "C" {

CURLcode curl_global_init(long flags) { return api() ? api()->global_init(flags) : CURLE_FAILED_INIT; }

CURL* curl_easy_init() { return api() ? api()->easy_init() : nullptr; }

// The one argument's type follows from the option's number, as in libcurl itself.
CURLcode curl_easy_setopt(CURL* handle, CURLoption option, ...) {
  if (!api()) return CURLE_FAILED_INIT;
  va_list args;
  va_start(args, option);
  CURLcode result;
  if (option < CURLOPTTYPE_OBJECTPOINT) {
    result = api()->easy_setopt(handle, option, va_arg(args, long));
  } else if (option < CURLOPTTYPE_FUNCTIONPOINT) {
    result = api()->easy_setopt(handle, option, va_arg(args, void*));
  } else if (option < CURLOPTTYPE_OFF_T) {
    using AnyFunction = void (*)();
    result = api()->easy_setopt(handle, option, va_arg(args, AnyFunction));
  } else if (option < CURLOPTTYPE_BLOB) {
    result = api()->easy_setopt(handle, option, va_arg(args, curl_off_t));
  } else {
    result = api()->easy_setopt(handle, option, va_arg(args, void*));  // struct curl_blob*
  }
  va_end(args);
  return result;
}

// Every CURLINFO takes one pointer to where the answer goes.
CURLcode curl_easy_getinfo(CURL* handle, CURLINFO info, ...) {
  if (!api()) return CURLE_FAILED_INIT;
  va_list args;
  va_start(args, info);
  void* out = va_arg(args, void*);
  va_end(args);
  return api()->easy_getinfo(handle, info, out);
}

CURLcode curl_easy_perform(CURL* handle) { return api() ? api()->easy_perform(handle) : CURLE_FAILED_INIT; }

void curl_easy_cleanup(CURL* handle) {
  if (api()) api()->easy_cleanup(handle);
}

const char* curl_easy_strerror(CURLcode code) {
  return api() ? api()->easy_strerror(code) : "libcurl could not be loaded";
}

curl_slist* curl_slist_append(curl_slist* list, const char* text) {
  return api() ? api()->slist_append(list, text) : nullptr;
}

void curl_slist_free_all(curl_slist* list) {
  if (api()) api()->slist_free_all(list);
}

CURLM* curl_multi_init() { return api() ? api()->multi_init() : nullptr; }

CURLMcode curl_multi_add_handle(CURLM* multi, CURL* handle) {
  return api() ? api()->multi_add_handle(multi, handle) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_remove_handle(CURLM* multi, CURL* handle) {
  return api() ? api()->multi_remove_handle(multi, handle) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_perform(CURLM* multi, int* running) {
  return api() ? api()->multi_perform(multi, running) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_poll(CURLM* multi, curl_waitfd* extra, unsigned int count, int timeoutMs, int* ready) {
  return api() ? api()->multi_poll(multi, extra, count, timeoutMs, ready) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_wakeup(CURLM* multi) { return api() ? api()->multi_wakeup(multi) : CURLM_INTERNAL_ERROR; }

CURLMsg* curl_multi_info_read(CURLM* multi, int* left) { return api() ? api()->multi_info_read(multi, left) : nullptr; }

CURLMcode curl_multi_cleanup(CURLM* multi) { return api() ? api()->multi_cleanup(multi) : CURLM_INTERNAL_ERROR; }

}  // extern "C"
