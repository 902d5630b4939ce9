#include "app/dotenv.hpp"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "app/text.hpp"

namespace mp::app {

using text::trim;

// ---------------------------------------------------------------------------
// Environment sources

std::optional<std::string> ProcessEnv::get(const std::string& name) const {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::optional<std::string> MapEnv::get(const std::string& name) const {
  auto it = vars_.find(name);
  if (it == vars_.end()) return std::nullopt;
  return it->second;
}

namespace {

bool is_key_char(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         (!first && (std::isdigit(static_cast<unsigned char>(c)) || c == '.'));
}

}  // namespace

// ---------------------------------------------------------------------------
// .env

namespace {

// Cursor over the whole file: double-quoted values may span lines.
struct DotenvParser {
  std::string_view text;
  std::size_t pos = 0;
  int line = 1;
  const EnvSource& env;
  DotenvFile& out;

  bool at_end() const { return pos >= text.size(); }
  char peek() const { return text[pos]; }
  void advance() {
    if (text[pos] == '\n') ++line;
    ++pos;
  }
  void skip_blanks() {
    while (!at_end() && (peek() == ' ' || peek() == '\t')) advance();
  }
  void skip_to_next_line() {
    while (!at_end() && peek() != '\n') advance();
    if (!at_end()) advance();
  }
  void warn(int at_line, const std::string& what) {
    out.warnings.push_back("line " + std::to_string(at_line) + ": " + what);
  }

  std::string lookup(const std::string& name) const {
    // The real environment wins over the file, as for plain variables.
    if (auto v = env.get(name)) return *v;
    auto it = out.vars.find(name);
    return it == out.vars.end() ? std::string() : it->second;
  }

  // $NAME or ${NAME} at text[pos] == '$'. Appends the value to `value`.
  void substitute(std::string& value) {
    advance();  // '$'
    std::string name;
    if (!at_end() && peek() == '{') {
      advance();
      while (!at_end() && peek() != '}' && peek() != '\n') {
        name.push_back(peek());
        advance();
      }
      if (!at_end() && peek() == '}') advance();
    } else {
      while (!at_end() && is_key_char(peek(), name.empty())) {
        name.push_back(peek());
        advance();
      }
      if (name.empty()) {
        value.push_back('$');
        return;
      }
    }
    value += lookup(name);
  }

  void parse() {
    while (!at_end()) {
      skip_blanks();
      if (at_end()) break;
      if (peek() == '\n' || peek() == '\r' || peek() == '#') {
        skip_to_next_line();
        continue;
      }
      const int start_line = line;
      std::string key;
      while (!at_end() && is_key_char(peek(), key.empty())) {
        key.push_back(peek());
        advance();
      }
      if (key == "export" && !at_end() && (peek() == ' ' || peek() == '\t')) {
        skip_blanks();
        key.clear();
        while (!at_end() && is_key_char(peek(), key.empty())) {
          key.push_back(peek());
          advance();
        }
      }
      skip_blanks();
      if (key.empty() || at_end() || peek() != '=') {
        warn(start_line, key.empty() ? "expected a variable name" : "expected '=' after " + key);
        skip_to_next_line();
        continue;
      }
      advance();  // '='
      skip_blanks();
      std::string value;
      bool ok = true;
      if (!at_end() && peek() == '\'') {
        advance();
        while (!at_end() && peek() != '\'') {
          value.push_back(peek());
          advance();
        }
        if (at_end()) ok = false; else advance();
      } else if (!at_end() && peek() == '"') {
        advance();
        while (!at_end() && peek() != '"') {
          if (peek() == '\\' && pos + 1 < text.size()) {
            advance();
            switch (peek()) {
              case 'n': value.push_back('\n'); break;
              case 't': value.push_back('\t'); break;
              case 'r': value.push_back('\r'); break;
              case '"': value.push_back('"'); break;
              case '\\': value.push_back('\\'); break;
              case '$': value.push_back('$'); break;
              case '\'': value.push_back('\''); break;
              default:
                value.push_back('\\');
                value.push_back(peek());
            }
            advance();
          } else if (peek() == '$') {
            substitute(value);
          } else {
            value.push_back(peek());
            advance();
          }
        }
        if (at_end()) ok = false; else advance();
      } else {
        // Unquoted: up to end of line; " #" starts a comment.
        while (!at_end() && peek() != '\n') {
          if (peek() == '#' && (value.empty() || value.back() == ' ' || value.back() == '\t')) break;
          if (peek() == '$') {
            substitute(value);
            continue;
          }
          value.push_back(peek());
          advance();
        }
        value = std::string(trim(value));
      }
      if (!ok) {
        warn(start_line, "unterminated quoted value for " + key);
        break;
      }
      // Anything after a closing quote must be blank or a comment.
      skip_blanks();
      if (!at_end() && peek() != '\n' && peek() != '\r' && peek() != '#') {
        warn(start_line, "unexpected text after the value of " + key);
        skip_to_next_line();
        continue;
      }
      skip_to_next_line();
      out.vars[key] = std::move(value);
    }
  }
};

}  // namespace

Result<DotenvFile> read_dotenv(const std::filesystem::path& path, const EnvSource& env) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return DotenvFile{};
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in) return make_error("cannot read " + path.string());
  DotenvFile file = parse_dotenv(ss.str(), env);
  for (auto& w : file.warnings) w = path.string() + ": " + w;
  return file;
}

DotenvFile parse_dotenv(std::string_view text, const EnvSource& env) {
  DotenvFile file;
  DotenvParser p{text, 0, 1, env, file};
  p.parse();
  return file;
}

}  // namespace mp::app
