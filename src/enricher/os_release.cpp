#include "enricher/os_release.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace fim::enricher {
namespace {

// Distribution ID → family; the families add_host_metadata reports, plus a few IDs it misses.
constexpr std::array<std::pair<std::string_view, std::string_view>, 27> kFamilies{{
    {"debian", "debian"},       {"ubuntu", "debian"},      {"raspbian", "debian"},   {"linuxmint", "debian"},
    {"pop", "debian"},          {"kali", "debian"},        {"redhat", "redhat"},     {"rhel", "redhat"},
    {"fedora", "redhat"},       {"centos", "redhat"},      {"scientific", "redhat"}, {"oraclelinux", "redhat"},
    {"ol", "redhat"},           {"amzn", "redhat"},        {"almalinux", "redhat"},  {"rocky", "redhat"},
    {"openeuler", "redhat"},    {"suse", "suse"},          {"sles", "suse"},         {"opensuse", "suse"},
    {"opensuse-leap", "suse"},  {"opensuse-tumbleweed", "suse"}, {"arch", "arch"},   {"manjaro", "arch"},
    {"antergos", "arch"},       {"alpine", "alpine"},      {"gentoo", "gentoo"},
}};

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// A shell-style value: "double quoted" with \-escapes, 'single quoted' literally, or bare.
std::string unquote(std::string_view value) {
  if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
    return std::string(value.substr(1, value.size() - 2));
  }
  if (value.size() < 2 || value.front() != '"' || value.back() != '"') return std::string(value);
  value = value.substr(1, value.size() - 2);
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size() && std::string_view("\"\\$`").find(value[i + 1]) != std::string_view::npos) {
      ++i;
    }
    out.push_back(value[i]);
  }
  return out;
}

std::string familyOf(std::string_view id) {
  const std::string key = lower(id);
  for (const auto& [name, family] : kFamilies) {
    if (name == key) return std::string(family);
  }
  return {};
}

}  // namespace

std::map<std::string, std::string> parseOsReleaseFields(std::string_view text) {
  std::map<std::string, std::string> fields;
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = trim(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.empty() || line.front() == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    const std::string_view key = trim(line.substr(0, eq));
    if (key.find_first_of(" \t") != std::string_view::npos) continue;
    fields[std::string(key)] = std::string(trim(unquote(trim(line.substr(eq + 1)))));
  }
  return fields;
}

std::string osFamily(std::string_view id, std::string_view idLike) {
  if (auto family = familyOf(id); !family.empty()) return family;
  while (!idLike.empty()) {
    const auto space = idLike.find(' ');
    if (auto family = familyOf(idLike.substr(0, space)); !family.empty()) return family;
    idLike = space == std::string_view::npos ? std::string_view() : idLike.substr(space + 1);
  }
  return {};
}

events::OsInfo parseOsRelease(std::string_view text) {
  auto fields = parseOsReleaseFields(text);
  events::OsInfo os;
  os.type = "linux";
  os.platform = fields["ID"];
  os.name = fields["NAME"];
  os.version = fields["VERSION"];
  if (os.platform.empty() && !os.name.empty()) os.platform = lower(os.name.substr(0, os.name.find(' ')));
  os.codename = fields["VERSION_CODENAME"];
  for (auto it = fields.begin(); os.codename.empty() && it != fields.end(); ++it) {
    if (it->first.ends_with("_CODENAME")) os.codename = it->second;
  }
  if (os.codename.empty()) {  // VERSION="7 (Core)"
    const auto open = os.version.find('(');
    const auto close = os.version.find(')', open);
    if (open != std::string::npos && close != std::string::npos) os.codename = os.version.substr(open + 1, close - open - 1);
  }
  os.family = osFamily(os.platform, fields["ID_LIKE"]);
  return os;
}

}  // namespace fim::enricher
