#include "enricher/os_release.h"

#include <string>

#include <doctest/doctest.h>

namespace fim::enricher {
namespace {

struct OsCase {
  const char* name;
  const char* text;
  events::OsInfo expected;
};

const OsCase kCases[] = {
    {"debian 12",
     "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n"
     "VERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\nHOME_URL=\"https://www.debian.org/\"\n",
     {"linux", "debian", "Debian GNU/Linux", "12 (bookworm)", "debian", "", "bookworm"}},
    {"ubuntu 22.04",
     "PRETTY_NAME=\"Ubuntu 22.04.3 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nVERSION=\"22.04.3 LTS (Jammy Jellyfish)\"\n"
     "VERSION_CODENAME=jammy\nID=ubuntu\nID_LIKE=debian\nUBUNTU_CODENAME=jammy\n",
     {"linux", "ubuntu", "Ubuntu", "22.04.3 LTS (Jammy Jellyfish)", "debian", "", "jammy"}},
    {"rhel 9",
     "NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"9.2 (Plow)\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.2\"\n"
     "PLATFORM_ID=\"platform:el9\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 9.2 (Plow)\"\n",
     {"linux", "rhel", "Red Hat Enterprise Linux", "9.2 (Plow)", "redhat", "", "Plow"}},
    {"centos 7: codename only in VERSION",
     "NAME=\"CentOS Linux\"\nVERSION=\"7 (Core)\"\nID=\"centos\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"7\"\n",
     {"linux", "centos", "CentOS Linux", "7 (Core)", "redhat", "", "Core"}},
    {"alpine: no VERSION",
     "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.18.4\nPRETTY_NAME=\"Alpine Linux v3.18\"\n",
     {"linux", "alpine", "Alpine Linux", "", "alpine", "", ""}},
    {"opensuse leap",
     "NAME=\"openSUSE Leap\"\nVERSION=\"15.5\"\nID=\"opensuse-leap\"\nID_LIKE=\"suse opensuse\"\n",
     {"linux", "opensuse-leap", "openSUSE Leap", "15.5", "suse", "", ""}},
    {"unknown ID, family from the second ID_LIKE entry",
     "NAME=\"Acme OS\"\nID=acme\nID_LIKE=\"acmebase rhel fedora\"\nVERSION=\"3\"\n",
     {"linux", "acme", "Acme OS", "3", "redhat", "", ""}},
    {"unknown family stays empty", "NAME=\"NixOS\"\nID=nixos\nVERSION=\"23.05 (Stoat)\"\n",
     {"linux", "nixos", "NixOS", "23.05 (Stoat)", "", "", "Stoat"}},
    {"missing ID: platform from the first word of NAME", "NAME=\"Clear Linux OS\"\n",
     {"linux", "clear", "Clear Linux OS", "", "", "", ""}},
    {"empty file", "", {"linux", "", "", "", "", "", ""}},
    {"comments, blanks, malformed lines, single quotes and escapes",
     "# a comment\n\n   \nthis line has no equals\n=novalue\nNAME='Quoted OS'\n  ID = gentoo  \n"
     "VERSION=\"1 \\\"beta\\\" \\$HOME\"\n",
     {"linux", "gentoo", "Quoted OS", "1 \"beta\" $HOME", "gentoo", "", ""}},
    {"CRLF line ends", "NAME=\"Debian GNU/Linux\"\r\nID=debian\r\nVERSION_CODENAME=bookworm\r\n",
     {"linux", "debian", "Debian GNU/Linux", "", "debian", "", "bookworm"}},
};

TEST_CASE("os-release: table of distributions and malformed files") {
  for (const auto& c : kCases) {
    CAPTURE(c.name);
    const auto os = parseOsRelease(c.text);
    CHECK(os.type == c.expected.type);
    CHECK(os.platform == c.expected.platform);
    CHECK(os.name == c.expected.name);
    CHECK(os.version == c.expected.version);
    CHECK(os.family == c.expected.family);
    CHECK(os.codename == c.expected.codename);
    CHECK(os.kernel.empty());  // uname's, never the file's
  }
}

TEST_CASE("os-release: fields keep the last of a repeated key, and keys are exact") {
  const auto fields = parseOsReleaseFields("ID=one\nID=two\nid=lower\n");
  CHECK(fields.at("ID") == "two");
  CHECK(fields.at("id") == "lower");
  CHECK(fields.size() == 2);
}

TEST_CASE("os-release: family from ID wins over ID_LIKE, case-insensitively") {
  CHECK(osFamily("Ubuntu", "") == "debian");
  CHECK(osFamily("amzn", "centos rhel fedora") == "redhat");
  CHECK(osFamily("manjaro", "arch") == "arch");
  CHECK(osFamily("custom", "debian") == "debian");
  CHECK(osFamily("custom", "") == "");
  CHECK(osFamily("", "unknown1 unknown2") == "");
}

}  // namespace
}  // namespace fim::enricher
