// A walk beside the baseline's records (scanner_walker.h): a walker reads a subtree in the
// store's key order, each directory's sorted entries merged with one forward cursor.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "watcher/scanner_walker.h"

namespace fim::watcher {
namespace {

// The prefix of everything below a directory in the store: "/a/b/" ("/" for the root).
std::string belowPrefix(const std::string& dir) { return dir == "/" ? dir : dir + "/"; }

// Where the records below `prefix` + name + "/" end: '0' sorts right after '/'.
std::string pastSubtree(std::string_view prefix, std::string_view name) {
  std::string key;
  key.reserve(prefix.size() + name.size() + 1);
  key.append(prefix).append(name).push_back('0');
  return key;
}

// Compares a + (slashA ? "/" : "") with b + (slashB ? "/" : "") bytewise: the store's order of
// a directory's entries ("name") and of what lies below its subdirectories ("name/...").
bool keyLess(std::string_view a, bool slashA, std::string_view b, bool slashB) {
  const std::size_t n = std::min(a.size(), b.size());
  if (const int c = std::memcmp(a.data(), b.data(), n); c != 0) return c < 0;
  const auto at = [](std::string_view s, bool slash, std::size_t i) {
    return i < s.size() ? static_cast<int>(static_cast<unsigned char>(s[i])) : (i == s.size() && slash ? '/' : -1);
  };
  for (std::size_t i = n;; ++i) {
    const int x = at(a, slashA, i), y = at(b, slashB, i);
    if (x != y) return x < y;
    if (x < 0) return false;
  }
}

// The first 8 bytes of name + (slash ? "/" : ""), big-endian, zero-padded: ordered as the keys
// are (a name holds no NUL, so the padding sorts before any byte, as the end of a key does).
std::uint64_t orderPrefix(std::string_view name, bool slash) {
  std::uint64_t key = 0;
  std::size_t i = 0;
  for (; i < 8 && i < name.size(); ++i) key |= std::uint64_t{static_cast<unsigned char>(name[i])} << (56 - 8 * i);
  if (slash && i < 8) key |= std::uint64_t{'/'} << (56 - 8 * i);
  return key;
}

}  // namespace

bool Scanner::Walker::walkTask(WorkItem dir) {
  const std::size_t root = dir.root;
  auto records = s_.shared_.prior->records();
  records->seek(belowPrefix(dir.path));
  const bool read = walkSubtree(std::move(dir), *records, 0);
  if (!records->status()) s_.rootUnmatched_[root] = true;  // not all read: the sweep looks
  return read;
}

bool Scanner::Walker::walkSubtree(WorkItem dir, baseline::RecordCursor& records, std::size_t depth) {
  if (dir.lookUp) {  // read here what its parent's walker had not read yet
    struct stat st {};
    if (::fstatat(dir.parent->get(), baseName(dir.path), &st, AT_SYMLINK_NOFOLLOW) == 0) dir.st = st;
    if (auto found = s_.shared_.prior->lookup(dir.path)) {
      dir.storedKnown = true;
      dir.stored = std::move(*found);
    }
  }
  Listing listing;
  listing.path = dir.path;
  listing.prefix = belowPrefix(dir.path);
  listing.root = dir.root;
  listing.dir = openDirectory(dir);
  if (listing.dir) {
    if (const int error = list(listing); error != 0) listingFailed(dir, error);
  }
  if (!settleDirectory(std::move(dir))) return false;
  if (!listing.dir) {
    skipBelow(records, listing.prefix, listing.root, false);  // unreadable: its records stay, as the sweep keeps them
    return true;
  }
  frames_.push_back(&listing);
  const bool ok = mergeListing(listing, records, depth);
  frames_.pop_back();
  return ok;
}

int Scanner::Walker::list(Listing& listing) {
  const int fd = listing.dir->get();
  const Root& root = s_.roots_[listing.root];
  const PathFilter& filter = s_.filters_[root.module];
  const bool filtered = filter.hasPatterns();
  std::string child;
  EntryReader entries(fd, entries_);
  while (const auto* entry = entries.next()) {
    if (isDot(entry->d_name)) continue;
    if (filtered) {
      setChildPath(child, listing.path, entry->d_name);
      if (filter.excluded(child)) continue;  // its record, if any, is matched by nothing
    }
    Entry e;
    e.type = entry->d_type;
    bool isDir = entry->d_type == DT_DIR;
    if (entry->d_type == DT_UNKNOWN) {
      // No d_type on this file system: the stat tells whether to enter it.
      ListedStat listed;
      listed.ok = ::fstatat(fd, entry->d_name, &listed.st, AT_SYMLINK_NOFOLLOW) == 0;
      listed.error = listed.ok ? 0 : errno;
      isDir = listed.ok && S_ISDIR(listed.st.st_mode);
      e.statAt = static_cast<std::int32_t>(listing.stats.size());
      listing.stats.push_back(listed);
    }
    e.walk = isDir && root.recursive;
    if (!e.walk && filtered && !filter.reported(child, isDir)) continue;
    e.nameAt = static_cast<std::uint32_t>(listing.names.size());
    e.nameSize = static_cast<std::uint32_t>(std::strlen(entry->d_name));
    listing.names.append(entry->d_name, e.nameSize);
    listing.entries.push_back(e);
  }
  listing.events.reserve(listing.entries.size() + 8);
  for (std::uint32_t i = 0; i < listing.entries.size(); ++i) {
    const std::string_view name = listing.name(listing.entries[i]);
    listing.events.push_back(Event{i, false, false, orderPrefix(name, false)});
    if (listing.entries[i].walk) listing.events.push_back(Event{i, true, false, orderPrefix(name, true)});
  }
  std::sort(listing.events.begin(), listing.events.end(), [&](const Event& a, const Event& b) {
    if (a.order != b.order) return a.order < b.order;
    return keyLess(listing.name(a), a.below, listing.name(b), b.below);
  });
  return entries.error();
}

bool Scanner::Walker::mergeListing(Listing& listing, baseline::RecordCursor& records, std::size_t depth) {
  const std::string& prefix = listing.prefix;
  std::vector<Pending>& pending = listing.pending;
  std::string child;
  while (listing.next < listing.events.size()) {
    if (pool_.hungry()) giveAway();
    const Event event = listing.events[listing.next++];
    const std::string_view name = listing.name(event);
    // Records before the event: no entry of this directory matched them.
    while (records.valid()) {
      const std::string_view key = records.path();
      if (!key.starts_with(prefix)) break;
      const std::string_view rel = key.substr(prefix.size());
      if (!keyLess(rel, false, name, event.below)) break;
      skipUnmatched(records, listing, rel);
    }
    setChildPath(child, listing.path, name);
    const bool atRecord = records.valid() && records.path().starts_with(prefix) &&
                          records.path().substr(prefix.size()) == name && !event.below;
    if (!event.below) {
      if (event.given) {  // reported by whoever took it
        if (atRecord) records.next();
        continue;
      }
      if (!entryFound(listing, event.entry, child, records, atRecord)) {
        return false;
      }
      if (atRecord) records.next();
      continue;
    }
    // What lies below a subdirectory.
    const std::string below = child + "/";
    auto it = listing.pendingFor(event.entry);
    if (event.given || it == pending.end() || it->gone) {
      // Given to the pool (read there), or gone since it was listed (what was below it is not).
      skipBelow(records, below, listing.root, !event.given);
      if (it != pending.end()) pending.erase(it);
      continue;
    }
    WorkItem item = std::move(it->item);
    pending.erase(it);
    if (depth + 1 >= walk::kMaxDepth) {  // deep enough for one walker's open directories: to the pool
      pool_.give(std::move(item));
      skipBelow(records, below, listing.root, false);
      continue;
    }
    if (!walkSubtree(std::move(item), records, depth + 1)) return false;
  }
  // Records after the last event: no entry matched them either.
  while (records.valid() && records.path().starts_with(prefix)) {
    skipUnmatched(records, listing, records.path().substr(prefix.size()));
  }
  return true;
}

bool Scanner::Walker::entryFound(Listing& listing, std::uint32_t index, const std::string& child,
                                 baseline::RecordCursor& records, bool atRecord) {
  const int fd = listing.dir->get();
  const Entry& e = listing.entries[index];
  baseline::RecordCursor* record = atRecord ? &records : nullptr;
  // No record, unless the cursor stopped on an error: then the workers look it up.
  const bool storedKnown = atRecord || records.valid() || records.status().has_value();
  std::vector<Pending>& pending = listing.pending;
  const std::size_t module = s_.roots_[listing.root].module;
  const char* name = child.c_str() + (child.size() - e.nameSize);
  if (e.type == DT_REG && !record && storedKnown) {
    // New to the baseline, so nothing to compare: the worker's open and fstat give the metadata.
    WorkItem item{.path = child, .root = listing.root, .parent = listing.dir};
    item.listedRegular = true;
    item.storedKnown = true;
    return queueForWorkers(std::move(item));
  }
  struct stat st {};
  bool statted = false;
  int statErrno = 0;
  if (e.statAt >= 0) {
    const ListedStat& listed = listing.stats[static_cast<std::size_t>(e.statAt)];
    st = listed.st;
    statted = listed.ok;
    statErrno = listed.error;
  } else {
    statted = ::fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    statErrno = statted ? 0 : errno;
  }
  if (!statted && statErrno == ENOENT) {
    s_.shared_.vanished.add();
    if (record) s_.rootUnmatched_[listing.root] = true;  // its record is for the sweep
    if (e.walk) pending.push_back(Pending{index, {}, true});
    return true;
  }
  if (!e.walk && record && statted) {
    const auto stamp = record->stamp();  // nullopt: a record that cannot be decoded counts as none
    if (stamp && unchanged(*stamp, st, module)) return markUnchanged(child, st, module);
  }
  WorkItem item{.path = child, .root = listing.root, .parent = listing.dir};
  if (statted) item.st = st;
  item.storedKnown = storedKnown;
  if (record) item.stored = record->info();  // changed, or a directory: its whole record goes with it
  if (e.walk) {
    pending.push_back(Pending{index, std::move(item), false});
    return true;
  }
  return queueForWorkers(std::move(item));
}

void Scanner::Walker::skipUnmatched(baseline::RecordCursor& records, const Listing& listing, std::string_view rel) {
  if (rel.empty()) {  // the directory's own record under the prefix "/": not a child
    records.next();
    return;
  }
  s_.rootUnmatched_[listing.root] = true;
  const std::size_t slash = rel.find('/');
  if (slash == std::string_view::npos) {
    records.next();
  } else {
    records.seek(pastSubtree(listing.prefix, rel.substr(0, slash)));
  }
}

void Scanner::Walker::skipBelow(baseline::RecordCursor& records, const std::string& below, std::size_t root, bool unmatched) {
  if (!records.valid() || !records.path().starts_with(below)) return;
  if (unmatched) s_.rootUnmatched_[root] = true;
  records.seek(pastSubtree(std::string_view(below).substr(0, below.size() - 1), ""));
}

void Scanner::Walker::giveAway() {
  for (Listing* listing : frames_) {
    for (std::size_t i = listing->events.size(); i-- > listing->next;) {
      Event& event = listing->events[i];
      if (!event.below || event.given) continue;
      auto& pending = listing->pending;
      auto it = listing->pendingFor(event.entry);
      if (it != pending.end() && it->gone) continue;
      event.given = true;
      if (it != pending.end()) {  // its entry was handled: what it found goes along
        pool_.give(std::move(it->item));
        pending.erase(it);
        return;
      }
      // Its entry is still ahead: skipped here, and reported afresh by whoever takes it.
      for (std::size_t j = listing->next; j < i; ++j) {
        if (listing->events[j].entry == event.entry) listing->events[j].given = true;
      }
      std::string path;
      setChildPath(path, listing->path, listing->name(event));
      WorkItem item{.path = std::move(path), .root = listing->root, .parent = listing->dir};
      item.lookUp = true;
      pool_.give(std::move(item));
      return;
    }
  }
}

}  // namespace fim::watcher
