#include "mapper/direct_encoder.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

#include "core/logging.h"
#include "mapper/coerce.h"
#include "mapper/document_builder.h"
#include "mapper/file_fields.h"
#include "mapper/iso_time.h"

namespace fim::mapper {
namespace {

constexpr std::size_t kMaxWarnedNames = 10000;

// file.* attributes in the order the document lists them (as file_fields.cpp adds them).
constexpr std::array<std::string_view, 14> kAttributes{"type",  "size",   "inode",  "uid",   "gid",
                                                       "owner", "group",  "mode",   "setuid", "setgid",
                                                       "mtime", "ctime",  "target_path", "mime_type"};
enum class Attr { Type, Size, Inode, Uid, Gid, Owner, Group, Mode, Setuid, Setgid, Mtime, Ctime, TargetPath, MimeType };

enum class Want { String, Long, Boolean, Date };

struct Declared {
  std::string path;
  Want want;
};

// Every leaf the encoder writes per event (metadata fragments go through the schema walk).
std::vector<Declared> perEventFields() {
  std::vector<Declared> out{
      {"@timestamp", Want::Date},           {"container.id", Want::String},        {"container.runtime", Want::String},
      {"error.message", Want::String},      {"event.action", Want::String},        {"event.category", Want::String},
      {"event.dataset", Want::String},      {"event.kind", Want::String},          {"event.module", Want::String},
      {"event.type", Want::String},         {"file.path", Want::String},           {"file.name", Want::String},
      {"file.extension", Want::String},     {"file_integrity.selinux", Want::String}, {"file_integrity.acl", Want::String},
      {"file_integrity.changed_attributes", Want::String}, {"file_integrity.previous.path", Want::String},
      {"file_integrity.previous.selinux", Want::String},   {"file_integrity.previous.acl", Want::String},
      {"file_integrity.process.exited", Want::Boolean},    {"group.id", Want::String},
      {"group.name", Want::String},         {"process.args", Want::String},        {"process.args_count", Want::Long},
      {"process.executable", Want::String}, {"process.name", Want::String},        {"process.parent.pid", Want::Long},
      {"process.pid", Want::Long},          {"process.working_directory", Want::String}, {"tags", Want::String},
      {"user.id", Want::String},            {"user.name", Want::String},
  };
  for (const std::string prefix : {"file.", "file_integrity.previous."}) {
    for (const auto name : kAttributes) {
      const Want want = name == "size"                     ? Want::Long
                        : name == "setuid" || name == "setgid" ? Want::Boolean
                        : name == "mtime" || name == "ctime"   ? Want::Date
                                                               : Want::String;
      out.push_back({prefix + std::string(name), want});
    }
    for (const auto type : core::allHashTypes()) out.push_back({prefix + "hash." + core::toString(type), Want::String});
  }
  return out;
}

bool declares(const Schema& schema, std::string_view dotted, Want want) {
  const SchemaNode* node = &schema.root();
  while (true) {
    const auto dot = dotted.find('.');
    node = node->child(dotted.substr(0, dot));
    if (!node) return false;
    if (dot == std::string_view::npos) break;
    if (!node->isGroup()) return false;  // an object or flattened field: the walk treats its subtree differently
    dotted.remove_prefix(dot + 1);
  }
  switch (want) {
    case Want::String: return isStringType(node->type());
    case Want::Long: return node->type() == FieldType::Long;
    case Want::Boolean: return node->type() == FieldType::Boolean;
    case Want::Date: return node->type() == FieldType::Date;
  }
  return false;
}

}  // namespace

DirectEncoder::DirectEncoder(core::Metrics& metrics)
    : undeclared_(metrics.counter("mapper.fields.undeclared")), invalid_(metrics.counter("mapper.fields.invalid")) {
  rapidjson::StringBuffer json;
  JsonTextWriter writer;
  writer.Reset(json);
  writer.StartObject();
  writer.plainString("category");
  writer.StartArray();
  writer.plainString("file");
  writer.EndArray();
  writer.plainMember("dataset", kDataset);
  writer.plainMember("kind", "event");
  writer.plainMember("module", kModule);
  writer.EndObject();
  eventConstants_.assign(json.GetString() + 1, json.GetSize() - 2);  // the members without the braces
}

bool DirectEncoder::covers(const Schema& schema) {
  const auto fields = perEventFields();
  return std::all_of(fields.begin(), fields.end(), [&](const Declared& d) { return declares(schema, d.path, d.want); });
}

void DirectEncoder::encode(const core::EnrichedEvent& enriched, const MetadataFragments& fragments,
                           rapidjson::StringBuffer& out) {
  const core::FileEvent& e = enriched.event;
  out.Clear();
  writer_.Reset(out);
  depth_ = 0;
  opened_ = 0;
  if (fragments.undeclared) undeclared_.add(fragments.undeclared);
  if (fragments.invalid) invalid_.add(fragments.invalid);
  writer_.StartObject();
  date("@timestamp", e.timestamp, "@timestamp");
  splice(fragments.beforeContainer);
  if (e.process) {
    open("container");
    textIfSet("id", e.process->containerId);
    textIfSet("runtime", e.process->containerRuntime);
    close();
  }
  splice(fragments.beforeError);
  if (e.errorMessage) {
    open("error");
    text("message", *e.errorMessage);
    close();
  }
  eventObject(e);
  fileObject(e.file);
  fileIntegrityObject(e);
  if (e.process) idAndName("group", e.process->groupId, e.process->groupName);
  splice(fragments.beforeProcess);
  if (e.process) processObject(*e.process);
  splice(fragments.beforeTags);
  if (!enriched.tags.empty()) stringArray("tags", enriched.tags);
  if (e.process) idAndName("user", e.process->userId, e.process->userName);
  writer_.EndObject();
}

void DirectEncoder::splice(const MetadataFragments::Members& members) {
  if (members.count > 0) writer_.rawMembers(members.json, members.count);
}

void DirectEncoder::eventObject(const core::FileEvent& e) {
  open("event");
  open("action", true);
  std::array<const char*, 8> seen{};
  std::size_t distinct = 0;
  for (const auto action : e.actions) {
    key({});
    writer_.plainString(core::toString(action));
    const char* type = core::eventType(action);  // static strings: compare pointers
    if (std::find(seen.begin(), seen.begin() + distinct, type) == seen.begin() + distinct && distinct < seen.size()) {
      seen[distinct++] = type;
    }
  }
  close();
  openPending();
  writer_.rawMembers(eventConstants_, 4);  // category, dataset, kind, module
  if (distinct > 0) {
    key("type");
    writer_.StartArray();
    for (std::size_t i = 0; i < distinct; ++i) writer_.plainString(seen[i]);
    writer_.EndArray();
  }
  close();
}

void DirectEncoder::fileObject(const core::FileInfo& f) {
  open("file");
  text("path", f.path);
  text("name", fileName(f.path));
  if (f.type == core::FileType::File) textIfSet("extension", fileExtension(f.path));
  if (f.type == core::FileType::Unknown) {  // an unreadable path has only its name
    plain("type", core::toString(f.type));
  } else {
    for (std::size_t i = 0; i < kAttributes.size(); ++i) attribute(f, i, false, "file");
  }
  hashObject(f, nullptr);
  close();
}

void DirectEncoder::attribute(const core::FileInfo& f, std::size_t index, bool always, std::string_view path) {
  const std::string_view name = kAttributes[index];
  switch (static_cast<Attr>(index)) {
    case Attr::Type: return plain(name, core::toString(f.type));
    case Attr::Size:
      if (!f.size) return;
      if (*f.size > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return invalid(std::string(path) + ".size", FieldType::Long);
      }
      return integer(name, static_cast<std::int64_t>(*f.size));
    case Attr::Inode: return decimalText(name, f.inode);
    case Attr::Uid: return decimalText(name, f.uid);
    case Attr::Gid: return decimalText(name, f.gid);
    case Attr::Owner: if (always || !f.owner.empty()) text(name, f.owner); return;
    case Attr::Group: if (always || !f.group.empty()) text(name, f.group); return;
    case Attr::Mode: {
      char mode[4];
      std::uint32_t bits = f.mode & 01777;
      for (int i = 3; i >= 0; --i, bits >>= 3) mode[i] = static_cast<char>('0' + (bits & 7));
      return plain(name, std::string_view(mode, 4));
    }
    case Attr::Setuid: if (always || f.setuid) boolean(name, f.setuid); return;
    case Attr::Setgid: if (always || f.setgid) boolean(name, f.setgid); return;
    case Attr::Mtime: return date(name, f.mtime, path);
    case Attr::Ctime: return date(name, f.ctime, path);
    case Attr::TargetPath: if (f.targetPath) text(name, *f.targetPath); return;
    case Attr::MimeType: if (f.mimeType) text(name, *f.mimeType); return;
  }
}

void DirectEncoder::hashObject(const core::FileInfo& f, const std::vector<std::string>* changed) {
  open("hash");
  for (const auto& [type, hex] : f.hashes) {
    const std::string_view name = core::toString(type);
    if (changed && std::none_of(changed->begin(), changed->end(), [&](const std::string& c) {
          return c.size() == name.size() + 5 && c.starts_with("hash.") && std::string_view(c).substr(5) == name;
        })) {
      continue;
    }
    text(name, hex);
  }
  close();
}

void DirectEncoder::fileIntegrityObject(const core::FileEvent& e) {
  open("file_integrity");
  if (e.file.selinux) text("selinux", *e.file.selinux);
  if (e.file.acl) text("acl", *e.file.acl);
  if (!e.changedAttributes.empty()) stringArray("changed_attributes", e.changedAttributes);
  open("previous");
  if (e.previousPath) text("path", *e.previousPath);
  if (e.previous) {
    const core::FileInfo& old = *e.previous;
    for (const auto& name : e.changedAttributes) {
      if (name == "selinux") {
        if (old.selinux) text("selinux", *old.selinux);
      } else if (name == "acl") {
        if (old.acl) text("acl", *old.acl);
      } else if (const auto at = std::find(kAttributes.begin(), kAttributes.end(), name); at != kAttributes.end()) {
        attribute(old, static_cast<std::size_t>(at - kAttributes.begin()), true, "file_integrity.previous");
      }
    }
    hashObject(old, &e.changedAttributes);
  }
  close();
  if (e.process && e.process->exited) {
    open("process");
    boolean("exited", true);
    close();
  }
  close();
}

void DirectEncoder::processObject(const core::ProcessInfo& p) {
  open("process");
  if (!p.args.empty()) {
    stringArray("args", p.args);
    integer("args_count", static_cast<std::int64_t>(p.args.size()));
  }
  textIfSet("executable", p.executable);
  textIfSet("name", p.name);
  if (p.parentPid) {
    open("parent");
    integer("pid", *p.parentPid);
    close();
  }
  integer("pid", p.pid);
  textIfSet("working_directory", p.workingDirectory);
  close();
}

void DirectEncoder::idAndName(std::string_view object, const std::optional<std::uint32_t>& id, std::string_view name) {
  open(object);
  if (id) decimalText("id", *id);
  textIfSet("name", name);
  close();
}

void DirectEncoder::stringArray(std::string_view name, const std::vector<std::string>& items) {
  open(name, true);
  for (const auto& item : items) {
    key({});
    writer_.text(item);
  }
  close();
}

void DirectEncoder::close() {
  --depth_;
  if (opened_ > depth_) {
    if (pending_[depth_].isArray) writer_.EndArray();
    else writer_.EndObject();
    opened_ = depth_;
  }
}

void DirectEncoder::key(std::string_view name) {
  openPending();
  if (!name.empty()) writer_.plainString(name);  // empty: an array element follows
}

void DirectEncoder::openPending() {
  for (; opened_ < depth_; ++opened_) {
    const Pending& p = pending_[opened_];
    writer_.plainString(p.key);
    if (p.isArray) writer_.StartArray();
    else writer_.StartObject();
  }
}

void DirectEncoder::text(std::string_view name, std::string_view value) {
  if (isPlainAscii(value)) return plain(name, value);
  key(name);
  writer_.text(value);
}

void DirectEncoder::plain(std::string_view name, std::string_view value) {
  openPending();
  writer_.plainMember(name, value);
}

template <typename Integer>
void DirectEncoder::decimalText(std::string_view name, Integer n) {  // ECS keeps ids as strings
  char buffer[24];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, n).ptr;
  plain(name, std::string_view(buffer, static_cast<std::size_t>(end - buffer)));
}

void DirectEncoder::integer(std::string_view name, std::int64_t n) {
  key(name);
  writer_.Int64(n);
}

void DirectEncoder::boolean(std::string_view name, bool b) {
  key(name);
  writer_.Bool(b);
}

void DirectEncoder::date(std::string_view name, core::TimePoint t, std::string_view path) {
  std::array<char, 32> buffer;
  bool valid = false;
  const std::string_view iso = dates_.format(t, buffer, valid);
  if (!valid) {  // a year beyond 0..9999: the schema walk drops it
    return invalid(path == name ? std::string(path) : std::string(path) + "." + std::string(name), FieldType::Date);
  }
  plain(name, iso);
}

void DirectEncoder::invalid(std::string_view path, FieldType type) {
  invalid_.add();
  if (warnedInvalid_.size() < kMaxWarnedNames && warnedInvalid_.emplace(path).second) {
    core::logger("mapper").warn("dropping a value of field '{}': it cannot be converted to type {} (further occurrences "
                                "are only counted in mapper.fields.invalid)",
                                path, toString(type));
  }
}

}  // namespace fim::mapper
