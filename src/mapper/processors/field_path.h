#pragma once
// FieldPath: a dotted field name ("file.hash.sha256") split once, when the chain is built, and
// the lookups, removals and insertions processors make with it on a document's nested objects.

#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

namespace fim::mapper::processors {

class FieldPath {
 public:
  explicit FieldPath(std::string_view dotted);

  const std::string& text() const { return text_; }
  const std::vector<std::string>& parts() const { return parts_; }
  bool empty() const { return parts_.empty(); }

 private:
  std::string text_;
  std::vector<std::string> parts_;
};

using Allocator = rapidjson::Document::AllocatorType;

// The value at `path` under `root`, or null when a part is missing or crosses a non-object.
const rapidjson::Value* findField(const rapidjson::Value& root, const FieldPath& path);
rapidjson::Value* findField(rapidjson::Value& root, const FieldPath& path);

// Removes the value at `path`; false when it was not there. With `cleanup`, parents that the
// removal left empty are removed too.
bool eraseField(rapidjson::Value& root, const FieldPath& path, bool cleanup = false);

// Moves the value at `path` into `out` and removes it; false when it was not there.
bool takeField(rapidjson::Value& root, const FieldPath& path, rapidjson::Value& out);

// False when a part on the way to `path` is a value that is not an object (putField would fail).
bool canPutField(const rapidjson::Value& root, const FieldPath& path);

// Sets `path` to `value` (moved), creating the objects on the way. Where both the existing and
// the new value are objects they are merged, the new members winning. False (nothing changed)
// when a part on the way is a value that is not an object.
bool putField(rapidjson::Value& root, const FieldPath& path, rapidjson::Value& value, Allocator& allocator);

// Merges `patch` into `target` (both objects): objects merge, other values are replaced by a
// copy of the patch's. Beats' DeepUpdate.
void deepUpdate(rapidjson::Value& target, const rapidjson::Value& patch, Allocator& allocator);

}  // namespace fim::mapper::processors
