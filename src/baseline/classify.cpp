#include "baseline/classify.h"

#include <array>

namespace fim::baseline {
namespace {

constexpr std::uint32_t kModeBits = 0777;  // the permission bits, as file.mode shows them
constexpr std::uint32_t kStickyBit = 01000;

constexpr std::array<const char*, 12> kNames{"type", "inode", "uid", "owner", "gid", "group",
                                             "mode", "setuid", "setgid", "size", "mtime", "sticky"};

}  // namespace

Comparison classify(const events::FileStamp& o, const events::FileStamp& n) {
  Comparison c;
  c.sameContent = o.type == n.type && o.size == n.size && o.mtime == n.mtime && o.ctime == n.ctime &&
                  o.inode == n.inode && o.device == n.device;
  const auto check = [&](bool differs, Attribute bit) {
    if (differs) c.changed |= bit;
  };
  check(o.type != n.type, kType);
  check(o.inode != n.inode, kInode);
  check(o.uid != n.uid, kUid);
  check(o.owner != n.owner, kOwner);
  check(o.gid != n.gid, kGid);
  check(o.group != n.group, kGroup);
  check((o.mode & kModeBits) != (n.mode & kModeBits), kMode);  // setuid, setgid and sticky are their own attributes
  check(o.setuid != n.setuid, kSetuid);
  check(o.setgid != n.setgid, kSetgid);
  check((o.mode & kStickyBit) != (n.mode & kStickyBit), kSticky);
  if (n.type == events::FileType::File) {
    check(o.size != n.size, kSize);
    check(o.mtime != n.mtime, kMtime);
  }
  return c;
}

void appendAttributeNames(std::uint32_t bits, std::vector<std::string>& out) {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (bits & (1u << i)) out.emplace_back(kNames[i]);
  }
}

bool reusable(const events::FileStamp& recorded, const Comparison& comparison, const Wanted& wanted) {
  if (!comparison.sameContent) return false;
  if (recorded.type != events::FileType::File) return true;  // nothing is computed from its content
  if (wanted.verifyAlways || recorded.hashesStale) return false;  // stale digests are never the content's
  if (wanted.mimeType && !recorded.hasMimeType) return false;
  if (recorded.size.value_or(0) > wanted.maxFileSize) return true;  // too large to hash: no digest is wanted
  return (recorded.hashTypes & wanted.hashTypes) == wanted.hashTypes;
}

bool identical(const events::FileInfo& a, const events::FileInfo& b) {
  return classify(events::stampOf(a), events::stampOf(b)).unchanged() && a.targetPath == b.targetPath &&
         a.mimeType == b.mimeType && a.selinux == b.selinux && a.acl == b.acl && a.hashes == b.hashes &&
         a.hashesStale == b.hashesStale;
}

bool sameContentUnread(const events::FileStamp& o, const events::FileStamp& n) {
  return o.type == n.type && o.inode == n.inode && o.device == n.device && o.size == n.size && o.mtime == n.mtime;
}

}  // namespace fim::baseline
