#pragma once
// Elastic Cloud: cloud.id names the deployment's Elasticsearch and Kibana, cloud.auth its user.
// As in Beats, they overwrite output.elasticsearch.hosts/username/password and setup.kibana.host.

#include <string>

#include "config/diagnostics.h"
#include "config/node.h"
#include "core/result.h"

namespace fim::config {

struct CloudEndpoints {
  std::string elasticsearch;  // https://<es id>.<host>:<port>
  std::string kibana;         // empty when the id names no Kibana
};

// "<label>:<base64 of host[:port]$es_id[:port][$kibana_id[:port]]>"; the port defaults to 443.
[[nodiscard]] core::Result<CloudEndpoints> decodeCloudId(const std::string& cloudId);

// Rewrites the tree from cloud.id / cloud.auth and removes the cloud section; errors name the key.
void applyCloudSettings(Node& root, Diagnostics& diagnostics);

}  // namespace fim::config
