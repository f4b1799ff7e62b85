#pragma once
// classify(old, now): the one rule for "has this path changed?". The watcher's walk asks it of a
// record's stamp and a fresh lstat, the observer asks it before reusing recorded digests, and the
// baseline's diff builds on it: a path is unchanged exactly when classify says so.

#include <cstdint>
#include <string>
#include <vector>

#include "events/file_info.h"

namespace fim::baseline {

// The metadata a change reports, one bit each, in the order changed_attributes lists them.
enum Attribute : std::uint32_t {
  kType = 1u << 0,
  kInode = 1u << 1,
  kUid = 1u << 2,
  kOwner = 1u << 3,
  kGid = 1u << 4,
  kGroup = 1u << 5,
  kMode = 1u << 6,  // the permission bits (0777)
  kSetuid = 1u << 7,
  kSetgid = 1u << 8,
  kSize = 1u << 9,   // regular files only
  kMtime = 1u << 10,  // regular files only: a directory's moves with every entry
  kSticky = 1u << 11,  // the sticky bit (file.sticky), apart from file.mode as Auditbeat's Perm()
};

struct Comparison {
  // Type, size, mtime, ctime, inode and device equal. ctime moves with every write, chmod, chown
  // and xattr change and cannot be set back from user space, so the content, its digests and the
  // labels (SELinux, ACL) are the recorded ones.
  bool sameContent = false;
  std::uint32_t changed = 0;  // Attribute bits that differ

  // Nothing recorded differs from what is there now: no event, no write, no rehash.
  bool unchanged() const { return sameContent && changed == 0; }
};

Comparison classify(const events::FileStamp& old, const events::FileStamp& now);

// changed_attributes' names for `bits`, in Attribute order ("type", "inode", "uid", "owner", ...).
void appendAttributeNames(std::uint32_t bits, std::vector<std::string>& out);

// What a module computes for a regular file: its digests (FileStamp::hashBit of each type) and,
// when mimeType, its MIME type; none for a file over maxFileSize. verifyAlways: never reuse.
struct Wanted {
  std::uint32_t hashTypes = 0;
  bool mimeType = false;
  std::uint64_t maxFileSize = 0;
  bool verifyAlways = false;
};

// Whether what is recorded can stand for what would be computed now: the same content, and for a
// regular file every wanted digest (and the MIME type) recorded and not stale.
bool reusable(const events::FileStamp& recorded, const Comparison& comparison, const Wanted& wanted);

// Every recorded field equal, labels and digests included: writing the record again would change nothing.
bool identical(const events::FileInfo& a, const events::FileInfo& b);

// Whether a file that could not be read still holds the content its record's digests describe:
// the same type, inode, device, size and mtime (ctime moves with the chmod that made it unreadable).
bool sameContentUnread(const events::FileStamp& recorded, const events::FileStamp& now);

}  // namespace fim::baseline
