#include "mapper/file_fields.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/time_format.h"
#include "core/utf8.h"

namespace fim::mapper {

void putString(JsonWriter& w, std::string_view value) {
  if (core::isValidUtf8(value)) {  // the common case: no copy
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    return;
  }
  const std::string valid = core::toValidUtf8(value);
  w.String(valid.data(), static_cast<rapidjson::SizeType>(valid.size()));
}

void putKeyString(JsonWriter& w, const char* key, std::string_view value) {
  w.Key(key);
  putString(w, value);
}

std::string formatMode(std::uint32_t mode) { return fmt::format("{:04o}", mode & 01777); }

std::string fileName(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string fileExtension(const std::string& path) {
  const std::string name = fileName(path);
  const auto dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == name.size()) return "";
  return name.substr(dot + 1);
}

namespace {

void putTime(JsonWriter& w, const char* key, core::TimePoint t) {
  std::array<char, 32> buffer;
  putKeyString(w, key, core::formatTimestamp(t, buffer));
}

void writeHashes(JsonWriter& w, const std::map<core::HashType, std::string>& hashes,
                 const std::vector<std::string>* only) {
  bool open = false;
  for (const auto& [type, hex] : hashes) {
    const std::string name = core::toString(type);
    if (only && std::find(only->begin(), only->end(), "hash." + name) == only->end()) continue;
    if (!open) {
      w.Key("hash");
      w.StartObject();
      open = true;
    }
    putKeyString(w, name.c_str(), hex);
  }
  if (open) w.EndObject();
}

// One attribute of a FileInfo by its changed_attributes name; `always` writes false booleans too.
void writeAttribute(JsonWriter& w, const core::FileInfo& f, const std::string& name, bool always) {
  if (name == "type") putKeyString(w, "type", core::toString(f.type));
  else if (name == "size" && f.size) { w.Key("size"); w.Uint64(*f.size); }
  else if (name == "inode") putKeyString(w, "inode", std::to_string(f.inode));
  else if (name == "uid") putKeyString(w, "uid", std::to_string(f.uid));
  else if (name == "gid") putKeyString(w, "gid", std::to_string(f.gid));
  else if (name == "owner" && (always || !f.owner.empty())) putKeyString(w, "owner", f.owner);
  else if (name == "group" && (always || !f.group.empty())) putKeyString(w, "group", f.group);
  else if (name == "mode") putKeyString(w, "mode", formatMode(f.mode));
  else if (name == "setuid" && (always || f.setuid)) { w.Key("setuid"); w.Bool(f.setuid); }
  else if (name == "setgid" && (always || f.setgid)) { w.Key("setgid"); w.Bool(f.setgid); }
  else if (name == "mtime") putTime(w, "mtime", f.mtime);
  else if (name == "ctime") putTime(w, "ctime", f.ctime);
  else if (name == "target_path" && f.targetPath) putKeyString(w, "target_path", *f.targetPath);
  else if (name == "mime_type" && f.mimeType) putKeyString(w, "mime_type", *f.mimeType);
}

const std::vector<std::string> kFileAttributes{"type", "size", "inode", "uid", "gid", "owner", "group", "mode",
                                               "setuid", "setgid", "mtime", "ctime", "target_path", "mime_type"};

}  // namespace

void writeFileMembers(JsonWriter& w, const core::FileInfo& f) {
  putKeyString(w, "path", f.path);
  putKeyString(w, "name", fileName(f.path));
  if (f.type == core::FileType::File) {
    if (auto ext = fileExtension(f.path); !ext.empty()) putKeyString(w, "extension", ext);
  }
  const bool known = f.type != core::FileType::Unknown;  // an unreadable path has only its name
  for (const auto& name : kFileAttributes) {
    if (known || name == "type") writeAttribute(w, f, name, false);
  }
  writeHashes(w, f.hashes, nullptr);
}

void writeFileIntegrity(JsonWriter& w, const core::FileEvent& e) {
  const bool hasSecurity = e.file.selinux || e.file.acl;
  if (e.changedAttributes.empty() && !hasSecurity && !e.previousPath) return;
  w.Key("file_integrity");
  w.StartObject();
  if (e.file.selinux) putKeyString(w, "selinux", *e.file.selinux);
  if (e.file.acl) putKeyString(w, "acl", *e.file.acl);
  if (!e.changedAttributes.empty()) {
    w.Key("changed_attributes");
    w.StartArray();
    for (const auto& a : e.changedAttributes) putString(w, a);
    w.EndArray();
  }
  if ((e.previous && !e.changedAttributes.empty()) || e.previousPath) {
    const core::FileInfo old = e.previous.value_or(core::FileInfo{});
    w.Key("previous");
    w.StartObject();
    if (e.previousPath) putKeyString(w, "path", *e.previousPath);
    for (const auto& name : e.changedAttributes) {
      if (name == "selinux" && old.selinux) putKeyString(w, "selinux", *old.selinux);
      else if (name == "acl" && old.acl) putKeyString(w, "acl", *old.acl);
      else if (!name.starts_with("hash.")) writeAttribute(w, old, name, true);
    }
    writeHashes(w, old.hashes, &e.changedAttributes);
    w.EndObject();
  }
  w.EndObject();
}

}  // namespace fim::mapper
