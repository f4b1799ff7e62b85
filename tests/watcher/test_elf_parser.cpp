#include <doctest/doctest.h>

#include "support/skip.h"

#include <elf.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "support/temp_dir.h"
#include "watcher/elf/elf_parser.h"

using namespace fim;
using fim::testing::TempDir;
using watcher::ElfField;
using watcher::ElfFields;

namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

watcher::ElfParse parse(const std::string& path, const ElfFields& want = ElfFields::all()) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  auto out = watcher::parseElf(fd, want);
  ::close(fd);
  return out;
}

bool run(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

std::string output(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, p)) > 0;) out.append(buffer, n);
    ::pclose(p);
  }
  return out;
}

// Compiles a C program with the system's compiler; "" when there is none (or it fails).
std::string compile(const TempDir& dir, const std::string& name, const std::string& flags) {
  const std::string source = dir.write(name + ".c",
                                       "#include <stdio.h>\n#include <stdlib.h>\n"
                                       "int main(int argc, char** argv) {\n"
                                       "  char* p = malloc(argc + 8); p[0] = 'x'; p[1] = 0; puts(p); puts(argv[0]); free(p); return 0;\n"
                                       "}\n");
  const std::string binary = (dir.path() / name).string();
  return run("cc " + flags + " -o " + binary + " " + source) ? binary : "";
}

std::string md5(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  REQUIRE(EVP_Digest(text.data(), text.size(), digest, &length, EVP_md5(), nullptr) == 1);
  std::string hex;
  for (unsigned i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

// The textbook formulas, summed in another order than the parser's: H = -sum(p log2 p) and
// var(H) = (sum(p log2² p) - H²) / n.
std::pair<double, double> textbookEntropy(std::string_view bytes) {
  if (bytes.empty()) return {0, 0};
  double counts[256] = {};
  for (unsigned char c : bytes) ++counts[c];
  double h = 0, h2 = 0;
  for (double c : counts) {
    if (c == 0) continue;
    const double p = c / static_cast<double>(bytes.size());
    h -= p * std::log2(p);
    h2 += p * std::log2(p) * std::log2(p);
  }
  return {h, (h2 - h * h) / static_cast<double>(bytes.size())};
}

// The section headers as <elf.h> lays them out (64-bit little-endian only): the oracle the
// parser's output is checked against.
struct RawSection {
  std::string name;
  Elf64_Shdr header;
};

std::vector<RawSection> rawSections(const std::string& image) {
  Elf64_Ehdr eh;
  std::memcpy(&eh, image.data(), sizeof eh);
  std::vector<RawSection> out(eh.e_shnum);
  for (std::size_t i = 0; i < out.size(); ++i) std::memcpy(&out[i].header, image.data() + eh.e_shoff + i * sizeof(Elf64_Shdr), sizeof(Elf64_Shdr));
  const Elf64_Shdr& names = out[eh.e_shstrndx].header;
  for (auto& s : out) s.name = std::string(image.data() + names.sh_offset + s.header.sh_name);
  return out;
}

// The undefined global dynamic symbols in table order, as readelf lists them ("name@version").
std::vector<std::string> readelfImports(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream lines(output("readelf -W --dyn-syms " + path));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::vector<std::string> f{std::istream_iterator<std::string>(fields), {}};
    if (f.size() >= 8 && f[4] == "GLOBAL" && f[6] == "UND") out.push_back(f[7]);
  }
  return out;
}

}  // namespace

TEST_CASE("file_parsers on a compiled executable: every section, its sizes and entropy, the imports and their hash") {
  TempDir dir;
  const std::string binary = compile(dir, "hello", "-O1");
  if (binary.empty()) FIM_SKIP("no C compiler (cc) to build an ELF file with");
  if (!run("command -v readelf")) FIM_SKIP("no readelf to check the imports with");
  const auto parsed = parse(binary);
  REQUIRE_MESSAGE(!parsed.error, parsed.error.value_or(""));
  REQUIRE(parsed.info);
  const events::ElfInfo& elf = *parsed.info;

  const std::string image = readFile(binary);
  const auto raw = rawSections(image);
  REQUIRE(elf.sections);
  REQUIRE(elf.sections->size() == raw.size());
  CHECK(elf.sections->front() == events::ElfSection{"", 0, 0, 0.0, 0.0});  // the null section, as Auditbeat lists it
  for (std::size_t i = 0; i < raw.size(); ++i) {
    CAPTURE(raw[i].name);
    const events::ElfSection& s = (*elf.sections)[i];
    const bool nobits = raw[i].header.sh_type == SHT_NOBITS;
    CHECK(s.name == raw[i].name);
    CHECK(s.virtualSize == raw[i].header.sh_size);
    CHECK(s.physicalSize == (nobits ? 0 : raw[i].header.sh_size));
    const auto [h, variance] = nobits ? std::pair<double, double>{0, 0}
                                      : textbookEntropy(std::string_view(image).substr(raw[i].header.sh_offset, raw[i].header.sh_size));
    CHECK(*s.entropy == doctest::Approx(h).epsilon(1e-12));
    CHECK(*s.varEntropy == doctest::Approx(variance).epsilon(1e-9));
  }
  CHECK(std::any_of(elf.sections->begin(), elf.sections->end(), [](const auto& s) { return s.name == ".bss"; }));

  std::vector<std::string> expected;
  for (const auto& symbol : readelfImports(binary)) {
    const auto at = symbol.find('@');
    const std::string library = at != std::string::npos && symbol.compare(at + 1, 6, "GLIBC_") == 0 ? "libc.so.6" : "";
    expected.push_back(library + "." + symbol.substr(0, at));
  }
  REQUIRE(elf.imports);
  CHECK(*elf.imports == expected);
  for (const char* name : {"libc.so.6.puts", "libc.so.6.malloc", "libc.so.6.free"}) {
    CHECK(std::find(elf.imports->begin(), elf.imports->end(), name) != elf.imports->end());
  }
  std::string joined;
  for (const auto& i : expected) joined += (joined.empty() ? "" : ",") + i;
  CHECK(elf.importHash == md5(joined));
  std::string allNames;
  for (const auto& i : expected) allNames += i;
  CHECK(*elf.importsNamesEntropy == doctest::Approx(textbookEntropy(allNames).first).epsilon(1e-12));
  CHECK(*elf.importsNamesVarEntropy == doctest::Approx(textbookEntropy(allNames).second).epsilon(1e-9));

  // Not a Go binary: with a Go list asked for, Auditbeat adds no go_* field at all.
  CHECK_FALSE(elf.goImportHash);
  CHECK_FALSE(elf.goImports);
  CHECK_FALSE(elf.goStripped);
  ElfFields onlyStripped;
  onlyStripped.add(ElfField::GoStripped);
  CHECK(parse(binary, onlyStripped).info->goStripped == false);
}

TEST_CASE("file_parsers: only the fields file_parsers names are set") {
  TempDir dir;
  const std::string binary = compile(dir, "hello", "-O1");
  if (binary.empty()) FIM_SKIP("no C compiler (cc) to build an ELF file with");
  const auto parsed = parse(binary, ElfFields::fromNames({"file.elf.sections.name", "file.elf.import_hash", "file.pe.imphash"}));
  REQUIRE(parsed.info);
  REQUIRE(parsed.info->sections);
  for (const auto& s : *parsed.info->sections) CHECK(s == events::ElfSection{s.name, {}, {}, {}, {}});
  CHECK(parsed.info->importHash);
  CHECK_FALSE(parsed.info->imports);
  CHECK_FALSE(parsed.info->importsNamesEntropy);
  // file.elf.sections asks for every field of every section.
  const auto all = parse(binary, ElfFields::fromNames({"file.elf.sections"}));
  for (const auto& s : *all.info->sections) CHECK((s.name && s.physicalSize && s.virtualSize && s.entropy && s.varEntropy));
  CHECK_FALSE(all.info->importHash);
  CHECK_FALSE(parse(binary, ElfFields{}).info);  // nothing asked: not even opened
}

TEST_CASE("file_parsers: a static executable imports nothing and has the MD5 of nothing as import hash") {
  TempDir dir;
  const std::string binary = compile(dir, "static", "-O1 -static");
  if (binary.empty()) FIM_SKIP("no static C library to link a static executable with");
  const auto parsed = parse(binary);
  REQUIRE_MESSAGE(!parsed.error, parsed.error.value_or(""));
  CHECK(parsed.info->importHash == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK_FALSE(parsed.info->imports);
  CHECK_FALSE(parsed.info->importsNamesEntropy);
}

TEST_CASE("file_parsers: a system binary is read without error (read-only, never run)") {
  for (const char* path : {"/bin/ls", "/usr/bin/env"}) {
    CAPTURE(path);
    if (!std::filesystem::exists(path)) continue;
    const auto parsed = parse(path);
    CHECK_MESSAGE(!parsed.error, parsed.error.value_or(""));
    REQUIRE(parsed.info);
    CHECK(parsed.info->sections->size() > 10);
    REQUIRE(parsed.info->imports);
    CHECK(std::any_of(parsed.info->imports->begin(), parsed.info->imports->end(),
                      [](const std::string& i) { return i.starts_with("libc.so.6."); }));
  }
}

TEST_CASE("file_parsers: files that are not ELF give no field and no error") {
  TempDir dir;
  for (const std::string& content : {std::string(), std::string("\x7f" "EL"), std::string("#!/bin/sh\necho hi\n"),
                                     std::string("MZ\x90\x00", 4), std::string("\xfe\xed\xfa\xcf", 4)}) {
    CAPTURE(content);
    const auto parsed = parse(dir.write("f", content));
    CHECK_FALSE(parsed.info);
    CHECK_FALSE(parsed.error);
  }
}

TEST_CASE("file_parsers: a truncated or damaged ELF file is an error, never a crash") {
  TempDir dir;
  const std::string binary = compile(dir, "hello", "-O1");
  if (binary.empty()) FIM_SKIP("no C compiler (cc) to build an ELF file with");
  const std::string image = readFile(binary);
  for (std::size_t cut : {std::size_t{4}, std::size_t{16}, std::size_t{63}, std::size_t{64}, std::size_t{500}, image.size() / 2,
                          image.size() - 1}) {
    CAPTURE(cut);
    const auto parsed = parse(dir.write("cut", image.substr(0, cut)));
    CHECK(parsed.error);  // the section header table is at the end
  }
  Elf64_Ehdr eh;
  std::memcpy(&eh, image.data(), sizeof eh);
  const auto damaged = [&](auto change) {
    std::string copy = image;
    change(copy);
    return parse(dir.write("damaged", copy));
  };
  // A section name table index past the table, and names pointing outside the name table.
  CHECK(damaged([&](std::string& c) { reinterpret_cast<Elf64_Ehdr*>(c.data())->e_shstrndx = 999; }).error);
  CHECK(damaged([&](std::string& c) {
          for (int i = 1; i < eh.e_shnum; ++i) reinterpret_cast<Elf64_Shdr*>(c.data() + eh.e_shoff)[i].sh_name = 0x7fffff00;
        }).error);
  // A dynamic symbol table of a size no multiple of a symbol's: the sections are still reported.
  const auto raw = rawSections(image);
  const auto dynsym = std::find_if(raw.begin(), raw.end(), [](const RawSection& s) { return s.header.sh_type == SHT_DYNSYM; });
  REQUIRE(dynsym != raw.end());
  const auto odd = damaged([&](std::string& c) {
    reinterpret_cast<Elf64_Shdr*>(c.data() + eh.e_shoff)[dynsym - raw.begin()].sh_size -= 1;
  });
  REQUIRE(odd.error);
  CHECK(odd.error->find("multiple") != std::string::npos);
  REQUIRE(odd.info);
  CHECK(odd.info->sections);
  CHECK_FALSE(odd.info->importHash);
  // Section contents past the end of the file count as absent, as Go reads them.
  const auto comment = std::find_if(raw.begin(), raw.end(), [](const RawSection& s) { return s.name == ".comment"; });
  REQUIRE(comment != raw.end());
  const auto past = damaged([&](std::string& c) {
    reinterpret_cast<Elf64_Shdr*>(c.data() + eh.e_shoff)[comment - raw.begin()].sh_offset = c.size() + 4096;
  });
  CHECK_FALSE(past.error);
  CHECK((*past.info->sections)[comment - raw.begin()].entropy == 0.0);
}

TEST_CASE("file_parsers: compressed debug sections are measured uncompressed, as objcopy decompresses them") {
  TempDir dir;
  const std::string binary = compile(dir, "debug", "-O1 -g -gz=zlib");
  if (binary.empty()) FIM_SKIP("the C compiler cannot write compressed debug sections");
  const std::string plain = (dir.path() / "plain").string();
  if (!run("objcopy --decompress-debug-sections " + binary + " " + plain)) FIM_SKIP("no objcopy to decompress with");
  const auto compressed = parse(binary), decompressed = parse(plain);
  REQUIRE_MESSAGE(!compressed.error, compressed.error.value_or(""));
  REQUIRE_MESSAGE(!decompressed.error, decompressed.error.value_or(""));
  const auto raw = rawSections(readFile(binary));
  int checked = 0;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (!(raw[i].header.sh_flags & SHF_COMPRESSED)) continue;
    CAPTURE(raw[i].name);
    const auto& c = (*compressed.info->sections)[i];
    const auto it = std::find_if(decompressed.info->sections->begin(), decompressed.info->sections->end(),
                                 [&](const events::ElfSection& s) { return s.name == c.name; });
    REQUIRE(it != decompressed.info->sections->end());
    CHECK(c.physicalSize == raw[i].header.sh_size);
    CHECK(c.virtualSize == it->virtualSize);
    CHECK(c.virtualSize > c.physicalSize);
    CHECK(*c.entropy == doctest::Approx(*it->entropy).epsilon(1e-12));
    CHECK(*c.varEntropy == doctest::Approx(*it->varEntropy).epsilon(1e-12));
    ++checked;
  }
  CHECK(checked > 0);
}
