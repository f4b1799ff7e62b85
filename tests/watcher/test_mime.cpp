// MIME types: the signature sniff names what it decides exactly as libmagic does (checked against
// the real libmagic, on made-up heads and on the heads of this machine's own files), and leaves
// text to libmagic.

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "support/temp_dir.h"
#include "watcher/mime_detector.h"
#include "watcher/mime_sniffer.h"

using namespace fim;
using namespace std::string_literals;

namespace {

std::string elfHead(char bits, char endian, std::uint16_t type) {
  std::string head("\x7f" "ELF", 4);
  head += bits;
  head += endian;
  head += '\x01';
  head.resize(16, '\0');
  const char lo = static_cast<char>(type & 0xff), hi = static_cast<char>(type >> 8);
  head += endian == 2 ? std::string{hi, lo} : std::string{lo, hi};
  head += endian == 2 ? "\0\x3e"s : "\x3e\0"s;
  head.resize(128, '\0');
  return head;
}

std::string headOf(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(watcher::MimeDetector::kHeadSize, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return head;
}

}  // namespace

TEST_CASE("mime sniff: each signature it decides is named as libmagic names it") {
  watcher::MimeDetector magic;
  const std::string pad(300, 'x');
  std::string tar(512, '\0');
  tar.replace(0, 5, "a.txt");
  tar.replace(257, 5, "ustar");
  const std::map<std::string, std::string> heads{
      {"empty", ""},
      {"gzip", "\x1f\x8b\x08\0\0\0\0\0\0\x03"s + pad},
      {"bzip2", "BZh91AY&SY"s + pad},
      {"xz", "\xfd" "7zXZ\0\0\x04\xe6\xd6\xb4\x46"s + pad},
      {"zstd", "\x28\xb5\x2f\xfd\x24\0"s + pad},
      {"7z", "7z\xbc\xaf\x27\x1c\0\x04"s + pad},
      {"png", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0"s + pad},
      {"jpeg", "\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01"s + pad},
      {"gif", "GIF89a"s + pad},
      {"pdf", "%PDF-1.4\n"s + pad},
      {"deb", "!<arch>\ndebian-binary   1342288000  0     0     100644  4         `\n2.0\n"s},
      {"ar", "!<arch>\nlibfoo.o/        "s + pad},
      {"elf relocatable", elfHead(2, 1, 1)},
      {"elf executable", elfHead(2, 1, 2)},
      {"elf shared object", elfHead(2, 1, 3)},
      {"elf core", elfHead(2, 1, 4)},
      {"elf32 executable", elfHead(1, 1, 2)},
      {"big-endian elf executable", elfHead(2, 2, 2)},
      {"python 3.11 bytecode", "\xa7\x0d\x0d\x0a\0\0\0\0"s + std::string(64, '\0')},
      {"zeros", std::string(300, '\0')},
      {"one byte", "a"},
      {"tar", tar},
  };
  for (const auto& [name, head] : heads) {
    CAPTURE(name);
    const auto libmagic = magic.libmagic(head);
    REQUIRE(libmagic.has_value());
    const auto sniffed = watcher::sniffMimeType(head);
    if (sniffed) CHECK(std::string(*sniffed) == *libmagic);
    CHECK(magic.detect(head) == libmagic);
  }
  // Formats libmagic reads beyond a signature, and text of every kind, are libmagic's to name.
  for (const std::string& head : {"PK\x03\x04\x14\0\0\0"s + pad, "MZ\x90\0"s + pad, "#!/bin/sh\necho hi\n"s,
                                  "hello world\n"s, "<?xml version=\"1.0\"?>\n<a/>\n"s, "\xff\xfeh\0i\0"s}) {
    CHECK_FALSE(watcher::sniffMimeType(head).has_value());
  }
}

TEST_CASE("mime sniff: on the heads of this machine's files it agrees with libmagic wherever it decides") {
  watcher::MimeDetector magic;
  std::size_t decided = 0, agreed = 0, left = 0;
  std::map<std::string, std::string> disagreements;  // path → what each said
  for (const char* top : {"/usr/bin", "/usr/sbin", "/usr/lib/x86_64-linux-gnu", "/usr/lib/python3", "/etc", "/usr/share/doc"}) {
    std::error_code ec;
    std::size_t taken = 0;
    for (auto it = std::filesystem::recursive_directory_iterator(top, std::filesystem::directory_options::skip_permission_denied, ec);
         !ec && it != std::filesystem::recursive_directory_iterator() && taken < 1500; it.increment(ec)) {
      if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
      ++taken;
      const std::string head = headOf(it->path());
      const auto sniffed = watcher::sniffMimeType(head);
      if (!sniffed) {
        ++left;
        continue;
      }
      ++decided;
      const auto libmagic = magic.libmagic(head);
      if (libmagic && *libmagic == *sniffed) {
        ++agreed;
      } else if (disagreements.size() < 20) {
        disagreements[it->path().string()] = std::string(*sniffed) + " vs libmagic " + libmagic.value_or("(none)");
      }
    }
  }
  MESSAGE(decided << " heads decided by their signature, " << left << " left to libmagic, " << agreed << " agreed");
  for (const auto& [path, what] : disagreements) MESSAGE(path << ": " << what);
  REQUIRE(decided > 100);
  CHECK(static_cast<double>(agreed) >= 0.995 * static_cast<double>(decided));
}

TEST_CASE("mime detector: text goes to libmagic, loaded on first use, without its database binary types still come") {
  watcher::MimeDetector mime;
  CHECK(mime.detect("hello world\n") == std::optional<std::string>("text/plain"));
  const std::string text(3 * watcher::MimeDetector::kHeadSize, 'a');
  CHECK(mime.detect(text) == std::optional<std::string>("text/plain"));  // cut to the head

  const char* old = std::getenv("MAGIC");
  const std::optional<std::string> saved = old ? std::optional<std::string>(old) : std::nullopt;
  testing::TempDir dir;
  REQUIRE(::setenv("MAGIC", (dir.str() + "/no-such-magic.mgc").c_str(), 1) == 0);
  watcher::MimeDetector without;
  CHECK_FALSE(without.detect("hello world\n").has_value());
  if (saved) ::setenv("MAGIC", saved->c_str(), 1);
  else ::unsetenv("MAGIC");
  CHECK(without.detect("\x1f\x8b\x08\0"s + std::string(64, '\0')) == std::optional<std::string>("application/gzip"));
}
