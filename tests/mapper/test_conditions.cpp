// Conditions, from auditbeat.yml text through the config loader to a compiled check on a document.

#include <doctest/doctest.h>

#include "processor_test_support.h"

using namespace fim;
using namespace fim::testing;

namespace {

// True when `condition` (flow YAML, as written after `when:`) holds for the document.
bool holds(const std::string& condition, const std::string& json = kSampleDocument) {
  const auto config = loadConfig("processors:\n- drop_event:\n    when: " + condition + "\n");
  core::Metrics metrics;
  auto chain = buildChain(config, metrics);
  auto document = parseDocument(json);
  return !chain->apply(*document, 0);  // drop_event drops exactly when the condition holds
}

struct Case {
  const char* condition;
  bool expected;
};

void checkAll(std::initializer_list<Case> cases) {
  for (const auto& c : cases) {
    const std::string condition = c.condition;
    CAPTURE(condition);
    CHECK(holds(c.condition) == c.expected);
  }
}

}  // namespace

TEST_CASE("equals: strings, numbers, booleans, arrays, missing fields") {
  checkAll({
      {"{equals: {file.path: /etc/app.conf}}", true},
      {"{equals: {file.path: /etc/app}}", false},
      {"{equals: {file.size: 27}}", true},
      {"{equals: {file.size: 28}}", false},
      {"{equals: {file.size: '27'}}", false},  // quoted: a string, and file.size is a number
      {"{equals: {file.uid: 0}}", true},       // unquoted: the number, or the string with that text
      {"{equals: {file.uid: '0'}}", true},
      {"{equals: {file.setuid: false}}", true},
      {"{equals: {file.setuid: true}}", false},
      {"{equals: {file.setuid: 'false'}}", false},
      {"{equals: {file.ratio: 0.5}}", true},
      {"{equals: {event.action: updated}}", true},  // any element of an array
      {"{equals: {event.action: attributes_modified}}", true},
      {"{equals: {event.action: deleted}}", false},
      {"{equals: {file.owner: root}}", false},  // missing
      {"{equals: {file.hash: x}}", false},      // an object
      {"{equals: {file.path: /etc/app.conf, file.size: 27}}", true},
      {"{equals: {file.path: /etc/app.conf, file.size: 28}}", false},  // every field must match
      {"{equals: {file: {path: /etc/app.conf}}}", true},                // nested keys are dotted paths
  });
}

TEST_CASE("contains: substrings of strings and of array elements") {
  checkAll({
      {"{contains: {file.path: /etc/}}", true},
      {"{contains: {file.path: /var/}}", false},
      {"{contains: {file.path: APP}}", false},  // case-sensitive
      {"{contains: {event.action: modif}}", true},
      {"{contains: {event.action: delet}}", false},
      {"{contains: {file.size: '2'}}", false},  // numbers are not strings
      {"{contains: {file.owner: x}}", false},
      {"{contains: {file.path: etc, host.name: web}}", true},
      {"{contains: {file.path: etc, host.name: db}}", false},
  });
}

TEST_CASE("regexp: RE2, unanchored unless anchored, arrays match on any element") {
  checkAll({
      {"{regexp: {file.path: '\\.conf$'}}", true},
      {"{regexp: {file.path: 'app'}}", true},  // unanchored: matches inside
      {"{regexp: {file.path: '^app'}}", false},
      {"{regexp: {file.path: '^/etc/'}}", true},
      {"{regexp: {file.path: '^/etc$'}}", false},
      {"{regexp: {file.path: '(?i)APP\\.CONF'}}", true},
      {"{regexp: {file.path: '\\.sw[nop]$'}}", false},
      {"{regexp: {event.action: '^attr'}}", true},
      {"{regexp: {event.action: '^created$'}}", false},
      {"{regexp: {file.size: '27'}}", false},  // numbers are not strings
      {"{regexp: {file.owner: '.*'}}", false},
  });
}

TEST_CASE("range: numeric fields against gt, gte, lt, lte") {
  checkAll({
      {"{range: {file.size.gte: 27}}", true},
      {"{range: {file.size.gt: 27}}", false},
      {"{range: {file.size.lte: 27}}", true},
      {"{range: {file.size.lt: 27}}", false},
      {"{range: {file.size: {gt: 10, lt: 30}}}", true},
      {"{range: {file.size: {gt: 10, lt: 20}}}", false},
      {"{range: {file.ratio.lt: 1}}", true},
      {"{range: {file.size.gte: '27'}}", true},  // a quoted bound is read as a number, as in Beats
      {"{range: {file.ratio.gte: -1.5}}", true},
      {"{range: {file.inode.gt: 1}}", false},  // a numeric string is not a number (as in Beats)
      {"{range: {file.owner.gt: 1}}", false},
      {"{range: {file.size.gt: 1, file.ratio.gt: 1}}", false},  // every field must be in range
      {"{range: {event.action.gt: 1}}", false},
  });
}

TEST_CASE("has_fields: every listed field exists, objects included") {
  checkAll({
      {"{has_fields: [file.path, host.name]}", true},
      {"{has_fields: [file.path, file.owner]}", false},
      {"{has_fields: file.hash}", true},
      {"{has_fields: [file.hash.md5]}", false},
      {"{has_fields: ['@timestamp']}", true},
  });
}

TEST_CASE("network: CIDRs, lists, named ranges, IPv6, arrays of addresses") {
  checkAll({
      {"{network: {source.ip: private}}", true},
      {"{network: {destination.ip: private}}", false},
      {"{network: {destination.ip: public}}", true},
      {"{network: {source.ip: '192.168.0.0/16'}}", true},
      {"{network: {source.ip: '192.168.2.0/24'}}", false},
      {"{network: {source.ip: ['10.0.0.0/8', '192.168.1.0/24']}}", true},
      {"{network: {source.ip: [loopback, '10.0.0.0/8']}}", false},
      {"{network: {host.ip: '2001:db8::/32'}}", true},  // any address of the array
      {"{network: {host.ip: link_local_unicast}}", true},
      {"{network: {host.ip: loopback}}", false},
      {"{network: {file.path: private}}", false},  // not an address
      {"{network: {file.size: private}}", false},
      {"{network: {file.owner: private}}", false},
      {"{network: {source.ip: private, destination.ip: public}}", true},
      {"{network: {source.ip: private, destination.ip: private}}", false},
  });
}

TEST_CASE("network: each named range with IPv4 and IPv6 addresses") {
  struct Row {
    const char* network;
    const char* ip;
    bool expected;
  };
  const Row rows[] = {
      {"loopback", "127.0.0.1", true},   {"loopback", "127.200.0.9", true},  {"loopback", "::1", true},
      {"loopback", "10.0.0.1", false},   {"loopback", "::2", false},
      {"unicast", "8.8.8.8", true},      {"unicast", "10.0.0.1", true},      {"unicast", "2001:db8::1", true},
      {"unicast", "224.0.0.1", false},   {"unicast", "255.255.255.255", false}, {"unicast", "169.254.1.1", false},
      {"unicast", "0.0.0.0", false},     {"global_unicast", "fe80::1", false},
      {"multicast", "224.0.0.251", true}, {"multicast", "239.1.1.1", true},  {"multicast", "ff02::fb", true},
      {"multicast", "10.0.0.1", false},
      {"interface_local_multicast", "ff01::1", true}, {"interface_local_multicast", "ff02::1", false},
      {"interface_local_multicast", "224.0.0.1", false},
      {"link_local_unicast", "169.254.3.4", true}, {"link_local_unicast", "fe80::abcd", true},
      {"link_local_unicast", "febf::1", true},     {"link_local_unicast", "fec0::1", false},
      {"link_local_multicast", "224.0.0.5", true}, {"link_local_multicast", "224.0.1.5", false},
      {"link_local_multicast", "ff02::2", true},   {"link_local_multicast", "ff05::2", false},
      {"private", "10.9.8.7", true},     {"private", "172.16.0.1", true},   {"private", "172.31.255.255", true},
      {"private", "172.32.0.1", false},  {"private", "192.168.0.1", true},  {"private", "192.169.0.1", false},
      {"private", "fd12::1", true},      {"private", "fc00::1", false},     {"private", "8.8.8.8", false},
      {"public", "8.8.8.8", true},       {"public", "2001:4860::8888", true}, {"public", "10.0.0.1", false},
      {"public", "127.0.0.1", false},    {"public", "fe80::1", false},      {"public", "0.0.0.0", false},
      {"public", "255.255.255.255", false}, {"public", "fd00::5", false},   {"public", "ff02::1", false},
      {"unspecified", "0.0.0.0", true},  {"unspecified", "::", true},       {"unspecified", "0.0.0.1", false},
      {"'10.0.0.0/8'", "::ffff:10.1.2.3", true},  // IPv4-mapped IPv6 is the IPv4 address
      {"'10.1.2.3/8'", "10.200.0.1", true},       // host bits in the network are ignored
      {"'2001:db8::/32'", "2001:db9::1", false},
      {"'2001:db8:1::/48'", "2001:db8:1:ffff::1", true},
      {"'::/0'", "10.0.0.1", false},  // an IPv6 network never holds an IPv4 address (Go)
      {"'::/0'", "2001:db8::1", true},
      {"'0.0.0.0/0'", "2001:db8::1", false},
      {"'192.168.1.7/32'", "192.168.1.7", true},
      {"'192.168.1.7/32'", "192.168.1.8", false},
      {"private", "not-an-ip", false},
      {"private", "10.0.0.256", false},
  };
  for (const auto& row : rows) {
    const std::string network = row.network, ip = row.ip;
    CAPTURE(network);
    CAPTURE(ip);
    CHECK(holds(std::string("{network: {ip: ") + row.network + "}}", std::string(R"({"ip":")") + row.ip + "\"}") ==
          row.expected);
  }
}

TEST_CASE("and, or, not, nested") {
  checkAll({
      {"{and: [{equals: {file.type: file}}, {contains: {file.path: etc}}]}", true},
      {"{and: [{equals: {file.type: file}}, {contains: {file.path: var}}]}", false},
      {"{or: [{equals: {file.type: dir}}, {contains: {file.path: etc}}]}", true},
      {"{or: [{equals: {file.type: dir}}, {contains: {file.path: var}}]}", false},
      {"{not: {equals: {file.type: dir}}}", true},
      {"{not: {has_fields: [file.path]}}", false},
      {"{not: {equals: {file.owner: x}}}", true},  // a missing field does not equal anything
      {"{and: [{or: [{equals: {event.action: created}}, {equals: {event.action: updated}}]}, "
       "{not: {regexp: {file.path: '\\.swp$'}}}]}",
       true},
      {"{not: {and: [{network: {source.ip: private}}, {not: {range: {file.size.gt: 100}}}]}}", false},
      {"{or: [{not: {or: [{has_fields: [x]}, {has_fields: [y]}]}}]}", true},
  });
}
