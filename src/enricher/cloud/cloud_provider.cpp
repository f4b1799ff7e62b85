#include "enricher/cloud/cloud_provider.h"

#include <algorithm>

#include <simdjson.h>

namespace fim::enricher {
namespace {

constexpr std::size_t kMaxTextValue = 255;

// A parsed JSON object, or why the body is not one.
core::Result<simdjson::dom::element> parseObject(simdjson::dom::parser& parser, std::string_view json, std::string_view what) {
  simdjson::dom::element doc;
  if (auto error = parser.parse(json.data(), json.size()).get(doc); error != simdjson::SUCCESS) {
    return core::failf(core::ErrorCode::Parse, "{} is not JSON: {}", what, simdjson::error_message(error));
  }
  if (!doc.is_object()) return core::failf(core::ErrorCode::Parse, "{} is not a JSON object", what);
  return doc;
}

// A string member, or a number's decimal text (ids come as either); "" when absent or other.
std::string text(simdjson::dom::element object, std::string_view key) {
  simdjson::dom::element value;
  if (object[key].get(value) != simdjson::SUCCESS) return {};
  if (std::string_view s; value.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  if (std::uint64_t u; value.get_uint64().get(u) == simdjson::SUCCESS) return std::to_string(u);
  if (std::int64_t i; value.get_int64().get(i) == simdjson::SUCCESS) return std::to_string(i);
  return {};
}

std::string lastSegment(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

core::Status require(const std::string& value, std::string_view what, std::string_view field) {
  if (value.empty()) return core::failf(core::ErrorCode::Parse, "{} has no {}", what, field);
  return {};
}

// Checks every response of a round was a 200 and turns each body into a text value.
core::Result<std::vector<std::string>> texts(const std::vector<HttpRequest>& requests, const std::vector<HttpResponse>& responses) {
  std::vector<std::string> values;
  for (std::size_t i = 0; i < responses.size(); ++i) {
    const auto& r = responses[i];
    if (r.status != 200) {
      return core::failf(core::ErrorCode::Unavailable, "GET {}: {}", requests[i].path,
                         r.status == 0 ? r.error : "HTTP " + std::to_string(r.status));
    }
    auto value = metadataText(r.body);
    if (!value) return std::unexpected(value.error().context("GET " + requests[i].path));
    values.push_back(std::move(*value));
  }
  return values;
}

core::Status expectOk(const HttpRequest& request, const HttpResponse& response) {
  if (response.status == 200) return {};
  return core::failf(core::ErrorCode::Unavailable, "{} {}: {}", request.method, request.path,
                     response.status == 0 ? response.error : "HTTP " + std::to_string(response.status));
}

// Providers whose whole answer is one JSON document from one GET.
class JsonProvider : public CloudProvider {
 public:
  using Parser = core::Result<events::CloudInfo> (*)(std::string_view);
  JsonProvider(std::string_view name, HttpRequest request, Parser parse)
      : name_(name), request_(std::move(request)), parse_(parse) {}

  std::string_view name() const override { return name_; }
  std::vector<HttpRequest> firstRound() const override { return {request_}; }
  Next afterRound(std::size_t, const std::vector<HttpResponse>& responses) const override {
    if (auto ok = expectOk(request_, responses.at(0)); !ok) return {{}, std::unexpected(ok.error())};
    return {{}, parse_(responses[0].body)};
  }

 private:
  std::string_view name_;
  HttpRequest request_;
  Parser parse_;
};

// IMDSv2: a session token from PUT, then the identity document with it. Like the AWS SDK,
// falls back to IMDSv1 (no token) when the token endpoint answers 403, 404 or 405.
class AwsProvider : public CloudProvider {
 public:
  std::string_view name() const override { return "aws"; }
  std::vector<HttpRequest> firstRound() const override {
    return {{"PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds: 21600"}}};
  }
  Next afterRound(std::size_t round, const std::vector<HttpResponse>& responses) const override {
    const HttpResponse& r = responses.at(0);
    if (round == 0) {
      HttpRequest document{"GET", "/latest/dynamic/instance-identity/document", {}};
      if (r.status == 200) {
        auto token = metadataText(r.body);
        if (!token) return {{}, std::unexpected(token.error().context("IMDSv2 token"))};
        document.headers.push_back("X-aws-ec2-metadata-token: " + *token);
      } else if (r.status != 403 && r.status != 404 && r.status != 405) {
        return {{}, std::unexpected(expectOk(firstRound()[0], r).error())};
      }
      return {{std::move(document)}, std::nullopt};
    }
    if (auto ok = expectOk({"GET", "/latest/dynamic/instance-identity/document", {}}, r); !ok) {
      return {{}, std::unexpected(ok.error())};
    }
    return {{}, parseAwsIdentityDocument(r.body)};
  }
};

// Providers that answer one plain-text value per endpoint; every endpoint must answer.
class TextProvider : public CloudProvider {
 public:
  using Build = events::CloudInfo (*)(const std::vector<std::string>&);
  TextProvider(std::string_view name, std::vector<HttpRequest> requests, Build build)
      : name_(name), requests_(std::move(requests)), build_(build) {}

  std::string_view name() const override { return name_; }
  std::vector<HttpRequest> firstRound() const override { return requests_; }
  Next afterRound(std::size_t, const std::vector<HttpResponse>& responses) const override {
    auto values = texts(requests_, responses);
    if (!values) return {{}, std::unexpected(values.error())};
    if (values->at(0).empty()) return {{}, core::fail(core::ErrorCode::Parse, "empty instance id")};
    return {{}, build_(*values)};
  }

 private:
  std::string_view name_;
  std::vector<HttpRequest> requests_;
  Build build_;
};

HttpRequest get(std::string path, std::vector<std::string> headers = {}) {
  return HttpRequest{"GET", std::move(path), std::move(headers)};
}

std::unique_ptr<CloudProvider> makeProvider(const std::string& name) {
  if (name == "aws") return std::make_unique<AwsProvider>();
  if (name == "gcp") {
    return std::make_unique<JsonProvider>("gcp", get("/computeMetadata/v1/?recursive=true&alt=json", {"Metadata-Flavor: Google"}),
                                          &parseGcpMetadata);
  }
  if (name == "azure") {
    return std::make_unique<JsonProvider>("azure", get("/metadata/instance/compute?api-version=2021-02-01", {"Metadata: true"}),
                                          &parseAzureCompute);
  }
  if (name == "digitalocean") {
    return std::make_unique<JsonProvider>("digitalocean", get("/metadata/v1.json"), &parseDigitalOceanMetadata);
  }
  if (name == "openstack") {
    return std::make_unique<TextProvider>(
        "openstack",
        std::vector<HttpRequest>{get("/2009-04-04/meta-data/instance-id"), get("/2009-04-04/meta-data/instance-type"),
                                 get("/2009-04-04/meta-data/hostname"), get("/2009-04-04/meta-data/placement/availability-zone")},
        [](const std::vector<std::string>& v) {
          return events::CloudInfo{.provider = "openstack", .availabilityZone = v[3], .instanceId = v[0],
                                 .instanceName = v[2], .machineType = v[1], .serviceName = "Nova"};
        });
  }
  if (name == "hetzner") {
    return std::make_unique<TextProvider>(
        "hetzner",
        std::vector<HttpRequest>{get("/hetzner/v1/metadata/instance-id"), get("/hetzner/v1/metadata/hostname"),
                                 get("/hetzner/v1/metadata/availability-zone"), get("/hetzner/v1/metadata/region")},
        [](const std::vector<std::string>& v) {
          return events::CloudInfo{.provider = "hetzner", .region = v[3], .availabilityZone = v[2], .instanceId = v[0],
                                 .instanceName = v[1], .serviceName = "Cloud"};
        });
  }
  return nullptr;
}

}  // namespace

std::optional<std::string> canonicalCloudProvider(std::string_view name) {
  if (name == "aws" || name == "ec2") return "aws";
  if (name == "gcp") return "gcp";
  if (name == "azure") return "azure";
  if (name == "digitalocean") return "digitalocean";
  if (name == "openstack" || name == "nova" || name == "huawei") return "openstack";
  if (name == "hetzner") return "hetzner";
  return std::nullopt;
}

const std::vector<std::string>& allCloudProviders() {
  static const std::vector<std::string> kAll{"aws", "gcp", "azure", "digitalocean", "openstack", "hetzner"};
  return kAll;
}

std::vector<std::unique_ptr<CloudProvider>> makeCloudProviders(const std::vector<std::string>& names) {
  std::vector<std::string> wanted;
  for (const auto& name : names) {
    if (auto canonical = canonicalCloudProvider(name)) wanted.push_back(*canonical);
  }
  std::vector<std::unique_ptr<CloudProvider>> providers;
  for (const auto& name : allCloudProviders()) {  // priority order, each once
    if (names.empty() || std::find(wanted.begin(), wanted.end(), name) != wanted.end()) providers.push_back(makeProvider(name));
  }
  return providers;
}

core::Result<std::string> metadataText(std::string_view body) {
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r' || body.back() == ' ')) body.remove_suffix(1);
  while (!body.empty() && (body.front() == ' ' || body.front() == '\n')) body.remove_prefix(1);
  if (body.size() > kMaxTextValue) return core::failf(core::ErrorCode::Parse, "answer of {} bytes is not a metadata value", body.size());
  if (!std::all_of(body.begin(), body.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7f && c != '<'; })) {
    return core::fail(core::ErrorCode::Parse, "answer is not a plain-text metadata value");
  }
  return std::string(body);
}

core::Result<events::CloudInfo> parseAwsIdentityDocument(std::string_view json) {
  simdjson::dom::parser parser;
  auto doc = parseObject(parser, json, "EC2 instance identity document");
  if (!doc) return std::unexpected(doc.error());
  events::CloudInfo cloud{.provider = "aws",
                        .region = text(*doc, "region"),
                        .availabilityZone = text(*doc, "availabilityZone"),
                        .instanceId = text(*doc, "instanceId"),
                        .machineType = text(*doc, "instanceType"),
                        .accountId = text(*doc, "accountId"),
                        .serviceName = "EC2"};
  if (auto ok = require(cloud.instanceId, "EC2 instance identity document", "instanceId"); !ok) return std::unexpected(ok.error());
  if (auto ok = require(cloud.region, "EC2 instance identity document", "region"); !ok) return std::unexpected(ok.error());
  return cloud;
}

core::Result<events::CloudInfo> parseGcpMetadata(std::string_view json) {
  simdjson::dom::parser parser;
  auto doc = parseObject(parser, json, "GCE metadata");
  if (!doc) return std::unexpected(doc.error());
  simdjson::dom::element instance;
  if ((*doc)["instance"].get(instance) != simdjson::SUCCESS || !instance.is_object()) {
    return core::fail(core::ErrorCode::Parse, "GCE metadata has no instance object");
  }
  events::CloudInfo cloud{.provider = "gcp",
                        .availabilityZone = lastSegment(text(instance, "zone")),
                        .instanceId = text(instance, "id"),
                        .instanceName = text(instance, "name"),
                        .machineType = lastSegment(text(instance, "machineType")),
                        .serviceName = "GCE"};
  if (simdjson::dom::element project; (*doc)["project"].get(project) == simdjson::SUCCESS && project.is_object()) {
    cloud.projectId = text(project, "projectId");
    cloud.accountId = cloud.projectId;
  }
  if (auto ok = require(cloud.instanceId, "GCE metadata", "instance.id"); !ok) return std::unexpected(ok.error());
  return cloud;
}

core::Result<events::CloudInfo> parseAzureCompute(std::string_view json) {
  simdjson::dom::parser parser;
  auto doc = parseObject(parser, json, "Azure compute metadata");
  if (!doc) return std::unexpected(doc.error());
  events::CloudInfo cloud{.provider = "azure",
                        .region = text(*doc, "location"),
                        .instanceId = text(*doc, "vmId"),
                        .instanceName = text(*doc, "name"),
                        .machineType = text(*doc, "vmSize"),
                        .accountId = text(*doc, "subscriptionId"),
                        .serviceName = "Virtual Machines"};
  if (auto ok = require(cloud.instanceId, "Azure compute metadata", "vmId"); !ok) return std::unexpected(ok.error());
  return cloud;
}

core::Result<events::CloudInfo> parseDigitalOceanMetadata(std::string_view json) {
  simdjson::dom::parser parser;
  auto doc = parseObject(parser, json, "DigitalOcean metadata");
  if (!doc) return std::unexpected(doc.error());
  events::CloudInfo cloud{.provider = "digitalocean",
                        .region = text(*doc, "region"),
                        .instanceId = text(*doc, "droplet_id"),
                        .serviceName = "Droplets"};
  if (auto ok = require(cloud.instanceId, "DigitalOcean metadata", "droplet_id"); !ok) return std::unexpected(ok.error());
  return cloud;
}

}  // namespace fim::enricher
