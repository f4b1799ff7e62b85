#pragma once
// Builds a processor chain from auditbeat.yml text through the real config loader, and parses or
// prints the documents the processors work on.

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include <rapidjson/document.h>
#include <rapidjson/writer.h>

#include "config/config_test_support.h"
#include "core/metrics.h"
#include "mapper/processors/processor_chain.h"

namespace fim::testing {

// An ECS document shaped like fimbeat's (see README), with a few extra fields for the conditions.
inline const char* const kSampleDocument = R"({
  "@timestamp": "2026-11-21T05:09:19.505Z",
  "type": "fim",
  "event": {"kind": "event", "category": ["file"], "type": ["change"], "action": ["updated", "attributes_modified"],
            "module": "file_integrity", "dataset": "fim.event"},
  "file": {"path": "/etc/app.conf", "name": "app.conf", "extension": "conf", "type": "file", "size": 27,
           "inode": "1835041", "uid": "0", "mode": "0644", "setuid": false, "ratio": 0.5,
           "hash": {"sha1": "8c1f8e3d", "sha256": "aa11"}},
  "host": {"name": "web-01", "ip": ["10.1.2.3", "fe80::1", "2001:db8::7"]},
  "source": {"ip": "192.168.1.20"},
  "destination": {"ip": "8.8.8.8"},
  "tags": ["pci-dss"]
})";

inline std::unique_ptr<rapidjson::Document> parseDocument(const std::string& json) {
  auto document = std::make_unique<rapidjson::Document>();
  document->Parse(json.c_str());
  REQUIRE_MESSAGE(!document->HasParseError(), json);
  return document;
}

inline std::string toJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return buffer.GetString();
}

// Loads a config whose module section is fixed and whose remaining text is `tail`.
inline config::Config loadConfig(const std::string& tail, const std::string& moduleExtra = "") {
  auto loaded = loadYaml("fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\n" + moduleExtra +
                         "output.file.path: /tmp/e\n" + tail);
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  return loaded->config;
}

inline std::unique_ptr<mapper::processors::ProcessorChain> buildChain(const config::Config& config,
                                                                        core::Metrics& metrics) {
  auto chain = mapper::processors::ProcessorChain::build(config, metrics);
  REQUIRE_MESSAGE(chain.has_value(), (chain ? "" : chain.error().message()));
  return std::move(*chain);
}

}  // namespace fim::testing
