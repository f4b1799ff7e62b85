#include "config/cloud_id.h"

#include <utility>
#include <vector>

#include "core/base64.h"

namespace fim::config {
namespace {

// "name:port" → {name, port}; no port → the fallback.
std::pair<std::string, std::string> splitPort(const std::string& text, const std::string& fallback) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return {text, fallback};
  return {text.substr(0, colon), text.substr(colon + 1)};
}

std::vector<std::string> splitDollar(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t at; (at = text.find('$', start)) != std::string::npos; start = at + 1) parts.push_back(text.substr(start, at - start));
  parts.push_back(text.substr(start));
  return parts;
}

}  // namespace

core::Result<CloudEndpoints> decodeCloudId(const std::string& cloudId) {
  const auto colon = cloudId.rfind(':');  // the label before it is for people
  const std::string encoded = colon == std::string::npos ? cloudId : cloudId.substr(colon + 1);
  const auto decoded = core::base64Decode(encoded);
  if (!decoded || decoded->empty()) {
    return core::fail(core::ErrorCode::InvalidArgument,
                      "is not an Elastic Cloud id: expected <name>:<base64>, as shown in the deployment's page");
  }
  const auto parts = splitDollar(*decoded);
  if (parts.size() < 2 || parts[0].empty() || parts[1].empty()) {
    return core::fail(core::ErrorCode::InvalidArgument,
                      "is not an Elastic Cloud id: its decoded form must be <host>$<elasticsearch id>[$<kibana id>]");
  }
  const auto [host, port] = splitPort(parts[0], "443");
  const auto [esId, esPort] = splitPort(parts[1], port);
  CloudEndpoints out;
  out.elasticsearch = "https://" + esId + "." + host + ":" + esPort;
  if (parts.size() > 2 && !parts[2].empty()) {
    const auto [kibanaId, kibanaPort] = splitPort(parts[2], port);
    out.kibana = "https://" + kibanaId + "." + host + ":" + kibanaPort;
  }
  return out;
}

void applyCloudSettings(Node& root, Diagnostics& diagnostics) {
  const Node* found = root.get("cloud");
  if (!found || found->isNull()) return;
  const Node cloud = *found;  // a copy: setting keys below may move the tree's nodes
  if (!cloud.isMap()) {
    diagnostics.error(cloud.origin, "cloud", "expected a map with id and auth, got " + cloud.kindName());
    return;
  }
  const Node* id = cloud.get("id");
  const Node* auth = cloud.get("auth");
  for (const auto& entry : cloud.entries) {
    if (entry.key != "id" && entry.key != "auth") {
      diagnostics.error(entry.keyOrigin, "cloud." + entry.key, "unknown option: cloud takes id and auth");
    }
  }
  const Node* output = root.get("output");
  if (output && output->isMap() && (id || auth)) {
    for (const auto& entry : output->entries) {
      if (entry.key != "elasticsearch") {
        diagnostics.error(entry.keyOrigin, "output." + entry.key,
                          "cloud.id and cloud.auth only work with output.elasticsearch (as in Beats)");
        return;
      }
    }
  }
  if (id && id->isScalar() && !id->scalar.empty()) {
    auto endpoints = decodeCloudId(id->scalar);
    if (!endpoints) {
      diagnostics.error(id->origin, "cloud.id", endpoints.error().message());
      return;
    }
    Node hosts;
    hosts.kind = Node::Kind::Sequence;
    hosts.origin = id->origin;
    hosts.items.push_back(Node::scalarValue(endpoints->elasticsearch, id->origin));
    root.set("output.elasticsearch.hosts", std::move(hosts));
    if (!endpoints->kibana.empty()) root.set("setup.kibana.host", Node::scalarValue(endpoints->kibana, id->origin));
  } else if (id && !id->isNull()) {
    diagnostics.error(id->origin, "cloud.id", "must be the deployment's cloud id, a string");
  }
  if (auth && auth->isScalar() && !auth->scalar.empty()) {
    const auto colon = auth->scalar.find(':');
    if (colon == std::string::npos || colon == 0) {
      diagnostics.error(auth->origin, "cloud.auth", "must look like <user>:<password>");
      return;
    }
    root.set("output.elasticsearch.username", Node::scalarValue(auth->scalar.substr(0, colon), auth->origin));
    root.set("output.elasticsearch.password", Node::scalarValue(auth->scalar.substr(colon + 1), auth->origin));
  } else if (auth && !auth->isNull()) {
    diagnostics.error(auth->origin, "cloud.auth", "must look like <user>:<password>");
  }
}

}  // namespace fim::config
