// add_observer_metadata, add_docker_metadata and add_kubernetes_metadata: which fields an event
// gets, where, and when, as Beats decide it; what they hold comes from a MetadataSources.

#include <algorithm>
#include <charconv>
#include <string>
#include <vector>

#include "core/dotted_json.h"
#include "mapper/processors/field_path.h"
#include "mapper/processors/metadata_sources.h"
#include "mapper/processors/processor.h"

namespace fim::mapper::processors {
namespace {

using rapidjson::Value;

Value text(std::string_view s, Allocator& a) { return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a); }

Value textArray(const std::vector<std::string>& items, Allocator& a) {
  Value array(rapidjson::kArrayType);
  for (const auto& item : items) array.PushBack(text(item, a), a);
  return array;
}

// The string at `path`, or "" when absent or not a string.
std::string stringAt(const rapidjson::Value& document, const FieldPath& path) {
  const Value* value = findField(document, path);
  return value && value->IsString() ? std::string(value->GetString(), value->GetStringLength()) : std::string();
}

class AddObserverMetadata final : public Processor {
 public:
  AddObserverMetadata(const config::ObserverMetadataConfig& config, std::unique_ptr<ObserverSource> source)
      : overwrite_(config.overwrite), geo_(config.geo), source_(std::move(source)) {}

  Outcome run(rapidjson::Document& document) const override {
    auto& a = document.GetAllocator();
    const bool exists = document.HasMember("observer");
    if (exists && !overwrite_) return Outcome::Keep;  // Beats: an observer already there stays
    if (exists) document.RemoveMember("observer");
    const auto data = source_->current();
    Value observer(rapidjson::kObjectType);
    observer.AddMember("hostname", text(data->hostname, a), a);
    if (!data->ip.empty()) observer.AddMember("ip", textArray(data->ip, a), a);
    if (!data->mac.empty()) observer.AddMember("mac", textArray(data->mac, a), a);
    if (geo_) {
      Value geo(rapidjson::kObjectType);
      const auto put = [&](const char* key, const std::string& value) {
        if (value.find_first_not_of(" \t\r\n\v\f") != std::string::npos) geo.AddMember(rapidjson::StringRef(key), text(value, a), a);
      };
      put("name", geo_->name);
      put("location", geo_->location);
      put("continent_name", geo_->continentName);
      put("country_name", geo_->countryName);
      put("country_iso_code", geo_->countryIsoCode);
      put("region_name", geo_->regionName);
      put("region_iso_code", geo_->regionIsoCode);
      put("city_name", geo_->cityName);
      if (!geo.ObjectEmpty()) observer.AddMember("geo", geo, a);
    }
    Value patch(rapidjson::kObjectType);
    patch.AddMember("observer", observer, a);
    deepUpdate(document, patch, a);
    return Outcome::Keep;
  }

 private:
  bool overwrite_;
  std::optional<config::GeoConfig> geo_;
  std::unique_ptr<ObserverSource> source_;
};

// A pid from an event field: an integer, or a string holding one (Beats' TryToInt).
std::optional<std::int64_t> pidOf(const Value& value) {
  if (value.IsInt64()) return value.GetInt64();
  if (value.IsUint64()) return std::nullopt;  // beyond int64: not a pid
  if (value.IsDouble()) {
    const double d = value.GetDouble();
    return d == static_cast<double>(static_cast<std::int64_t>(d)) ? std::optional<std::int64_t>(static_cast<std::int64_t>(d)) : std::nullopt;
  }
  if (!value.IsString()) return std::nullopt;
  std::int64_t pid = 0;
  const char* begin = value.GetString();
  const char* end = begin + value.GetStringLength();
  const auto [at, ec] = std::from_chars(begin, end, pid);
  return ec == std::errc() && at == end ? std::optional<std::int64_t>(pid) : std::nullopt;
}

// Beats' common.DeDot: dots in a label's name become underscores.
std::string dedot(std::string key) {
  for (char& c : key) {
    if (c == '.') c = '_';
  }
  return key;
}

class AddDockerMetadata final : public Processor {
 public:
  AddDockerMetadata(const config::DockerMetadataConfig& config, std::unique_ptr<ContainerSource> containers,
                    std::unique_ptr<ProcessSource> processes)
      : matchSource_(config.matchSource),
        sourceIndex_(static_cast<std::size_t>(config.sourceIndex)),
        dedot_(config.labelsDedot),
        containers_(std::move(containers)),
        processes_(std::move(processes)) {
    for (const auto& f : config.matchFields) fields_.emplace_back(f);
    for (const auto& f : config.matchPids) pids_.emplace_back(f);
  }

  Outcome run(rapidjson::Document& document) const override {
    if (!containers_->available()) return Outcome::Keep;  // Beats: nothing at all until Docker answers
    auto& a = document.GetAllocator();
    static const FieldPath kLogPath("log.file.path");
    static const FieldPath kContainerId("container.id");
    std::string cid;
    if (matchSource_ && findField(document, kLogPath)) {
      // Beats' extract_field on log.file.path: split on '/', empty parts dropped, the part at the index.
      const std::string path = stringAt(document, kLogPath);
      std::vector<std::string> parts;
      for (std::size_t at = 0; at <= path.size();) {
        const std::size_t slash = std::min(path.find('/', at), path.size());
        if (slash > at) parts.push_back(path.substr(at, slash - at));
        at = slash + 1;
      }
      if (sourceIndex_ >= parts.size()) return Outcome::Keep;  // Beats stops here, without an error
      cid = parts[sourceIndex_];
      Value id = text(cid, a);
      putField(document, kContainerId, id, a);
    }
    if (cid.empty()) {
      for (const auto& field : pids_) {
        const Value* value = findField(document, field);
        if (!value) continue;
        const auto pid = pidOf(*value);
        if (!pid) continue;
        cid = processes_->containerId(*pid);
        if (cid.empty()) continue;
        Value id = text(cid, a);
        putField(document, kContainerId, id, a);
        break;
      }
    }
    if (cid.empty()) {
      for (const auto& field : fields_) {
        if (cid = stringAt(document, field); !cid.empty()) break;
      }
    }
    if (cid.empty()) return Outcome::Keep;
    const auto container = containers_->container(cid);
    if (!container) return Outcome::Keep;  // Beats: "Container not found", no error
    Value meta(rapidjson::kObjectType);
    if (!container->labels.empty()) {
      Value labels(rapidjson::kObjectType);
      if (dedot_) {
        for (const auto& [key, value] : container->labels) {
          if (const std::string name = dedot(key); !labels.HasMember(name.c_str())) labels.AddMember(text(name, a), text(value, a), a);
        }
      } else {  // nested by the dots, a name that is also a prefix under "value", as Beats' safemapstr.Put
        core::DottedEntries entries(container->labels.begin(), container->labels.end());
        rapidjson::Document nested(&a);
        nested.Parse(core::nestDotted(entries).c_str());
        if (!nested.HasParseError() && nested.IsObject()) labels.CopyFrom(nested, a);
      }
      meta.AddMember("labels", labels, a);
    }
    meta.AddMember("id", text(container->id, a), a);
    Value image(rapidjson::kObjectType);
    image.AddMember("name", text(container->image, a), a);
    meta.AddMember("image", image, a);
    meta.AddMember("name", text(container->name, a), a);
    Value patch(rapidjson::kObjectType);
    patch.AddMember("container", meta, a);
    deepUpdate(document, patch, a);
    return Outcome::Keep;
  }

 private:
  bool matchSource_;
  std::size_t sourceIndex_;
  bool dedot_;
  std::vector<FieldPath> fields_;
  std::vector<FieldPath> pids_;
  std::unique_ptr<ContainerSource> containers_;
  std::unique_ptr<ProcessSource> processes_;
};

// One of add_kubernetes_metadata's matchers: the index an event's fields point at.
class Matcher {
 public:
  explicit Matcher(const config::KubernetesMatcherConfig& config) : config_(config) {
    for (const auto& f : config.lookupFields) fields_.emplace_back(f);
    parseFormat();
  }

  std::string index(const rapidjson::Value& document) const {
    if (config_.name == "fields") {
      for (const auto& field : fields_) {
        const Value* value = findField(document, field);
        if (!value) continue;
        if (value->IsString()) return std::string(value->GetString(), value->GetStringLength());
        if (value->IsInt64()) return std::to_string(value->GetInt64());
        if (value->IsUint64()) return std::to_string(value->GetUint64());
      }
      return {};
    }
    if (config_.name == "field_format") {
      std::string out;
      for (const auto& [literal, field] : format_) {
        out += literal;
        if (field.empty()) continue;
        const Value* value = findField(document, field);
        if (!value) return {};  // a missing field: no index, as Beats' fmtstr fails
        if (value->IsString()) out.append(value->GetString(), value->GetStringLength());
        else if (value->IsInt64()) out += std::to_string(value->GetInt64());
        else if (value->IsUint64()) out += std::to_string(value->GetUint64());
        else return {};
      }
      return out;
    }
    return logsPathIndex(document);
  }

 private:
  // Filebeat's logs_path matcher: the container id (or pod uid) in a log file's path.
  std::string logsPathIndex(const rapidjson::Value& document) const {
    static const FieldPath kLogPath("log.file.path");
    const std::string path = stringAt(document, kLogPath);
    if (path.empty() || !path.starts_with(config_.logsPath)) return {};
    const std::string rest = path.substr(config_.logsPath.size());
    if (config_.resourceType == "pod") {  // /var/lib/kubelet/pods/<uid>/volumes/...
      return rest.substr(0, rest.find('/'));
    }
    if (config_.logsPath.find("/var/log/containers/") != std::string::npos) {  // <pod>_<ns>_<container>-<id>.log
      const std::size_t dash = rest.rfind('-');
      const std::size_t dot = rest.rfind(".log");
      if (dash == std::string::npos || dot == std::string::npos || dot < dash) return {};
      return rest.substr(dash + 1, dot - dash - 1);
    }
    const std::size_t slash = rest.find('/');  // /var/lib/docker/containers/<id>/<id>-json.log
    if (slash == std::string::npos) return {};
    const std::string id = rest.substr(0, slash);
    return id.size() == 64 ? id : std::string();
  }

  // "%{[a.b]}:%{[c]}" → ("", a.b), (":", c)
  void parseFormat() {
    const std::string& f = config_.format;
    std::size_t at = 0;
    while (at < f.size()) {
      const std::size_t open = f.find("%{[", at);
      const std::size_t close = open == std::string::npos ? open : f.find("]}", open);
      if (open == std::string::npos || close == std::string::npos) {
        format_.emplace_back(f.substr(at), FieldPath(""));
        break;
      }
      format_.emplace_back(f.substr(at, open - at), FieldPath(f.substr(open + 3, close - open - 3)));
      at = close + 2;
    }
  }

  config::KubernetesMatcherConfig config_;
  std::vector<FieldPath> fields_;
  std::vector<std::pair<std::string, FieldPath>> format_;
};

class AddKubernetesMetadata final : public Processor {
 public:
  AddKubernetesMetadata(const config::KubernetesMetadataConfig& config, std::unique_ptr<PodSource> pods) : pods_(std::move(pods)) {
    for (const auto& m : config.matchers) matchers_.emplace_back(m);
    if (config.defaultMatchers) {  // fimbeat's default: the container id who-data puts in container.id
      config::KubernetesMatcherConfig containerId;
      containerId.name = "fields";
      containerId.lookupFields = {"container.id"};
      matchers_.emplace_back(containerId);
    }
  }

  Outcome run(rapidjson::Document& document) const override {
    if (document.HasMember("kubernetes")) return Outcome::Keep;  // Beats: already enriched
    for (const auto& matcher : matchers_) {
      const std::string index = matcher.index(document);
      if (index.empty()) continue;  // Beats asks the matchers in order for the first index
      const auto metadata = pods_->lookup(index);
      if (!metadata) return Outcome::Keep;
      rapidjson::Document patch;
      patch.Parse(metadata->json.c_str());
      if (patch.HasParseError() || !patch.IsObject()) return Outcome::Failed;
      deepUpdate(document, patch, document.GetAllocator());
      return Outcome::Keep;
    }
    return Outcome::Keep;
  }

 private:
  std::vector<Matcher> matchers_;
  std::unique_ptr<PodSource> pods_;
};

// add_process_metadata's options for the pid lookups add_docker_metadata makes.
ProcessSourceOptions dockerPidOptions(const config::DockerMetadataConfig& config) {
  ProcessSourceOptions options;
  options.hostPath = config.hostfs;
  options.firstHexId = true;
  options.containerCacheExpiry = std::chrono::minutes(5);  // Beats' cgroupCacheExpiration
  return options;
}

}  // namespace

core::Result<std::unique_ptr<Processor>> makeMetadataProcessor(const config::MetadataProcessorConfig& config,
                                                              MetadataSources* sources) {
  using Made = core::Result<std::unique_ptr<Processor>>;
  if (!sources) return core::fail(core::ErrorCode::Internal, "metadata processors need the agent's metadata sources");
  return std::visit(
      [&](const auto& options) -> Made {
        using T = std::decay_t<decltype(options)>;
        if constexpr (std::is_same_v<T, config::ObserverMetadataConfig>) {
          auto source = sources->observer(options);
          if (!source) return std::unexpected(source.error());
          return std::make_unique<AddObserverMetadata>(options, std::move(*source));
        } else if constexpr (std::is_same_v<T, config::ProcessMetadataConfig>) {
          return makeAddProcessMetadata(options, *sources);
        } else if constexpr (std::is_same_v<T, config::DockerMetadataConfig>) {
          auto containers = sources->docker(options);
          if (!containers) return std::unexpected(containers.error());
          auto processes = sources->processes(dockerPidOptions(options));
          if (!processes) return std::unexpected(processes.error());
          return std::make_unique<AddDockerMetadata>(options, std::move(*containers), std::move(*processes));
        } else {
          auto pods = sources->kubernetes(options);
          if (!pods) return std::unexpected(pods.error());
          return std::make_unique<AddKubernetesMetadata>(options, std::move(*pods));
        }
      },
      config.options);
}

}  // namespace fim::mapper::processors
