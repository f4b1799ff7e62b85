#include "baseline/diff.h"

#include "baseline/classify.h"

namespace fim::baseline {

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
  appendAttributeNames(classify(events::stampOf(*old), events::stampOf(now)).changed, change.changedAttributes);
  const auto check = [&](bool differs, const char* name) {
    if (differs) change.changedAttributes.emplace_back(name);
  };
  check(old->targetPath != now.targetPath, "target_path");
  check(old->selinux != now.selinux, "selinux");
  check(old->acl != now.acl, "acl");
  if (contentChanged) change.actions.push_back(events::Action::Updated);
  if (change.changedAttributes.size() > hashChanges) change.actions.push_back(events::Action::AttributesModified);
  if (newHashType) change.actions.push_back(events::Action::ConfigChange);
  return change;
}

}  // namespace fim::baseline
