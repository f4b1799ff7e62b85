#pragma once
// os-release(5) parsing into ECS host.os.*, the way add_host_metadata reads it on Linux.

#include <map>
#include <string>
#include <string_view>

#include "events/metadata.h"

namespace fim::enricher {

// KEY=value pairs of an os-release file: comments and malformed lines skipped, quotes removed
// and shell escapes (\" \\ \$ \`) undone.
std::map<std::string, std::string> parseOsReleaseFields(std::string_view text);

// host.os.* except kernel: type "linux", platform (ID, else the first word of NAME in lower
// case), name, version, family and codename (VERSION_CODENAME, else another *_CODENAME key,
// else the word in parentheses of VERSION, as in "7 (Core)").
events::OsInfo parseOsRelease(std::string_view text);

// "debian", "redhat", "suse", "arch", "alpine", "gentoo" ... from ID, else from the first
// ID_LIKE entry that names a known family; "" when nothing is known.
std::string osFamily(std::string_view id, std::string_view idLike);

}  // namespace fim::enricher
