#pragma once
// Typed settings of the output stage (output.file, output.console, output.elasticsearch).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fim::config {

struct FileOutputConfig {
  std::string path;                 // directory; mandatory in beats, defaulted to <path.data>/events here
  std::string filename = "fimbeat";  // files are <filename>-<YYYYMMDD>[-N].ndjson
  std::uint64_t rotateEveryKb = 10240;
  int numberOfFiles = 7;             // 2..1024
  unsigned permissions = 0600;
  bool rotateOnStartup = true;
};

struct ConsoleOutputConfig {
  bool pretty = false;
};

enum class SslVerificationMode { Full, Strict, Certificate, None };
enum class NonIndexablePolicy { Drop, DeadLetterIndex };

struct ElasticsearchSslConfig {
  std::optional<bool> enabled;                     // unset: TLS when a host's scheme is https
  std::vector<std::string> certificateAuthorities;  // PEM files or inline PEM; replace the system roots
  SslVerificationMode verificationMode = SslVerificationMode::Full;
  std::string certificate;                         // client certificate (PEM file)
  std::string key;                                 // its private key (PEM file)
  std::string keyPassphrase;                       // secret
  std::string caTrustedFingerprint;                // SHA-256 of a CA certificate in the chain, hex
};

// output.elasticsearch, with beats' option names and defaults.
struct ElasticsearchOutputConfig {
  std::vector<std::string> hosts;
  std::string protocol;  // http or https for hosts without a scheme; empty: http
  std::string path;      // URL path prefix, e.g. /es
  std::string username;
  std::string password;  // secret
  std::string apiKey;    // secret, "id:key"
  std::string index;     // a plain index instead of the data stream; may hold Beats' %{...} (index_format.h)
  std::string pipeline;  // ingest pipeline for every event (?pipeline= on the bulk request)
  std::map<std::string, std::string> headers;
  int bulkMaxSize = 1600;
  std::chrono::nanoseconds flushInterval = std::chrono::seconds(1);
  int worker = 1;
  int compressionLevel = 1;  // gzip, 0 = off
  std::chrono::nanoseconds timeout = std::chrono::seconds(90);
  std::chrono::nanoseconds idleConnectionTimeout = std::chrono::seconds(3);
  int maxRetries = 3;  // accepted for Beats compatibility; fimbeat retries until delivered (a warning says so)
  std::chrono::nanoseconds backoffInit = std::chrono::seconds(1);
  std::chrono::nanoseconds backoffMax = std::chrono::seconds(60);
  std::string proxyUrl;
  bool proxyDisable = false;
  ElasticsearchSslConfig ssl;
  NonIndexablePolicy nonIndexablePolicy = NonIndexablePolicy::Drop;
  std::string deadLetterIndex;  // non_indexable_policy.dead_letter_index.index
};

enum class OutputKind { File, Console, Elasticsearch };

struct OutputConfig {
  OutputKind kind = OutputKind::File;
  FileOutputConfig file;
  ConsoleOutputConfig console;
  ElasticsearchOutputConfig elasticsearch;
};

}  // namespace fim::config
