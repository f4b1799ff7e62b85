// fimbeat: parse the command line and run one subcommand.

#include <malloc.h>

#include <exception>
#include <iostream>

#include "app/cli.h"
#include "app/commands.h"

int main(int argc, char** argv) {
  using fim::app::Command;
  // A dozen threads allocate briefly and hand the memory on; glibc's default of one arena per
  // thread (up to 8 per core) keeps freed memory in each of them. Two arenas cost no measurable
  // time and keep the agent's peak RSS about 7 MiB lower on a first scan.
  ::mallopt(M_ARENA_MAX, 2);
  try {
    auto options = fim::app::parseCommandLine(argc, argv);
    if (!options) {
      std::cerr << "fimbeat: " << options.error().message() << "\n\n" << fim::app::usage();
      return 1;
    }
    switch (options->command) {
      case Command::Help: std::cout << fim::app::usage(); return 0;
      case Command::Version: return fim::app::printVersion();
      case Command::TestConfig: return fim::app::testConfig(*options);
      case Command::ExportConfig: return fim::app::exportConfig(*options);
      case Command::TestOutput: return fim::app::testOutput(*options);
      case Command::ExportTemplate: return fim::app::exportTemplate(*options);
      case Command::ExportIlmPolicy: return fim::app::exportIlmPolicy(*options);
      case Command::ExportDashboard: return fim::app::exportDashboard(*options);
      case Command::Setup: return fim::app::setup(*options);
      case Command::Run: return fim::app::runAgent(*options);
    }
  } catch (const std::exception& e) {
    std::cerr << "fimbeat: " << e.what() << "\n";
  }
  return 1;
}
