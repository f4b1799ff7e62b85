#pragma once
// CloudProvider: one hosting provider's conversation with its instance metadata service, as
// add_cloud_metadata holds it: rounds of HTTP requests (sent in parallel within a round), then
// cloud.* fields or the reason the answers were not that provider's.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/metadata.h"
#include "core/result.h"

namespace fim::enricher {

struct HttpRequest {
  std::string method = "GET";        // or "PUT" (sent with an empty body)
  std::string path;                  // with the query: "/metadata/v1.json"
  std::vector<std::string> headers;  // "Name: value"
};

struct HttpResponse {
  long status = 0;    // 0: no HTTP answer; `error` says why
  std::string body;
  std::string error;
};

class CloudProvider {
 public:
  virtual ~CloudProvider() = default;

  // What cloud.provider will say: "aws", "gcp", "azure", "digitalocean", "openstack", "hetzner".
  virtual std::string_view name() const = 0;
  virtual std::vector<HttpRequest> firstRound() const = 0;

  // After round `round` (0-based; responses in request order): the next round's requests, or,
  // when none, the outcome.
  struct Next {
    std::vector<HttpRequest> requests;
    std::optional<core::Result<events::CloudInfo>> outcome;
  };
  virtual Next afterRound(std::size_t round, const std::vector<HttpResponse>& responses) const = 0;
};

// The provider a `providers:` entry names, with add_cloud_metadata's aliases (ec2 → aws,
// nova and huawei → openstack); nullopt for a name fimbeat does not probe (alibaba/ecs,
// tencent/qcloud and openstack-ssl included).
std::optional<std::string> canonicalCloudProvider(std::string_view name);

// Every provider fimbeat can probe, in priority order (aws first: OpenStack also serves an
// EC2-style API, so an answer from aws wins over one from openstack).
const std::vector<std::string>& allCloudProviders();

// The providers to probe for a `providers:` list (empty: all); unknown names are skipped.
std::vector<std::unique_ptr<CloudProvider>> makeCloudProviders(const std::vector<std::string>& names);

// Parsers of each service's answer, each requiring the fields that identify an instance.
[[nodiscard]] core::Result<events::CloudInfo> parseAwsIdentityDocument(std::string_view json);
[[nodiscard]] core::Result<events::CloudInfo> parseGcpMetadata(std::string_view json);
[[nodiscard]] core::Result<events::CloudInfo> parseAzureCompute(std::string_view json);
[[nodiscard]] core::Result<events::CloudInfo> parseDigitalOceanMetadata(std::string_view json);

// A one-value text answer (OpenStack's and Hetzner's per-field endpoints): trimmed, at most
// 255 bytes of printable ASCII without '<' (an HTML error page is not a value).
[[nodiscard]] core::Result<std::string> metadataText(std::string_view body);

}  // namespace fim::enricher
