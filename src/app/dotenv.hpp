// Where configuration variables come from: the process environment (or a
// map, in tests) and a .env file read the way dotenvy (the Rust node's
// crate) read it. config.hpp resolves them against flags and defaults.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace mp::app {

// Where environment variables come from; tests pass a map.
class EnvSource {
 public:
  virtual ~EnvSource() = default;
  virtual std::optional<std::string> get(const std::string& name) const = 0;
};

// The real process environment (getenv).
class ProcessEnv final : public EnvSource {
 public:
  std::optional<std::string> get(const std::string& name) const override;
};

class MapEnv final : public EnvSource {
 public:
  MapEnv() = default;
  explicit MapEnv(std::map<std::string, std::string> vars) : vars_(std::move(vars)) {}
  std::optional<std::string> get(const std::string& name) const override;
  void set(std::string name, std::string value) { vars_[std::move(name)] = std::move(value); }

 private:
  std::map<std::string, std::string> vars_;
};

// dotenv syntax as dotenvy accepted it: KEY=VALUE lines, optional `export `
// prefix, `#` comments (whole line, or after whitespace in an unquoted
// value), 'single' quotes taken literally, "double" quotes with \n \t \" \\ \$
// escapes and possibly spanning lines, $VAR / ${VAR} substitution in unquoted
// and double-quoted values (from the process environment first, then from
// earlier lines). Lines that cannot be parsed are skipped and reported in
// `warnings` as "line <n>: <problem>".
struct DotenvFile {
  std::map<std::string, std::string> vars;
  std::vector<std::string> warnings;
};
DotenvFile parse_dotenv(std::string_view text, const EnvSource& env);
// Reads and parses the .env file at `path` (at start, and again on SIGHUP):
// no file is an empty DotenvFile, an unreadable one an error naming it; the
// warnings name the file.
Result<DotenvFile> read_dotenv(const std::filesystem::path& path, const EnvSource& env);

}  // namespace mp::app
