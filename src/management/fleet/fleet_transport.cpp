#include "management/fleet/fleet_transport.h"

#include <sys/random.h>

#include <algorithm>
#include <random>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <simdjson.h>

#include "core/base64.h"
#include "output/elasticsearch/bulk_request.h"

namespace fim::management::fleet {
namespace {

void randomBytes(unsigned char* out, std::size_t size) {
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::getrandom(out + got, size - got, 0);
    if (n > 0) got += static_cast<std::size_t>(n);
  }
}

}  // namespace

std::string newUuid() {
  unsigned char b[16];
  randomBytes(b, sizeof b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  std::string hex;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) hex += '-';
    hex += fmt::format("{:02x}", b[i]);
  }
  return hex;
}

std::string randomToken(std::size_t bytes) {
  std::string raw(bytes, '\0');
  randomBytes(reinterpret_cast<unsigned char*>(raw.data()), bytes);
  std::string out = core::base64(raw);
  for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  out.erase(std::remove(out.begin(), out.end(), '='), out.end());
  return out;
}

std::string sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

TransportSettings transportSettings(const Enrollment& enrollment) {
  TransportSettings out;
  out.hosts = enrollment.hosts;
  out.certificateAuthorities = enrollment.certificateAuthorities;
  if (enrollment.insecure) out.verificationMode = config::SslVerificationMode::None;
  out.proxyUrl = enrollment.proxyUrl;
  return out;
}

FleetTransport::FleetTransport(TransportSettings settings, std::string agentVersion)
    : agentVersion_(std::move(agentVersion)) {
  configure(std::move(settings));
}

void FleetTransport::configure(TransportSettings settings) {
  settings_ = std::move(settings);
  hosts_.clear();
  current_ = 0;
  for (const auto& host : settings_.hosts) {
    auto url = output::es::parseHostUrl(host, "https", "", 8220);
    if (url) hosts_.push_back(*url);
  }
  // Shuffled once so that a fleet of agents does not pile onto the first host (as Elastic Agent).
  std::shuffle(hosts_.begin(), hosts_.end(), std::mt19937(std::random_device{}()));
  options_ = {};
  options_.ssl.certificateAuthorities = settings_.certificateAuthorities;
  options_.ssl.certificate = settings_.certificate;
  options_.ssl.key = settings_.key;
  options_.ssl.verificationMode = settings_.verificationMode;
  options_.proxyUrl = settings_.proxyUrl;
  options_.proxyHeaders = settings_.proxyHeaders;
  options_.acceptEncoding = "gzip";
}

core::Result<FleetResponse> FleetTransport::send(const std::string& method, const std::string& path,
                                                 const std::string& body, const std::string& authorization,
                                                 std::chrono::nanoseconds timeout, bool gzipBody, std::stop_token stop) {
  if (hosts_.empty()) return core::fail(core::ErrorCode::InvalidArgument, "no valid Fleet Server URL is configured");
  output::es::HttpRequest request;
  request.method = method;
  request.path = path;
  request.body = body;
  if (gzipBody) {
    auto packed = output::es::gzipCompress(body, 1);
    if (packed) {
      request.body = std::move(*packed);
      request.gzip = true;
    }
  }
  request.headers["Authorization"] = "ApiKey " + authorization;
  request.headers["User-Agent"] = "Elastic Agent v" + agentVersion_;
  request.headers["Elastic-Api-Version"] = kApiVersion;
  request.headers["X-Request-ID"] = newUuid();
  request.headers["kbn-xsrf"] = "1";
  auto options = options_;
  options.timeout = timeout;
  std::string lastError;
  for (std::size_t tried = 0; tried < hosts_.size(); ++tried) {
    const auto& host = hosts_[(current_ + tried) % hosts_.size()];
    output::es::HttpClient client(host, options);
    auto response = client.send(request, stop);
    if (!response) {
      lastError = response.error().message();
      if (stop.stop_requested()) break;
      continue;
    }
    current_ = (current_ + tried) % hosts_.size();  // the host that answered goes first next time
    FleetResponse out{response->status, std::move(response->body), {}, {},
                      output::es::retryAfter(*response, std::chrono::system_clock::now())};
    if (out.status >= 400) {
      simdjson::dom::parser parser;
      simdjson::dom::element root;
      std::string_view v;
      if (parser.parse(out.body).get(root) == simdjson::SUCCESS) {
        if (root["error"].get(v) == simdjson::SUCCESS) out.errorName = v;
        if (root["message"].get(v) == simdjson::SUCCESS) out.message = v;
      } else {
        out.message = "the answer is not Fleet Server's JSON (a proxy's page?)";
      }
    }
    return out;
  }
  current_ = (current_ + 1) % hosts_.size();
  return core::fail(core::ErrorCode::Unavailable, lastError, true);
}

std::string FleetTransport::serverVersion(const std::string& authorization, std::stop_token stop) {
  auto response = send("GET", "/api/status", "", authorization, std::chrono::seconds(15), false, stop);
  if (!response || response->status != 200) return {};
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view number;
  if (parser.parse(response->body).get(root) != simdjson::SUCCESS ||
      root["version"]["number"].get(number) != simdjson::SUCCESS) {
    return {};
  }
  const auto first = number.find('.');
  const auto second = first == std::string_view::npos ? first : number.find('.', first + 1);
  if (second == std::string_view::npos) return {};
  return std::string(number.substr(0, second)) + ".0";
}

}  // namespace fim::management::fleet
