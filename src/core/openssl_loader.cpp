// OpenSSL (libcrypto, libssl), loaded when first used. Mapping libcrypto and initialising it
// costs about 3.5 ms of CPU, much of a start that finds nothing to hash (a second scan of an
// unchanged tree, `fimbeat test config`). So fimbeat is not linked against OpenSSL: it defines
// the OpenSSL functions it calls here, and the first call dlopen()s libcrypto.so.3 (libssl.so.3
// for the TLS ones) and forwards every call to the real function from then on. The libraries
// stay shared, so Debian's security updates of OpenSSL apply without a rebuild.

#define OPENSSL_SUPPRESS_DEPRECATED  // SHA256_Init & co. are defined below, as libcrypto has them
#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstring>
#include <string>

#include "core/logging.h"

namespace fim::core {
namespace {

struct Library {
  void* handle = nullptr;  // null: could not be loaded (error says why)
  std::string error;
};

// Never unloaded: OpenSSL objects may live until exit. RTLD_LOCAL: its symbols do not interpose.
Library load(const char* name) {
  Library out;
  out.handle = ::dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (out.handle == nullptr) {
    const char* why = ::dlerror();
    out.error = std::string("cannot load ") + name + ": " + (why ? why : "unknown error");
    logger("openssl").error("{}: hashing and TLS will fail", out.error);
  }
  return out;
}

const Library& crypto() {
  static const Library library = load("libcrypto.so.3");
  return library;
}

const Library& ssl() {
  static const Library library = load("libssl.so.3");
  return library;
}

// The real function `name` of `library`, looked up once per call site (each forwarder below
// keeps its own static); null when the library or the function is missing.
template <typename Function>
Function lookup(const Library& library, const char* name) {
  if (library.handle == nullptr) return nullptr;
  auto* function = reinterpret_cast<Function>(::dlsym(library.handle, name));
  if (function == nullptr) logger("openssl").error("{} has no function {}", library.error.empty() ? "OpenSSL" : library.error, name);
  return function;
}

}  // namespace
}  // namespace fim::core

using fim::core::crypto;
using fim::core::lookup;
using fim::core::ssl;

// Each forwarder: the real function, found on the first call; the failure value when missing.
#define FIM_FORWARD(library, ret, name, params, args, missing)                     \
  ret name params {                                                                \
    static const auto real = lookup<ret(*) params>(library(), #name);              \
    if (real == nullptr) return missing;                                           \
    return real args;                                                              \
  }
#define FIM_FORWARD_VOID(library, name, params, args)                 \
  void name params {                                                  \
    static const auto real = lookup<void(*) params>(library(), #name); \
    if (real != nullptr) real args;                                   \
  }

extern "C" {

// Digests (watcher/hasher.cpp, mapper/event_id.cpp).
FIM_FORWARD(crypto, EVP_MD*, EVP_MD_fetch, (OSSL_LIB_CTX * ctx, const char* algorithm, const char* properties),
            (ctx, algorithm, properties), nullptr)
FIM_FORWARD_VOID(crypto, EVP_MD_free, (EVP_MD * md), (md))
FIM_FORWARD(crypto, EVP_MD_CTX*, EVP_MD_CTX_new, (void), (), nullptr)
FIM_FORWARD_VOID(crypto, EVP_MD_CTX_free, (EVP_MD_CTX * ctx), (ctx))
FIM_FORWARD(crypto, int, EVP_DigestInit_ex2, (EVP_MD_CTX * ctx, const EVP_MD* type, const OSSL_PARAM params[]),
            (ctx, type, params), 0)
FIM_FORWARD(crypto, int, EVP_DigestUpdate, (EVP_MD_CTX * ctx, const void* data, size_t count), (ctx, data, count), 0)
FIM_FORWARD(crypto, int, EVP_DigestFinal_ex, (EVP_MD_CTX * ctx, unsigned char* md, unsigned int* size),
            (ctx, md, size), 0)
FIM_FORWARD(crypto, const EVP_MD*, EVP_sha256, (void), (), nullptr)
FIM_FORWARD(crypto, int, SHA256_Init, (SHA256_CTX * c), (c), 0)
FIM_FORWARD(crypto, int, SHA256_Update, (SHA256_CTX * c, const void* data, size_t len), (c, data, len), 0)
FIM_FORWARD(crypto, int, SHA256_Final, (unsigned char* md, SHA256_CTX* c), (md, c), 0)

// Errors. ERR_get_error's 0 is "no error"; the text then says why nothing could be asked.
FIM_FORWARD(crypto, unsigned long, ERR_get_error, (void), (), 0)
FIM_FORWARD_VOID(crypto, ERR_clear_error, (void), ())
void ERR_error_string_n(unsigned long e, char* buf, size_t len) {
  static const auto real = lookup<void (*)(unsigned long, char*, size_t)>(crypto(), "ERR_error_string_n");
  if (real != nullptr) return real(e, buf, len);
  if (len == 0) return;
  const std::string& why = crypto().error.empty() ? std::string("OpenSSL is missing a function") : crypto().error;
  std::strncpy(buf, why.c_str(), len - 1);
  buf[len - 1] = '\0';
}

// Certificates (output/elasticsearch/http_client.cpp: ssl.ca_trusted_fingerprint).
FIM_FORWARD(crypto, int, X509_digest, (const X509* data, const EVP_MD* type, unsigned char* md, unsigned int* len),
            (data, type, md, len), 0)
FIM_FORWARD_VOID(crypto, X509_STORE_CTX_set_error, (X509_STORE_CTX * ctx, int s), (ctx, s))
FIM_FORWARD(crypto, void*, X509_STORE_CTX_get_ex_data, (const X509_STORE_CTX* ctx, int idx), (ctx, idx), nullptr)
FIM_FORWARD(crypto, int, X509_STORE_CTX_get_error, (const X509_STORE_CTX* ctx), (ctx), X509_V_ERR_UNSPECIFIED)
FIM_FORWARD(crypto, STACK_OF(X509)*, X509_STORE_CTX_get0_untrusted, (const X509_STORE_CTX* ctx), (ctx), nullptr)
FIM_FORWARD(crypto, int, OPENSSL_sk_num, (const OPENSSL_STACK* st), (st), -1)
FIM_FORWARD(crypto, void*, OPENSSL_sk_value, (const OPENSSL_STACK* st, int i), (st, i), nullptr)
FIM_FORWARD(ssl, int, SSL_get_ex_data_X509_STORE_CTX_idx, (void), (), -1)
FIM_FORWARD(ssl, SSL_CTX*, SSL_get_SSL_CTX, (const SSL* s), (s), nullptr)
FIM_FORWARD_VOID(ssl, SSL_CTX_set_verify, (SSL_CTX * ctx, int mode, SSL_verify_cb callback), (ctx, mode, callback))
FIM_FORWARD(ssl, void*, SSL_CTX_get_ex_data, (const SSL_CTX* ctx, int idx), (ctx, idx), nullptr)
FIM_FORWARD(ssl, int, SSL_CTX_set_ex_data, (SSL_CTX * ctx, int idx, void* data), (ctx, idx, data), 0)

}  // extern "C"
