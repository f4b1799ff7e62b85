#include "app/keystore_commands.h"

#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <iterator>

#include "app/commands.h"
#include "management/keystore.h"

namespace fim::app {
namespace {

// Reads one line from the terminal without echoing it.
bool promptSecret(const std::string& key, std::istream& in, std::ostream& out, std::string& value) {
  out << "Enter value for " << key << ": " << std::flush;
  termios saved{};
  const bool terminal = ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (terminal) {
    termios quiet = saved;
    quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  const bool read = static_cast<bool>(std::getline(in, value));
  if (terminal) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  out << "\n";
  return read;
}

// --stdin: everything, less one final newline (what `echo secret |` adds).
std::string readAll(std::istream& in) {
  std::string value((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (value.ends_with("\r\n")) value.resize(value.size() - 2);
  else if (value.ends_with('\n')) value.pop_back();
  return value;
}

int create(management::Keystore keystore, bool force, std::ostream& out, std::ostream& err) {
  if (keystore.exists() && !force) {
    err << "A keystore already exists at " << keystore.path() << ": use --force to replace it (its secrets are lost)\n";
    return 1;
  }
  auto fresh = management::Keystore::empty(keystore.path());
  if (auto saved = fresh.save(); !saved) {
    err << "cannot create the keystore: " << saved.error().message() << "\n";
    return 1;
  }
  out << "Created fimbeat keystore at " << fresh.path() << "\n";
  return 0;
}

int add(management::Keystore keystore, const CliOptions& options, std::istream& in, std::ostream& out,
        std::ostream& err) {
  const std::string& key = options.keystoreKey;
  if (!management::isValidKeystoreName(key)) {
    err << "\"" << key << "\" is not a valid key: use letters, digits, '_', '.' and '-'\n";
    return 1;
  }
  if (keystore.contains(key) && !options.force) {
    err << "The key " << key << " is already in the keystore: use --force to replace its value\n";
    return 1;
  }
  std::string value;
  if (options.fromStdin) {
    value = readAll(in);
  } else if (!::isatty(STDIN_FILENO) || !promptSecret(key, in, out, value)) {
    err << "no terminal to read the value of " << key << " from: pass it on standard input with --stdin\n";
    return 1;
  }
  keystore.set(key, std::move(value));
  if (auto saved = keystore.save(); !saved) {
    err << "cannot save the keystore: " << saved.error().message() << "\n";
    return 1;
  }
  out << "Added " << key << " to the keystore\n";
  return 0;
}

int remove(management::Keystore keystore, const std::string& key, std::ostream& out, std::ostream& err) {
  if (!keystore.remove(key)) {
    err << "The key " << key << " is not in the keystore\n";
    return 1;
  }
  if (auto saved = keystore.save(); !saved) {
    err << "cannot save the keystore: " << saved.error().message() << "\n";
    return 1;
  }
  out << "Removed " << key << " from the keystore\n";
  return 0;
}

}  // namespace

int keystoreCommand(const CliOptions& options, std::istream& in, std::ostream& out, std::ostream& err) {
  config::LoadOptions load = options.load;
  if (load.defaultHome.empty()) load.defaultHome = binaryDirectory();
  auto paths = config::loadPaths(load);
  if (!paths) {
    err << "cannot find path.data: " << paths.error().message() << "\n";
    return 1;
  }
  auto keystore = management::Keystore::open(management::Keystore::pathIn(paths->data));
  if (!keystore) {
    if (options.command == Command::KeystoreCreate && options.force) {
      return create(management::Keystore::empty(management::Keystore::pathIn(paths->data)), true, out, err);
    }
    err << keystore.error().message() << "\n";
    return 1;
  }
  if (options.command == Command::KeystoreCreate) return create(std::move(*keystore), options.force, out, err);
  if (!keystore->exists()) {
    err << "There is no keystore at " << keystore->path() << ": create it with `fimbeat keystore create`\n";
    return 1;
  }
  switch (options.command) {
    case Command::KeystoreAdd: return add(std::move(*keystore), options, in, out, err);
    case Command::KeystoreRemove: return remove(std::move(*keystore), options.keystoreKey, out, err);
    case Command::KeystoreList:
      for (const auto& name : keystore->names()) out << name << "\n";
      return 0;
    default: return 1;
  }
}

}  // namespace fim::app
