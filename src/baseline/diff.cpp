#include "baseline/diff.h"

namespace fim::baseline {
namespace {

constexpr std::uint32_t kModeBits = 01777;  // permissions and the sticky bit, as file.mode shows them

void metadataChanges(const events::FileInfo& o, const events::FileInfo& n, std::vector<std::string>& changed) {
  const auto check = [&](bool differs, const char* name) {
    if (differs) changed.emplace_back(name);
  };
  check(o.type != n.type, "type");
  check(o.inode != n.inode, "inode");
  check(o.uid != n.uid, "uid");
  check(o.owner != n.owner, "owner");
  check(o.gid != n.gid, "gid");
  check(o.group != n.group, "group");
  check((o.mode & kModeBits) != (n.mode & kModeBits), "mode");  // setuid and setgid are their own attributes
  check(o.setuid != n.setuid, "setuid");
  check(o.setgid != n.setgid, "setgid");
  if (n.type == events::FileType::File) {  // a directory's mtime moves with every entry: not reported
    check(o.size != n.size, "size");
    check(o.mtime != n.mtime, "mtime");
  }
  check(o.targetPath != n.targetPath, "target_path");
  check(o.selinux != n.selinux, "selinux");
  check(o.acl != n.acl, "acl");
}

}  // namespace

Change diff(const events::FileInfo* old, const events::FileInfo& now, bool rootKnown) {
  Change change;
  if (!old) {
    change.actions.push_back(rootKnown ? events::Action::Created : events::Action::InitialScan);
    return change;
  }
  bool contentChanged = false;
  bool newHashType = false;
  for (const auto& [type, digest] : now.hashes) {
    auto it = old->hashes.find(type);
    if (it == old->hashes.end()) {
      newHashType = newHashType || !old->hashes.empty();  // an unhashed file (too big, unreadable) is no config change
    } else if (it->second != digest) {
      contentChanged = true;
      change.changedAttributes.push_back(std::string("hash.") + events::toString(type));
    }
  }
  const std::size_t hashChanges = change.changedAttributes.size();
  metadataChanges(*old, now, change.changedAttributes);
  if (contentChanged) change.actions.push_back(events::Action::Updated);
  if (change.changedAttributes.size() > hashChanges) change.actions.push_back(events::Action::AttributesModified);
  if (newHashType) change.actions.push_back(events::Action::ConfigChange);
  return change;
}

}  // namespace fim::baseline
