#pragma once
// HttpClient: one libcurl easy handle kept alive for one host (keep-alive connection reuse, TCP
// keepalive), with TLS, auth, proxy and header settings. fimbeat's one HTTP client: the
// Elasticsearch output and the Kibana setup both use it.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "config/output_config.h"
#include "core/result.h"
#include "output/elasticsearch/host_url.h"

namespace fim::output::es {

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // of the final response; names lower-cased
};

// `Retry-After` of a response (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) as a wait from
// `now`; nullopt when absent or unreadable, zero for a date already past.
std::optional<std::chrono::milliseconds> retryAfter(const HttpResponse& response,
                                                    std::chrono::system_clock::time_point now);

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, PUT, POST
  std::string path;            // appended to the host's base, e.g. "/_bulk?..."
  std::string body;
  std::string contentType = "application/json";
  bool gzip = false;           // body already gzip-compressed: send Content-Encoding: gzip
  std::map<std::string, std::string> headers;  // besides the client's own (e.g. kbn-xsrf)
};

// The connection settings of an HttpClient (output.elasticsearch.*, setup.kibana.*).
struct HttpClientOptions {
  std::string username;
  std::string password;  // secret
  std::string apiKey;    // secret, "id:key"
  std::map<std::string, std::string> headers;
  std::chrono::nanoseconds timeout = std::chrono::seconds(90);
  std::chrono::nanoseconds idleConnectionTimeout = std::chrono::seconds(3);
  std::string proxyUrl;
  bool proxyDisable = false;
  config::ElasticsearchSslConfig ssl;  // certificate and key: PEM files or inline PEM
  std::string acceptEncoding;  // "" = every encoding curl decodes; Fleet Server needs exactly "gzip"
  std::map<std::string, std::string> proxyHeaders;  // sent to the proxy only (its CONNECT request)
  std::string unixSocket;      // connect to this unix socket instead of the URL's host (the Docker API)
};

HttpClientOptions httpClientOptions(const config::ElasticsearchOutputConfig& output);

// `Authorization: ApiKey <base64(id:key)>` for api_key "id:key".
std::string apiKeyHeader(const std::string& apiKey);

class HttpClient {
 public:
  HttpClient(HostUrl url, HttpClientOptions options);
  HttpClient(HostUrl url, const config::ElasticsearchOutputConfig& output)
      : HttpClient(std::move(url), httpClientOptions(output)) {}
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Connection, TLS and timeout failures are retryable errors; an HTTP status is a response.
  // A stop request aborts a transfer in progress.
  [[nodiscard]] core::Result<HttpResponse> send(const HttpRequest& request, std::stop_token stop = {});
  const HostUrl& url() const { return url_; }
  // Whether the last failed send failed in the TLS handshake (for `fimbeat test output`).
  bool lastFailureWasTls() const { return lastFailureWasTls_; }
  // Drops the kept-alive connection so that the next request connects afresh.
  void reset();

 private:
  void configure();

  HostUrl url_;
  const HttpClientOptions options_;
  std::string caBundle_;  // every configured CA as one PEM blob
  std::string authorization_;
  void* curl_ = nullptr;
  bool lastFailureWasTls_ = false;
};

}  // namespace fim::output::es
