// The kept contents of diffed files (diff.enabled): staged with their records, diffed on update.

#include "baseline/baseline.h"
#include "core/logging.h"

namespace fim::baseline {

void Baseline::keepContents(ContentStore& store, std::vector<std::uint64_t> maxDiffSize) {
  content_ = &store;
  maxDiffSize_ = std::move(maxDiffSize);
  differ_ = std::make_unique<ContentDiffer>();
}

core::Result<std::optional<std::string>> Baseline::stageContent(const events::PathSeen& seen, bool updated) {
  const std::string& path = seen.info.path;
  auto kept = content_->load(path);
  if (!kept) {
    noteDamage(kept.error());
    return std::unexpected(kept.error());
  }
  std::optional<std::string> diff;
  if (seen.text && *kept && (*kept)->text == *seen.text) return diff;  // nothing to write
  if (updated && seen.text && *kept) {
    const std::size_t module = seen.root < roots_.size() ? roots_[seen.root].module : 0;
    const std::uint64_t limit = module < maxDiffSize_.size() ? maxDiffSize_[module] : 0;
    if (auto text = differ_->diff((*kept)->text, *seen.text, path, limit); !text.empty()) diff = std::move(text);
  }
  if (seen.text) {
    content_->put(pending_, path, *seen.text, *kept);
  } else if (*kept) {
    content_->remove(pending_, path, **kept);  // binary, too large or excluded now: not kept
  }
  return diff;
}

core::Status Baseline::dropContents(core::WriteBatch& batch, std::string_view path) {
  if (!content_) return {};
  return content_->removeTree(batch, path);
}

}  // namespace fim::baseline
