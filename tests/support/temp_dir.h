#pragma once
// TempDir: a fresh directory under the system temp dir, removed with everything in it.

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "support/deep_tree.h"

namespace fim::testing {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("fimbeat-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { removeTree(path_.string()); }  // through descriptors: trees deeper than PATH_MAX too
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

  // Writes `content` to a file below the dir, creating parents; returns its path.
  std::string write(const std::string& relative, const std::string& content) const {
    const auto file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << content;
    return file.string();
  }

 private:
  std::filesystem::path path_;
};

}  // namespace fim::testing
