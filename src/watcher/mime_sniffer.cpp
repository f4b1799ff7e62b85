#include "watcher/mime_sniffer.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace fim::watcher {
namespace {

using namespace std::string_view_literals;

struct Signature {
  std::size_t offset;
  std::string_view bytes;
  std::string_view type;  // empty: libmagic decides
};

// Checked in order; the first whose bytes are at its offset decides. The types are libmagic's
// (file 5.44) for the same first bytes.
constexpr std::array kSignatures{
    Signature{0, "\x1f\x8b"sv, "application/gzip"},
    Signature{0, "BZh"sv, "application/x-bzip2"},
    Signature{0, "\xfd" "7zXZ\0"sv, "application/x-xz"},
    Signature{0, "\x28\xb5\x2f\xfd"sv, "application/zstd"},
    Signature{0, "7z\xbc\xaf\x27\x1c"sv, "application/x-7z-compressed"},
    Signature{0, "\x89PNG\r\n\x1a\n"sv, "image/png"},
    Signature{0, "\xff\xd8\xff"sv, "image/jpeg"},
    Signature{0, "GIF87a"sv, "image/gif"},
    Signature{0, "GIF89a"sv, "image/gif"},
    Signature{0, "%PDF-"sv, "application/pdf"},
    Signature{0, "!<arch>\ndebian-binary"sv, "application/vnd.debian.binary-package"},
    Signature{0, "!<arch>\n"sv, "application/x-archive"},
    // Formats whose type libmagic reads from more than these bytes (members, headers, checksums).
    Signature{0, "PK\x03\x04"sv, ""},          // zip, jar, docx, odt, apk...
    Signature{0, "MZ"sv, ""},                  // DOS and PE executables
    Signature{0, "\xca\xfe\xba\xbe"sv, ""},    // Java class, Mach-O universal
    Signature{0, "\xfe\xed\xfa"sv, ""},        // Mach-O
    Signature{0, "\xcf\xfa\xed\xfe"sv, ""},
    Signature{0, "\xce\xfa\xed\xfe"sv, ""},
    Signature{0, "JM\x01\x00"sv, ""},          // Java module
    Signature{0, "SQLite format 3\0"sv, ""},
    Signature{257, "ustar"sv, ""},             // tar
    Signature{0, "\xd0\xcf\x11\xe0"sv, ""},    // OLE: msi, doc, xls
    Signature{0, "\xed\xab\xee\xdb"sv, ""},    // rpm
    Signature{0, "RIFF"sv, ""},                // wav, avi, webp
    Signature{4, "ftyp"sv, ""},                // mp4, mov, heic
    Signature{0, "\x1a\x45\xdf\xa3"sv, ""},    // matroska, webm
    Signature{0, "OggS"sv, ""},
    Signature{0, "fLaC"sv, ""},
    Signature{0, "ID3"sv, ""},
    Signature{0, "\x00\x01\x00\x00"sv, ""},    // TrueType fonts
    Signature{0, "OTTO"sv, ""},
    Signature{0, "wOFF"sv, ""},
    Signature{0, "wOF2"sv, ""},
    Signature{0, "\x00\x00\x01\x00"sv, ""},    // icons
    Signature{0, "II*\0"sv, ""},               // TIFF
    Signature{0, "MM\0*"sv, ""},
    Signature{0, "BM"sv, ""},                  // bitmaps
    Signature{0, "Rar!"sv, ""},
    Signature{0, "\x04\x22\x4d\x18"sv, ""},    // lz4
    Signature{0, "\x1f\x9d"sv, ""},            // compress
    Signature{0, "hsqs"sv, ""},                // squashfs
    Signature{0, "\x89HDF"sv, ""},
    Signature{0, "\xfe\xed\xfe\xed"sv, ""},    // Java keystore
    Signature{0, "\xff\xfe"sv, ""},            // byte order marks: text in UTF-16/32
    Signature{0, "\xfe\xff"sv, ""},
    Signature{0, "\0\0\xfe\xff"sv, ""},
};

std::uint16_t u16(std::string_view s, std::size_t at, bool bigEndian) {
  const auto b0 = static_cast<unsigned char>(s[at]), b1 = static_cast<unsigned char>(s[at + 1]);
  return static_cast<std::uint16_t>(bigEndian ? (b0 << 8) | b1 : (b1 << 8) | b0);
}

// ELF by its e_type, as libmagic names it from the first bytes (a shared object and a PIE
// executable look alike there: both "x-sharedlib").
std::optional<std::string_view> elf(std::string_view head) {
  if (head.size() < 18 || !head.starts_with("\x7f" "ELF")) return std::nullopt;
  const bool bigEndian = head[5] == 2;
  switch (u16(head, 16, bigEndian)) {
    case 1: return "application/x-object";
    case 2: return "application/x-executable";
    case 3: return "application/x-sharedlib";
    case 4: return "application/x-coredump";
    default: return std::nullopt;
  }
}

// An OpenPGP public key packet (a binary keyring): its tag, its length (one or two bytes), then a
// key version of 3 to 5.
bool pgpKeyPacket(std::string_view head) {
  if (head.size() < 4) return false;
  const auto tag = static_cast<unsigned char>(head[0]);
  const auto at = [&](std::size_t i) { return static_cast<unsigned char>(head[i]); };
  const auto version = [](unsigned char v) { return v >= 3 && v <= 5; };
  if (tag == 0x98) return version(at(2));
  if (tag == 0x99) return version(at(3));
  if (tag == 0xc6) return at(1) < 192 ? version(at(2)) : version(at(3));
  return false;
}

// Compiled Python: a 16-bit magic number of a Python 3 release, then "\r\n".
bool pythonBytecode(std::string_view head) {
  if (head.size() < 16 || head.substr(2, 2) != "\r\n") return false;
  const std::uint16_t magic = u16(head, 0, false);
  return magic >= 3000 && magic < 4000;
}

}  // namespace

std::optional<std::string_view> sniffMimeType(std::string_view head) {
  if (head.empty()) return "application/x-empty";
  if (head.size() == 1) return "application/octet-stream";  // libmagic: "very short file (no magic)"
  if (auto type = elf(head)) return type;
  if (head.starts_with("\x7f" "ELF")) return std::nullopt;
  for (const auto& s : kSignatures) {
    if (head.size() >= s.offset + s.bytes.size() && head.substr(s.offset, s.bytes.size()) == s.bytes) {
      if (s.type.empty()) return std::nullopt;
      return s.type;
    }
  }
  if (pythonBytecode(head)) return "application/x-bytecode.python";
  if (pgpKeyPacket(head)) return std::nullopt;  // libmagic reads the packet further
  // Text in any 8-bit encoding libmagic knows never holds these control characters (its
  // encoding.c calls them "not text"); UTF-16 and UTF-32 were left to libmagic above by their
  // byte order mark. Anything else may be text: libmagic tells which.
  const bool binary = std::any_of(head.begin(), head.end(), [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return b <= 0x06 || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f);
  });
  return binary ? std::optional<std::string_view>("application/octet-stream") : std::nullopt;
}

}  // namespace fim::watcher
