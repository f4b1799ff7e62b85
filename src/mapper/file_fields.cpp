#include "mapper/file_fields.h"

#include <algorithm>
#include <array>

#include "core/time_format.h"

namespace fim::mapper {

std::string formatMode(std::uint32_t mode) {
  std::string out(4, '0');
  mode &= 0777;  // as Auditbeat (Go's FileMode.Perm()): setuid, setgid and sticky are their own fields
  for (int i = 3; i >= 0; --i, mode >>= 3) out[static_cast<std::size_t>(i)] = static_cast<char>('0' + (mode & 7));
  return out;
}

std::string_view fileName(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view fileExtension(std::string_view path) {
  const std::string_view name = fileName(path);
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return {};
  return name.substr(dot + 1);
}

namespace {

Value timeValue(core::TimePoint t, Allocator& a) {
  std::array<char, 32> buffer;
  return copyString(core::formatTimestamp(t, buffer), a);
}

Value modeValue(std::uint32_t mode, Allocator& a) { return copyString(formatMode(mode), a); }

// The attributes changed_attributes can name, in the order file.* lists them.
enum class Attr { Type, Size, Inode, Uid, Gid, Owner, Group, Mode, Setuid, Setgid, Sticky, Mtime, Ctime, TargetPath, MimeType };

struct AttrName {
  Attr attr;
  std::string_view name;
};

constexpr std::array kAttributes{
    AttrName{Attr::Type, "type"},     AttrName{Attr::Size, "size"},     AttrName{Attr::Inode, "inode"},
    AttrName{Attr::Uid, "uid"},       AttrName{Attr::Gid, "gid"},       AttrName{Attr::Owner, "owner"},
    AttrName{Attr::Group, "group"},   AttrName{Attr::Mode, "mode"},     AttrName{Attr::Setuid, "setuid"},
    AttrName{Attr::Setgid, "setgid"}, AttrName{Attr::Sticky, "sticky"}, AttrName{Attr::Mtime, "mtime"},   AttrName{Attr::Ctime, "ctime"},
    AttrName{Attr::TargetPath, "target_path"}, AttrName{Attr::MimeType, "mime_type"},
};

// One attribute of `f` under its changed_attributes name; `always` writes false booleans and empty names too.
void addAttribute(Value& out, const events::FileInfo& f, const AttrName& at, bool always, Allocator& a) {
  switch (at.attr) {
    case Attr::Type: addRef(out, at.name, events::toString(f.type), a); break;
    case Attr::Size: if (f.size) add(out, at.name, Value(*f.size), a); break;
    case Attr::Inode: add(out, at.name, decimalString(f.inode, a), a); break;
    case Attr::Uid: add(out, at.name, decimalString(f.uid, a), a); break;
    case Attr::Gid: add(out, at.name, decimalString(f.gid, a), a); break;
    case Attr::Owner: if (always || !f.owner.empty()) addRef(out, at.name, f.owner, a); break;
    case Attr::Group: if (always || !f.group.empty()) addRef(out, at.name, f.group, a); break;
    case Attr::Mode: add(out, at.name, modeValue(f.mode, a), a); break;
    case Attr::Setuid: if (always || f.setuid) add(out, at.name, Value(f.setuid), a); break;
    case Attr::Setgid: if (always || f.setgid) add(out, at.name, Value(f.setgid), a); break;
    case Attr::Sticky: if (always || (f.mode & 01000)) add(out, at.name, Value((f.mode & 01000) != 0), a); break;
    case Attr::Mtime: add(out, at.name, timeValue(f.mtime, a), a); break;
    case Attr::Ctime: add(out, at.name, timeValue(f.ctime, a), a); break;
    case Attr::TargetPath: if (f.targetPath) addRef(out, at.name, *f.targetPath, a); break;
    case Attr::MimeType: if (f.mimeType) addRef(out, at.name, *f.mimeType, a); break;
  }
}

// hash.<type> for every digest, or only those changed_attributes names when `changed` is given.
Value hashObject(const std::map<events::HashType, std::string>& hashes, const std::vector<std::string>* changed, Allocator& a) {
  Value hash(rapidjson::kObjectType);
  for (const auto& [type, hex] : hashes) {
    const std::string_view name = events::toString(type);
    if (changed && std::none_of(changed->begin(), changed->end(), [&](const std::string& c) {
          return c.size() == name.size() + 5 && c.starts_with("hash.") && std::string_view(c).substr(5) == name;
        })) {
      continue;
    }
    addRef(hash, name, hex, a);
  }
  return hash;
}

}  // namespace

bool isDeletion(const events::FileEvent& e) {
  return std::find(e.actions.begin(), e.actions.end(), events::Action::Deleted) != e.actions.end();
}

Value deletedFileObject(const events::FileInfo& f, Allocator& a) {
  Value file(rapidjson::kObjectType);
  addRef(file, "path", f.path, a);
  addRef(file, "name", fileName(f.path), a);
  addRef(file, "type", events::toString(f.type), a);
  return file;
}

Value fileObject(const events::FileInfo& f, Allocator& a) {
  Value file(rapidjson::kObjectType);
  addRef(file, "path", f.path, a);
  addRef(file, "name", fileName(f.path), a);
  if (f.type == events::FileType::File) addRefIfSet(file, "extension", fileExtension(f.path), a);
  if (f.type == events::FileType::Unknown) {  // an unreadable path has only its name
    addRef(file, "type", events::toString(f.type), a);
  } else {
    for (const auto& at : kAttributes) addAttribute(file, f, at, false, a);
  }
  if (!f.hashesStale) addIfNotEmpty(file, "hash", hashObject(f.hashes, nullptr, a), a);  // stale: not this content's
  return file;
}

Value fileIntegrityObject(const events::FileEvent& e, Allocator& a) {
  Value fi(rapidjson::kObjectType);
  if (e.file.selinux && !isDeletion(e)) addRef(fi, "selinux", *e.file.selinux, a);
  if (e.file.acl && !isDeletion(e)) addRef(fi, "acl", *e.file.acl, a);
  if (!e.changedAttributes.empty()) {
    Value changed(rapidjson::kArrayType);
    changed.Reserve(static_cast<rapidjson::SizeType>(e.changedAttributes.size()), a);
    for (const auto& c : e.changedAttributes) changed.PushBack(refString(c), a);
    add(fi, "changed_attributes", std::move(changed), a);
  }
  Value previous(rapidjson::kObjectType);
  if (e.previousPath) addRef(previous, "path", *e.previousPath, a);
  if (isDeletion(e) && e.file.type != events::FileType::Unknown) {
    // What no longer exists is described as it was last seen, not as file.* of a current file.
    for (const auto& at : kAttributes) {
      if (at.attr != Attr::Type) addAttribute(previous, e.file, at, false, a);
    }
    if (e.file.selinux) addRef(previous, "selinux", *e.file.selinux, a);
    if (e.file.acl) addRef(previous, "acl", *e.file.acl, a);
    if (!e.file.hashesStale) addIfNotEmpty(previous, "hash", hashObject(e.file.hashes, nullptr, a), a);
  } else if (e.previous) {
    const events::FileInfo& old = *e.previous;
    for (const auto& name : e.changedAttributes) {
      if (name == "selinux") {
        if (old.selinux) addRef(previous, "selinux", *old.selinux, a);
      } else if (name == "acl") {
        if (old.acl) addRef(previous, "acl", *old.acl, a);
      } else {
        const auto at = std::find_if(kAttributes.begin(), kAttributes.end(), [&](const AttrName& n) { return n.name == name; });
        if (at != kAttributes.end()) addAttribute(previous, old, *at, true, a);
      }
    }
    // Stale digests describe no size or mtime of the record: changed_attributes still names them.
    if (!old.hashesStale) addIfNotEmpty(previous, "hash", hashObject(old.hashes, &e.changedAttributes, a), a);
  }
  addIfNotEmpty(fi, "previous", std::move(previous), a);
  if (e.baselineRebuilt) add(fi, "baseline_rebuilt", Value(true), a);
  if (e.approval) {
    Value approval(rapidjson::kObjectType);
    addRef(approval, "id", e.approval->id, a);
    addRef(approval, "reason", e.approval->reason, a);
    add(approval, "expires", timeValue(e.approval->expires, a), a);
    add(fi, "approval", std::move(approval), a);
  }
  if (e.process && e.process->exited) {
    Value process(rapidjson::kObjectType);
    add(process, "exited", Value(true), a);
    add(fi, "process", std::move(process), a);
  }
  if (e.package) {
    if (e.package->byPackageManager) addRef(fi, "change_source", "package_manager", a);
    if (e.package->conffile) add(fi, "package_conffile", Value(true), a);
    if (e.package->verified) add(fi, "package_verified", Value(*e.package->verified), a);
  }
  if (e.diff) addRef(fi, "diff", *e.diff, a);
  return fi;
}

Value packageObject(const events::PackageVerdict& p, Allocator& a) {
  Value package(rapidjson::kObjectType);
  addRefIfSet(package, "architecture", p.architecture, a);
  addRefIfSet(package, "name", p.name, a);
  addRefIfSet(package, "version", p.version, a);
  return package;
}

}  // namespace fim::mapper
