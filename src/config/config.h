#pragma once
// Config: the validated, typed settings of every stage. Immutable once loaded.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/kibana_config.h"
#include "config/node.h"
#include "config/output_config.h"
#include "config/processors_config.h"
#include "config/units.h"

namespace fim::config {

struct PathsConfig {
  std::string home;
  std::string config;
  std::string data;
  std::string logs;
};

struct LoggingConfig {
  std::string level = "info";
  std::vector<std::string> selectors;
  bool toStderr = false;
  bool toFiles = true;
  std::string filesPath;  // defaults to path.logs
  std::string filesName = "fimbeat";
  std::uint64_t rotateEveryBytes = 10 * 1024 * 1024;
  int keepFiles = 7;
  unsigned permissions = 0600;
  bool metricsEnabled = true;                       // logging.metrics.enabled: the periodic metrics line
  Duration metricsPeriod = std::chrono::seconds(30);  // logging.metrics.period
};

// http.*: the monitoring endpoint, off by default as in Beats.
struct HttpConfig {
  bool enabled = false;
  std::string host = "localhost";  // a host name or address, or unix:///path for a unix socket
  int port = 5066;                 // 0: an ephemeral port, logged when bound
};

// The 16 hash names Auditbeat's file_integrity module accepts, in its documented order.
const std::vector<std::string>& validHashTypes();

// The field names Auditbeat's file_parsers option accepts (file.elf.*, file.macho.*, file.pe.*).
const std::vector<std::string>& fileParserFields();

// diff.*: the content diffs of small text files (fimbeat's own; docs/diffs.md).
struct DiffConfig {
  bool enabled = false;
  std::uint64_t maxFileSize = 64 * 1024;        // larger files are neither stored nor diffed
  std::uint64_t maxStorage = 100ull * 1024 * 1024;  // all stored copies together; the oldest go first
  std::uint64_t maxDiffSize = 16 * 1024;          // file_integrity.diff is cut there, with a marker
  std::vector<std::string> excludeFiles = defaultExcludes();  // RE2 on the path: never stored
  std::vector<std::string> redact = defaultRedactions();      // RE2 on each line: replaced by [REDACTED]

  static std::vector<std::string> defaultExcludes();
  static std::vector<std::string> defaultRedactions();
};

// One `- module: file_integrity` entry, with Auditbeat's option names and defaults.
struct ModuleConfig {
  std::string id;
  bool enabled = true;
  std::vector<std::string> paths;
  bool recursive = false;
  std::vector<std::string> excludeFiles;  // RE2 patterns, already checked to compile
  std::vector<std::string> includeFiles;
  bool scanAtStart = true;
  std::uint64_t scanRatePerSec = 50ull * 1024 * 1024;
  std::uint64_t maxFileSize = 100ull * 1024 * 1024;
  std::vector<std::string> hashTypes{"sha1"};
  bool mimeType = true;             // libmagic on the first bytes of regular files
  bool verifyHashesAlways = false;  // scan.verify_hashes: always rehash, even when nothing moved
  // file_parsers, each /regexp/ replaced by the fields of fileParserFields() it matches (no repeats).
  std::vector<std::string> fileParsers;
  std::string backend = "auto";  // auto, inotify (fsnotify), fanotify (kprobes, ebpf map to it)
  Duration quietPeriod = std::chrono::seconds(1);  // realtime.quiet_period: a file written but not closed
  Duration rescanInterval{0};                      // rescan_interval: full verifying rescans; 0 = off
  std::uint64_t scanFilesPerSec = 0;               // scan_files_per_sec: files a scan reads per second; 0 = unlimited
  // package_verification: judge package-owned files by the package's digests. Unset: on where
  // dpkg's database exists.
  std::optional<bool> packageVerification;
  DiffConfig diff;
  std::vector<std::string> tags;
  std::string index;
  std::string serviceName;  // service.name, written into each event of the module
  bool keepNull = false;
  std::vector<ProcessorConfig> processors;  // run before the global ones
  Origin origin;
};

// add_host_metadata's options (it is always on: every event carries host.*).
struct HostMetadataConfig {
  bool netinfo = true;                         // netinfo.enabled: host.ip and host.mac
  Duration cacheTtl = std::chrono::minutes(5);  // cache.ttl: how often host.* is read again
};

// add_cloud_metadata's options; probing happens only when the processor is configured.
struct CloudMetadataConfig {
  bool enabled = false;
  Duration timeout = std::chrono::seconds(3);  // total, for all providers probed in parallel
  std::vector<std::string> providers;         // empty: all of them
  std::string host;                           // overrides 169.254.169.254 etc. (host:port), for tests
  bool overwrite = false;
};

// queue.*: the durable event queue in the RocksDB database under path.data.
struct QueueConfig {
  std::uint64_t maxSize = 1ull << 30;  // queue.max_size: when reached, the watcher pauses
  // queue.min_free: below this much free space on path.data's file system the watcher pauses.
  // A size, a percentage of the file system, or (the default) the smaller of 64 MiB and 5 %.
  std::optional<std::uint64_t> minFreeBytes = 64ull << 20;
  std::optional<double> minFreePercent = 5.0;
};

// The data stream events go to: <type>-<dataset>-<namespace>, also written into each document.
struct DataStreamConfig {
  std::string type = "logs";
  std::string dataset = "fim.event";
  std::string ns = "default";  // `namespace`
  std::string name() const { return type + "-" + dataset + "-" + ns; }
};

// setup.*: the index management fimbeat does on connect and with `fimbeat setup --index-management`,
// and the Kibana dashboards of `fimbeat setup --dashboards`.
struct SetupConfig {
  bool templateEnabled = true;    // setup.template.enabled
  bool templateOverwrite = false;  // setup.template.overwrite
  bool ilmEnabled = true;          // setup.ilm.enabled
  std::string ilmPolicyName = "fimbeat";  // setup.ilm.policy_name
  KibanaConfig kibana;             // setup.kibana.*
  DashboardsConfig dashboards;     // setup.dashboards.*
};

// fleet.*: how a fimbeat enrolled in Fleet checks in (docs/fleet.md). The Fleet hosts, TLS
// settings and keys come from `fimbeat enroll` and the policy, not from here.
struct FleetConfig {
  std::string agentVersion;                         // fleet.agent_version: the User-Agent version; "" = the server's
  Duration pollTimeout = std::chrono::minutes(10);  // fleet.checkin.poll_timeout, sent as poll_timeout
  Duration timeout{};                               // fleet.timeout: the longest a Fleet request may take; 0 = poll_timeout + 1m
  Duration minInterval = std::chrono::seconds(30);  // fleet.checkin.min_interval: re-delivery of a rejected policy
  bool gzip = true;                                 // fleet.checkin.compression: gzip | none
  Duration backoffInit = std::chrono::seconds(60);  // fleet.backoff.init (checkins; enroll: at most 5 s)
  Duration backoffMax = std::chrono::minutes(10);   // fleet.backoff.max
  int unauthorizedLimit = 6;                        // fleet.unauthorized_limit: 401s in a row before "revoked"
  Duration revokedInterval = std::chrono::hours(1); // fleet.revoked_interval: checkins once revoked or deleted
  int applyAttempts = 3;                            // fleet.apply_attempts: crashed applies before a rejection
  Duration applyTimeout = std::chrono::seconds(60);  // fleet.apply_timeout: new stages' time to start
};

struct Config {
  PathsConfig paths;
  LoggingConfig logging;
  HttpConfig http;
  std::string name;
  std::vector<std::string> tags;
  std::vector<ModuleConfig> modules;
  // fimbeat.rpm_dbpath (internal, for tests): package_verification reads the RPM database in this
  // directory, even where dpkg's exists. Unset: dpkg's database, else librpm's %{_dbpath}.
  std::string rpmDbPath;
  OutputConfig output;
  DataStreamConfig dataStream;
  QueueConfig queue;
  SetupConfig setup;
  HostMetadataConfig hostMetadata;
  CloudMetadataConfig cloudMetadata;
  std::vector<ProcessorConfig> processors;
  FleetConfig fleet;
  std::string configFile;
  Node tree;  // the effective tree after overrides and expansion, for `export config`
};

}  // namespace fim::config
