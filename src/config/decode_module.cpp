// The module section: `fimbeat.modules` / `auditbeat.modules`, Auditbeat's file_integrity options.

#include <filesystem>

#include <re2/re2.h>

#include <algorithm>

#include "config/decode.h"

namespace fim::config {
namespace {

const std::vector<std::string> kBackends{"auto", "fsnotify", "inotify", "fanotify", "kprobes", "ebpf"};

void checkPatterns(MapReader& reader, std::string_view key, std::vector<std::string>& out) {
  const Node* node = reader.node() ? reader.node()->get(key) : nullptr;
  reader.strings(key, out);
  for (std::size_t i = 0; i < out.size(); ++i) {
    RE2 re(out[i], RE2::Quiet);
    if (!re.ok()) {
      const Origin origin = node && node->isSequence() && i < node->items.size() ? node->items[i].origin
                            : node                                            ? node->origin
                                                                              : Origin{};
      reader.diagnostics().error(origin, reader.keyPath(key) + "." + std::to_string(i),
                                 fmt::format("invalid regular expression \"{}\": {}", out[i], re.error()));
    }
  }
}

void checkHashTypes(MapReader& reader, ModuleConfig& module) {
  const Node* node = reader.node() ? reader.node()->get("hash_types") : nullptr;
  reader.strings("hash_types", module.hashTypes);
  const auto& valid = validHashTypes();
  for (std::size_t i = 0; i < module.hashTypes.size(); ++i) {
    const auto& name = module.hashTypes[i];
    if (std::find(valid.begin(), valid.end(), name) != valid.end()) continue;
    std::string list;
    for (const auto& v : valid) list += (list.empty() ? "" : ", ") + v;
    const Origin origin = node && node->isSequence() ? node->items[i].origin : node ? node->origin : Origin{};
    reader.diagnostics().error(origin, reader.keyPath("hash_types") + "." + std::to_string(i),
                               fmt::format("unknown hash type \"{}\"; valid types are: {}", name, list));
  }
}

void checkPaths(MapReader& reader, ModuleConfig& module) {
  const Node* node = reader.node() ? reader.node()->get("paths") : nullptr;
  reader.strings("paths", module.paths);
  if (module.paths.empty()) {
    reader.diagnostics().error(node ? node->origin : module.origin, reader.keyPath("paths"),
                               "at least one path to watch is required");
  }
  for (std::size_t i = 0; i < module.paths.size(); ++i) {
    if (module.paths[i].empty()) {
      reader.diagnostics().error(node && node->isSequence() ? node->items[i].origin : module.origin,
                                 reader.keyPath("paths") + "." + std::to_string(i), "a path cannot be empty");
    }
  }
}

}  // namespace

const std::vector<std::string>& validHashTypes() {
  static const std::vector<std::string> kTypes{
      "blake2b_256", "blake2b_384", "blake2b_512", "md5",      "sha1",     "sha224",
      "sha256",      "sha384",      "sha512",      "sha512_224", "sha512_256", "sha3_224",
      "sha3_256",    "sha3_384",    "sha3_512",    "xxh64"};
  return kTypes;
}

void decodeModule(const Node& node, const std::string& path, Diagnostics& diagnostics, std::vector<ModuleConfig>& out) {
  MapReader reader(&node, path, diagnostics);
  ModuleConfig module;
  module.origin = node.origin;
  std::string name;
  reader.string("module", name);
  if (name.empty()) {
    diagnostics.error(node.origin, reader.keyPath("module"), "each module entry needs `module: file_integrity`");
    return;
  }
  if (name != "file_integrity") {
    diagnostics.error(reader.take("module")->origin, reader.keyPath("module"),
                      "module \"" + name + "\" is not supported: fimbeat runs only the file_integrity module");
    return;
  }
  reader.boolean("enabled", module.enabled);
  reader.string("id", module.id);
  checkPaths(reader, module);
  reader.boolean("recursive", module.recursive);
  checkPatterns(reader, "exclude_files", module.excludeFiles);
  checkPatterns(reader, "include_files", module.includeFiles);
  reader.strings("tags", module.tags);

  reader.boolean("scan_at_start", module.scanAtStart);
  if (!module.scanAtStart) {
    diagnostics.warn(reader.take("scan_at_start")->origin, reader.keyPath("scan_at_start"),
                     "scan_at_start: false has no effect yet: fimbeat always scans at start (real-time watching "
                     "starts before the scan, and the scan is what finds changes made while it was not running)");
  }
  reader.size("scan_rate_per_sec", module.scanRatePerSec);
  reader.size("max_file_size", module.maxFileSize);
  checkHashTypes(reader, module);
  reader.boolean("mime_type", module.mimeType);
  MapReader scan(reader.take("scan"), reader.keyPath("scan"), diagnostics);
  std::string verify = "changed";
  scan.oneOf("verify_hashes", verify, {"changed", "always"});
  module.verifyHashesAlways = verify == "always";
  scan.finish();
  reader.oneOf("backend", module.backend, kBackends);
  if (module.backend == "kprobes" || module.backend == "ebpf") {
    diagnostics.warn(reader.node()->get("backend")->origin, reader.keyPath("backend"),
                     "backend \"" + module.backend + "\" is Auditbeat's; fimbeat uses fanotify for it");
  }
  reader.duration("rescan_interval", module.rescanInterval);
  reader.size("scan_files_per_sec", module.scanFilesPerSec);
  if (reader.has("package_verification")) {
    bool verify = true;
    reader.boolean("package_verification", verify);
    module.packageVerification = verify;
  }
  MapReader realtime(reader.take("realtime"), reader.keyPath("realtime"), diagnostics);
  realtime.duration("quiet_period", module.quietPeriod);
  if (module.quietPeriod <= Duration::zero() || module.quietPeriod > std::chrono::hours(1)) {
    diagnostics.error(realtime.take("quiet_period") ? realtime.node()->get("quiet_period")->origin : module.origin,
                      realtime.keyPath("quiet_period"), "must be more than 0 and at most 1h, e.g. 1s");
    module.quietPeriod = std::chrono::seconds(1);
  }
  realtime.finish();
  if (module.rescanInterval < Duration::zero()) {
    diagnostics.error(reader.node()->get("rescan_interval")->origin, reader.keyPath("rescan_interval"),
                      "cannot be negative; 0 turns periodic rescans off");
    module.rescanInterval = Duration::zero();
  }
  reader.notImplemented("file_parsers", "file parsers are not implemented");
  if (const Node* processors = reader.take("processors")) {
    decodeProcessors(*processors, reader.keyPath("processors"), diagnostics, module.processors);
  }
  reader.notImplemented("fields", "custom fields arrive with the ECS mapper");
  reader.notImplemented("fields_under_root", "custom fields arrive with the ECS mapper");
  reader.string("index", module.index);
  if (reader.has("index")) {
    diagnostics.warn(reader.node()->get("index")->origin, reader.keyPath("index"),
                     "validated but not acted on yet (the Elasticsearch output is not implemented yet)");
  }
  reader.boolean("keep_null", module.keepNull);
  reader.notImplemented("keep_null", "keep_null arrives with the ECS mapper");
  reader.finish();
  out.push_back(std::move(module));
}

void decodeModuleSection(MapReader& top, std::string_view beatName, std::vector<ModuleConfig>& out) {
  const Node* section = top.take(beatName);
  if (!section) return;
  const std::string sectionPath(beatName);
  MapReader reader(section, sectionPath, top.diagnostics());
  if (const Node* modules = reader.take("modules")) {
    if (!modules->isSequence() && !modules->isNull()) {
      top.diagnostics().error(modules->origin, reader.keyPath("modules"),
                              "expected a list of `- module: file_integrity` entries, got " + modules->kindName());
    } else {
      for (std::size_t i = 0; i < modules->items.size(); ++i) {
        decodeModule(modules->items[i], reader.keyPath("modules") + "." + std::to_string(i), top.diagnostics(), out);
      }
    }
  }
  reader.notImplemented("config", "module config reloading is not implemented");
  reader.notImplemented("max_start_delay", "modules start at once");
  reader.finish();
}

}  // namespace fim::config
