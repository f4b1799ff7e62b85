#pragma once
// Typed settings of the output stage (output.file, output.console, output.elasticsearch).

#include <chrono>
#include <cstdint>
#include <map>
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

// Parsed and validated now; shipping to Elasticsearch arrives with the output issue.
struct ElasticsearchOutputConfig {
  std::vector<std::string> hosts;
  std::string protocol;
  std::string path;
  std::string username;
  std::string password;  // secret
  std::string apiKey;    // secret
  std::string index;
  std::map<std::string, std::string> headers;
};

enum class OutputKind { File, Console, Elasticsearch };

struct OutputConfig {
  OutputKind kind = OutputKind::File;
  FileOutputConfig file;
  ConsoleOutputConfig console;
  ElasticsearchOutputConfig elasticsearch;
};

}  // namespace fim::config
