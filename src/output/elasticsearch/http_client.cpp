#include "output/elasticsearch/http_client.h"

#include "core/base64.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <mutex>
#include <sstream>

#include <fmt/format.h>

namespace fim::output::es {
namespace {

struct Transfer {
  std::string* body;
  std::stop_token stop;
  std::map<std::string, std::string>* headers;
};

size_t onData(char* data, size_t size, size_t count, void* user) {
  static_cast<Transfer*>(user)->body->append(data, size * count);
  return size * count;
}

// One header line; a status line starts the headers of the next response (a proxy's answer to
// CONNECT, an interim 1xx, then the final one), so only the final response's headers are kept.
size_t onHeader(char* data, size_t size, size_t count, void* user) {
  auto& headers = *static_cast<Transfer*>(user)->headers;
  std::string_view line(data, size * count);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.rfind("HTTP/", 0) == 0) {
    headers.clear();
  } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    headers[name] = std::string(value);
  }
  return size * count;
}

bool isInlinePem(const std::string& value) { return value.find("-----BEGIN") != std::string::npos; }

int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(user)->stop.stop_requested() ? 1 : 0;  // non-zero aborts the transfer
}

std::once_flag curlInit;

std::string readCaBundle(const std::vector<std::string>& authorities) {
  std::string bundle;
  for (const auto& ca : authorities) {
    if (isInlinePem(ca)) {  // inline PEM, as beats allows
      bundle += ca;
    } else {
      std::ifstream in(ca);
      std::stringstream text;
      text << in.rdbuf();
      bundle += text.str();
    }
    bundle += '\n';
  }
  return bundle;
}

// ssl.ca_trusted_fingerprint: a chain whose certificates include the CA with this SHA-256 is
// trusted even when no configured CA signs it (hostname checks still apply).
int verifyWithFingerprint(int preverified, X509_STORE_CTX* ctx) {
  if (preverified) return 1;
  SSL* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  SSL_CTX* sslCtx = SSL_get_SSL_CTX(ssl);
  const auto* wanted = static_cast<const std::string*>(SSL_CTX_get_app_data(sslCtx));
  const int error = X509_STORE_CTX_get_error(ctx);
  if (!wanted || (error != X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY && error != X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN &&
                  error != X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT && error != X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE &&
                  error != X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT)) {
    return 0;
  }
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_untrusted(ctx);
  for (int i = 0; chain && i < sk_X509_num(chain); ++i) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (!X509_digest(sk_X509_value(chain, i), EVP_sha256(), digest, &length)) continue;
    std::string hex;
    for (unsigned int b = 0; b < length; ++b) hex += fmt::format("{:02x}", digest[b]);
    if (hex == *wanted) {
      X509_STORE_CTX_set_error(ctx, X509_V_OK);
      return 1;
    }
  }
  return 0;
}

CURLcode onSslContext(CURL*, void* sslCtx, void* fingerprint) {
  auto* ctx = static_cast<SSL_CTX*>(sslCtx);
  SSL_CTX_set_app_data(ctx, fingerprint);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verifyWithFingerprint);
  return CURLE_OK;
}

}  // namespace

std::string apiKeyHeader(const std::string& apiKey) { return "Authorization: ApiKey " + core::base64(apiKey); }

std::optional<std::chrono::milliseconds> retryAfter(const HttpResponse& response,
                                                    std::chrono::system_clock::time_point now) {
  const auto found = response.headers.find("retry-after");
  if (found == response.headers.end() || found->second.empty()) return std::nullopt;
  const std::string& value = found->second;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return std::chrono::seconds(999'999'999);  // years: the caller bounds it
    return std::chrono::seconds(std::stol(value));
  }
  const time_t date = curl_getdate(value.c_str(), nullptr);  // IMF-fixdate, RFC 850 and asctime forms
  if (date == -1) return std::nullopt;
  const auto wait = std::chrono::system_clock::from_time_t(date) - now;
  return std::max(std::chrono::milliseconds::zero(), std::chrono::ceil<std::chrono::milliseconds>(wait));
}

HttpClientOptions httpClientOptions(const config::ElasticsearchOutputConfig& output) {
  return HttpClientOptions{output.username, output.password, output.apiKey, output.headers, output.timeout,
                           output.idleConnectionTimeout, output.proxyUrl, output.proxyDisable, output.ssl, "", {}};
}

HttpClient::HttpClient(HostUrl url, HttpClientOptions options) : url_(std::move(url)), options_(std::move(options)) {
  std::call_once(curlInit, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  caBundle_ = readCaBundle(options_.ssl.certificateAuthorities);
  if (!options_.apiKey.empty()) authorization_ = apiKeyHeader(options_.apiKey);
  curl_ = curl_easy_init();
  configure();
}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

void HttpClient::reset() {
  curl_easy_cleanup(static_cast<CURL*>(curl_));
  curl_ = curl_easy_init();
  configure();
}

void HttpClient::configure() {
  CURL* curl = static_cast<CURL*>(curl_);
  const auto ms = [](auto d) { return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()); };
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, ms(options_.timeout));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min(ms(options_.timeout), 30'000L));
  curl_easy_setopt(curl, CURLOPT_MAXAGE_CONN, std::max(1L, ms(options_.idleConnectionTimeout) / 1000));
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onData);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, onProgress);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, options_.acceptEncoding.c_str());  // gzip responses welcome
  if (!options_.unixSocket.empty()) curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, options_.unixSocket.c_str());
  if (options_.proxyDisable || !options_.unixSocket.empty()) {
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
  } else if (!options_.proxyUrl.empty()) {
    curl_easy_setopt(curl, CURLOPT_PROXY, options_.proxyUrl.c_str());
  }
  if (!options_.username.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERNAME, options_.username.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, options_.password.c_str());
  } else if (!url_.userinfo.empty() && authorization_.empty()) {  // https://user:password@host
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERPWD, url_.userinfo.c_str());
  }
  const auto& ssl = options_.ssl;
  const bool verify = ssl.verificationMode != config::SslVerificationMode::None;
  const bool verifyHost = ssl.verificationMode == config::SslVerificationMode::Full ||
                          ssl.verificationMode == config::SslVerificationMode::Strict;
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, verifyHost ? 2L : 0L);
  if (!caBundle_.empty()) {
    curl_blob blob{caBundle_.data(), caBundle_.size(), CURL_BLOB_NOCOPY};
    curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &blob);
  }
  if (verify && !ssl.caTrustedFingerprint.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSL_CTX_FUNCTION, onSslContext);
    curl_easy_setopt(curl, CURLOPT_SSL_CTX_DATA, const_cast<std::string*>(&ssl.caTrustedFingerprint));
  }
  if (!ssl.certificate.empty()) {
    // Inline PEM (as Fleet's policy carries a proxy's client certificate) or a file.
    if (isInlinePem(ssl.certificate)) {
      curl_blob cert{const_cast<char*>(ssl.certificate.data()), ssl.certificate.size(), CURL_BLOB_COPY};
      curl_easy_setopt(curl, CURLOPT_SSLCERT_BLOB, &cert);
    } else {
      curl_easy_setopt(curl, CURLOPT_SSLCERT, ssl.certificate.c_str());
    }
    if (isInlinePem(ssl.key)) {
      curl_blob key{const_cast<char*>(ssl.key.data()), ssl.key.size(), CURL_BLOB_COPY};
      curl_easy_setopt(curl, CURLOPT_SSLKEY_BLOB, &key);
    } else {
      curl_easy_setopt(curl, CURLOPT_SSLKEY, ssl.key.c_str());
    }
    if (!ssl.keyPassphrase.empty()) curl_easy_setopt(curl, CURLOPT_KEYPASSWD, ssl.keyPassphrase.c_str());
  }
}

core::Result<HttpResponse> HttpClient::send(const HttpRequest& request, std::stop_token stop) {
  CURL* curl = static_cast<CURL*>(curl_);
  HttpResponse response;
  Transfer transfer{&response.body, stop, &response.headers};
  const std::string url = url_.base() + request.path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_NOBODY, request.method == "HEAD" ? 1L : 0L);
  if (request.method == "GET" || request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    if (request.method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, nullptr);
  } else {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method == "POST" ? nullptr : request.method.c_str());
  }
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("Content-Type: " + request.contentType).c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  if (request.gzip) headers = curl_slist_append(headers, "Content-Encoding: gzip");
  if (!authorization_.empty()) headers = curl_slist_append(headers, authorization_.c_str());
  for (const auto& [name, value] : options_.headers) headers = curl_slist_append(headers, (name + ": " + value).c_str());
  for (const auto& [name, value] : request.headers) headers = curl_slist_append(headers, (name + ": " + value).c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_slist* proxyHeaders = nullptr;
  for (const auto& [name, value] : options_.proxyHeaders) {
    proxyHeaders = curl_slist_append(proxyHeaders, (name + ": " + value).c_str());
  }
  curl_easy_setopt(curl, CURLOPT_HEADEROPT, CURLHEADER_SEPARATE);  // request headers never reach the proxy
  curl_easy_setopt(curl, CURLOPT_PROXYHEADER, proxyHeaders);
  char errorBuffer[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errorBuffer);
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_PROXYHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  curl_slist_free_all(headers);
  curl_slist_free_all(proxyHeaders);
  if (rc != CURLE_OK) {
    if (stop.stop_requested()) return core::fail(core::ErrorCode::Unavailable, "stopped", true);
    const std::string detail = errorBuffer[0] ? errorBuffer : curl_easy_strerror(rc);
    std::string hint;
    lastFailureWasTls_ = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
                         rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CIPHER ||
                         // TLS 1.3 servers refuse a missing client certificate after the handshake
                         ((rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR) && detail.find("SSL") != std::string::npos);
    if (detail.find("certificate required") != std::string::npos) {
      hint = " (TLS: the server requires a client certificate: set ssl.certificate and ssl.key)";
    } else if (lastFailureWasTls_) {
      hint = " (TLS: check ssl.certificate_authorities, ssl.ca_trusted_fingerprint and the server's certificate name)";
    } else if ((rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR) && url_.scheme == "https" &&
               options_.ssl.certificate.empty()) {
      // A server that refuses a missing client certificate may close the connection before its
      // alert is read: the request then meets a reset or a broken pipe instead.
      hint = " (the server closed the TLS connection: if it requires a client certificate, set ssl.certificate and "
             "ssl.key)";
    }
    return core::fail(core::ErrorCode::Unavailable, fmt::format("{} {}: {}{}", request.method, url_.base(), detail, hint), true);
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

}  // namespace fim::output::es
