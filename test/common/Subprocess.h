#pragma once
/// \file
/// Runs a shell command for CLI tests and captures its exit code, stdout and
/// stderr separately.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace mars::test {

struct CommandResult {
  int exitCode = -1; ///< -1 when the process died from a signal.
  std::string out;
  std::string err;
};

inline std::string readWholeFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Runs `command` through /bin/sh, killed after `timeoutSeconds`.
inline CommandResult runCommand(const std::string &command,
                                int timeoutSeconds = 900) {
  static int counter = 0;
  std::string base = "/tmp/mars_cmd_" + std::to_string(getpid()) + "_" +
                     std::to_string(counter++);
  std::string full = "timeout " + std::to_string(timeoutSeconds) + " " +
                     command + " >" + base + ".out 2>" + base + ".err";
  int status = std::system(full.c_str());
  CommandResult result;
  if (WIFEXITED(status))
    result.exitCode = WEXITSTATUS(status);
  result.out = readWholeFile(base + ".out");
  result.err = readWholeFile(base + ".err");
  std::remove((base + ".out").c_str());
  std::remove((base + ".err").c_str());
  return result;
}

/// Shell-quotes one argument.
inline std::string quote(const std::string &arg) {
  std::string out = "'";
  for (char c : arg)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

} // namespace mars::test
