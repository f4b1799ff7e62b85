// The module section: `fimbeat.modules` / `auditbeat.modules`, Auditbeat's file_integrity options.

#include <filesystem>

#include <re2/re2.h>

#include <algorithm>

#include "config/decode.h"
#include "config/index_format.h"

namespace fim::config {
namespace {

const std::vector<std::string> kBackends{"auto", "fsnotify", "inotify", "fanotify", "kprobes", "ebpf"};
// Auditbeat's other modules: a stock auditbeat.yml has them next to file_integrity.
const std::vector<std::string> kOtherAuditbeatModules{"auditd", "system"};

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

// backend, or force_backend (its name in Auditbeat 8.12 and 8.13): never both.
void decodeBackend(MapReader& reader, ModuleConfig& module) {
  const char* key = "backend";
  if (reader.has("force_backend")) {
    if (reader.has("backend")) {
      reader.diagnostics().error(reader.take("force_backend")->origin, reader.keyPath("force_backend"),
                                 "give either backend or force_backend (its older name), not both");
      return;
    }
    key = "force_backend";
  }
  reader.oneOf(key, module.backend, kBackends);
  if (module.backend == "kprobes" || module.backend == "ebpf") {
    reader.diagnostics().warn(reader.node()->get(key)->origin, reader.keyPath(key),
                              "backend \"" + module.backend + "\" is Auditbeat's; fimbeat uses fanotify for it");
  }
}

// Auditbeat refuses a size that is not positive (humanize.ParseBytes has no negative sizes).
void checkMaxFileSize(MapReader& reader, ModuleConfig& module) {
  const Node* node = reader.node() ? reader.node()->get("max_file_size") : nullptr;
  if (node && node->isScalar() && !node->scalar.empty() && node->scalar.front() == '-') {
    reader.diagnostics().error(reader.take("max_file_size")->origin, reader.keyPath("max_file_size"),
                               "\"" + node->scalar + "\" must be a positive size, e.g. 100 MiB");
    return;
  }
  reader.size("max_file_size", module.maxFileSize);
  if (node && module.maxFileSize == 0) {
    reader.diagnostics().error(node->origin, reader.keyPath("max_file_size"),
                               "must be positive, e.g. 100 MiB (Auditbeat refuses 0 too; to hash nothing, give hash_types: [])");
    module.maxFileSize = 100ull * 1024 * 1024;
  }
}

// file_parsers: Auditbeat's field names, or /RE2/ matching at least one of them (as Go's
// MatchString: anywhere in the name). fimbeat parses ELF files only: Mach-O and PE names are a
// warning, since those fields are never added.
void checkFileParsers(MapReader& reader, ModuleConfig& module) {
  const Node* node = reader.node() ? reader.node()->get("file_parsers") : nullptr;
  if (!node) return;
  std::vector<std::string> values;
  reader.strings("file_parsers", values);
  const auto& fields = fileParserFields();
  const auto select = [&](const std::string& field) {
    if (std::find(module.fileParsers.begin(), module.fileParsers.end(), field) == module.fileParsers.end()) {
      module.fileParsers.push_back(field);
    }
  };
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::string& value = values[i];
    const Origin origin = node->isSequence() && i < node->items.size() ? node->items[i].origin : node->origin;
    const std::string where = reader.keyPath("file_parsers") + "." + std::to_string(i);
    if (value.size() >= 2 && value.front() == '/' && value.back() == '/') {
      RE2 re(value.substr(1, value.size() - 2), RE2::Quiet);
      if (!re.ok()) {
        reader.diagnostics().error(origin, where, fmt::format("invalid regular expression \"{}\": {}", value, re.error()));
        continue;
      }
      bool matched = false;
      for (const auto& f : fields) {
        if (RE2::PartialMatch(f, re)) {
          select(f);
          matched = true;
        }
      }
      if (!matched) {
        reader.diagnostics().error(origin, where, "\"" + value + "\" matches none of Auditbeat's file_parsers fields (file.elf.*, file.macho.*, file.pe.*)");
      }
      continue;
    }
    if (std::find(fields.begin(), fields.end(), value) == fields.end()) {
      std::string message = "unknown file_parsers field \"" + value + "\"";
      if (auto close = closestMatch(value, fields); !close.empty()) message += "; did you mean \"" + close + "\"?";
      reader.diagnostics().error(origin, where, message + " (Auditbeat's fields are file.elf.*, file.macho.*, file.pe.*)");
      continue;
    }
    select(value);
  }
  std::string unparsed;
  for (const char* format : {"file.macho.", "file.pe."}) {
    if (std::any_of(module.fileParsers.begin(), module.fileParsers.end(), [&](const std::string& f) { return f.starts_with(format); })) {
      unparsed += (unparsed.empty() ? "" : " and ") + std::string(format) + "*";
    }
  }
  if (!unparsed.empty()) {
    reader.diagnostics().warn(node->origin, reader.keyPath("file_parsers"),
                              unparsed + " accepted but never added: fimbeat parses ELF files only, not Mach-O or PE files");
  }
}

void decodeDiff(MapReader& module, DiffConfig& diff) {
  MapReader reader(module.take("diff"), module.keyPath("diff"), module.diagnostics());
  reader.boolean("enabled", diff.enabled);
  reader.size("max_file_size", diff.maxFileSize);
  reader.size("max_storage", diff.maxStorage);
  reader.size("max_diff_size", diff.maxDiffSize);
  checkPatterns(reader, "exclude_files", diff.excludeFiles);
  checkPatterns(reader, "redact", diff.redact);
  if (diff.maxDiffSize < 256) {
    reader.diagnostics().error(reader.node() && reader.has("max_diff_size") ? reader.node()->get("max_diff_size")->origin
                                                                            : Origin{},
                               reader.keyPath("max_diff_size"), "must be at least 256 bytes, e.g. 16KiB");
    diff.maxDiffSize = 256;
  }
  reader.finish();
}

}  // namespace

const std::vector<std::string>& fileParserFields() {
  static const std::vector<std::string> kFields = [] {
    std::vector<std::string> out;
    const std::vector<std::string> common{"sections", "sections.name", "sections.physical_size", "sections.virtual_size",
                                          "sections.entropy", "sections.var_entropy", "import_hash", "imports",
                                          "imports_names_entropy", "imports_names_var_entropy", "go_import_hash",
                                          "go_imports", "go_imports_names_entropy", "go_imports_names_var_entropy",
                                          "go_stripped"};
    for (const char* format : {"elf", "macho", "pe"}) {
      for (const auto& f : common) out.push_back(std::string("file.") + format + "." + f);
    }
    out.push_back("file.macho.symhash");
    out.push_back("file.pe.imphash");
    return out;
  }();
  return kFields;
}

// Secret stores: shadow files, private keys, .env files, Java and PKCS#12 keystores, keyrings.
std::vector<std::string> DiffConfig::defaultExcludes() {
  return {R"((^|/)g?shadow-?$)", R"(\.(key|pem|p12|pfx|jks|keystore|kdbx|gpg|asc)$)",
          R"((^|/)\.env(\..*)?$)", R"((^|/)id_(rsa|dsa|ecdsa|ed25519)$)", R"((^|/)(private|secrets?)(/|$))",
          R"((^|/)\.(netrc|pgpass|git-credentials)$)", R"(\.(keytab|kwallet)$)"};
}

// `key = value` and `key: value` lines whose key names a password, token, secret or key.
std::vector<std::string> DiffConfig::defaultRedactions() {
  return {R"((?i)(pass(word|wd|phrase)?|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|auth)[^=:\n]*[=:])",
          R"((?i)-----BEGIN [A-Z ]*PRIVATE KEY-----)"};
}

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
  reader.boolean("enabled", module.enabled);
  if (!module.enabled) return;  // as Auditbeat: a disabled module is not read at all
  if (name != "file_integrity") {
    const Origin& origin = reader.take("module")->origin;
    if (std::find(kOtherAuditbeatModules.begin(), kOtherAuditbeatModules.end(), name) != kOtherAuditbeatModules.end()) {
      diagnostics.warn(origin, reader.keyPath("module"),
                       "module \"" + name + "\" skipped: fimbeat runs only file_integrity (keep Auditbeat for " + name +
                           ", see docs/migrating-from-auditbeat.md)");
    } else {
      diagnostics.error(origin, reader.keyPath("module"),
                        "unknown module \"" + name + "\": fimbeat runs only the file_integrity module");
    }
    return;
  }
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
  checkMaxFileSize(reader, module);
  checkHashTypes(reader, module);
  reader.boolean("mime_type", module.mimeType);
  MapReader scan(reader.take("scan"), reader.keyPath("scan"), diagnostics);
  std::string verify = "changed";
  scan.oneOf("verify_hashes", verify, {"changed", "always"});
  module.verifyHashesAlways = verify == "always";
  scan.finish();
  decodeBackend(reader, module);
  reader.duration("rescan_interval", module.rescanInterval);
  reader.size("scan_files_per_sec", module.scanFilesPerSec);
  if (reader.has("package_verification")) {
    bool verify = true;
    reader.boolean("package_verification", verify);
    module.packageVerification = verify;
  }
  decodeDiff(reader, module.diff);
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
  checkFileParsers(reader, module);
  if (const Node* processors = reader.take("processors")) {
    decodeProcessors(*processors, reader.keyPath("processors"), diagnostics, module.processors);
  }
  decodeCustomFields(reader, module.processors);
  reader.string("index", module.index);
  if (reader.has("index")) {
    if (const std::string problem = indexNameProblem(module.index); !problem.empty()) {
      diagnostics.error(reader.node()->get("index")->origin, reader.keyPath("index"), problem);
    }
  }
  MapReader service(reader.take("service"), reader.keyPath("service"), diagnostics);
  service.string("name", module.serviceName);
  service.finish();
  if (reader.has("flush_interval")) {
    Duration ignored{};
    reader.duration("flush_interval", ignored);
    diagnostics.warn(reader.node()->get("flush_interval")->origin, reader.keyPath("flush_interval"),
                     "ignored, as Auditbeat ignores it outside its Windows ETW backend");
  }
  reader.boolean("keep_null", module.keepNull);
  reader.notImplemented("keep_null", "keep_null arrives with the ECS mapper");
  reader.finish();
  out.push_back(std::move(module));
}

void decodeModuleSection(MapReader& top, std::string_view beatName, std::vector<ModuleConfig>& out,
                         std::string& rpmDbPath) {
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
  // Internal, for tests: package_verification against a private RPM database (rpm --dbpath).
  reader.string("rpm_dbpath", rpmDbPath);
  if (!rpmDbPath.empty() && rpmDbPath.front() != '/') {
    top.diagnostics().error(reader.take("rpm_dbpath")->origin, reader.keyPath("rpm_dbpath"),
                            "\"" + rpmDbPath + "\" must be an absolute path");
    rpmDbPath.clear();
  }
  reader.notImplemented("config", "module config reloading is not implemented");
  reader.notImplemented("max_start_delay", "modules start at once");
  reader.finish();
}

}  // namespace fim::config
