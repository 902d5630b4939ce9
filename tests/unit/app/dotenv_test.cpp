// .env files as dotenvy read them: the syntax, bad lines skipped with their
// line number, the real environment winning in substitutions, and the file
// reader (missing file, unreadable file, warnings naming the file).
#include "app/dotenv.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace mp::app {
namespace {

TEST(Dotenv, ParsesTheDotenvySyntax) {
  MapEnv env;
  env.set("HOME", "/home/op");
  const auto f = parse_dotenv(
      "# comment line\n"
      "\n"
      "PLAIN=value\n"
      "SPACED = spaced value   \n"
      "export EXPORTED=yes\n"
      "INLINE=abc # trailing comment\n"
      "HASH=abc#not-a-comment\n"
      "SINGLE='literal $HOME \\n # kept'\n"
      "DOUBLE=\"line1\\nline2 \\\"q\\\" $HOME\"\n"
      "MULTI=\"first\n"
      "second\"\n"
      "BRACED=${HOME}/data\n"
      "REF=${PLAIN}-x\n"
      "EMPTY=\n"
      "CRLF=windows\r\n",
      env);
  EXPECT_TRUE(f.warnings.empty()) << f.warnings.at(0);
  auto get = [&](const char* k) {
    auto it = f.vars.find(k);
    return it == f.vars.end() ? std::string("<missing>") : it->second;
  };
  EXPECT_EQ(get("PLAIN"), "value");
  EXPECT_EQ(get("SPACED"), "spaced value");
  EXPECT_EQ(get("EXPORTED"), "yes");
  EXPECT_EQ(get("INLINE"), "abc");
  EXPECT_EQ(get("HASH"), "abc#not-a-comment");
  EXPECT_EQ(get("SINGLE"), "literal $HOME \\n # kept");
  EXPECT_EQ(get("DOUBLE"), "line1\nline2 \"q\" /home/op");
  EXPECT_EQ(get("MULTI"), "first\nsecond");
  EXPECT_EQ(get("BRACED"), "/home/op/data");
  EXPECT_EQ(get("REF"), "value-x");
  EXPECT_EQ(get("EMPTY"), "");
  EXPECT_EQ(get("CRLF"), "windows");
}

TEST(Dotenv, BadLinesAreSkippedWithTheirLineNumber) {
  MapEnv env;
  const auto f = parse_dotenv("GOOD=1\nno equals sign\nALSO_GOOD=2\n=novar\nQ='unterminated\n", env);
  EXPECT_EQ(f.vars.at("GOOD"), "1");
  EXPECT_EQ(f.vars.at("ALSO_GOOD"), "2");
  ASSERT_EQ(f.warnings.size(), 3u);
  EXPECT_NE(f.warnings[0].find("line 2"), std::string::npos) << f.warnings[0];
  EXPECT_NE(f.warnings[1].find("line 4"), std::string::npos) << f.warnings[1];
  EXPECT_NE(f.warnings[2].find("line 5"), std::string::npos) << f.warnings[2];
}

TEST(Dotenv, TheEnvironmentWinsInSubstitutions) {
  MapEnv env;
  env.set("NAME", "from-env");
  const auto f = parse_dotenv("NAME=from-file\nUSE=$NAME\n", env);
  EXPECT_EQ(f.vars.at("NAME"), "from-file");
  EXPECT_EQ(f.vars.at("USE"), "from-env");
}

TEST(Dotenv, ReadingAMissingFileIsEmptyAndWarningsNameTheFile) {
  const auto dir = std::filesystem::temp_directory_path() / ("mp-dotenv-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  MapEnv env;
  auto missing = read_dotenv(dir / "absent.env", env);
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->vars.empty());
  EXPECT_TRUE(missing->warnings.empty());

  const auto path = dir / ".env";
  std::ofstream(path) << "A=1\njunk\n";
  auto read = read_dotenv(path, env);
  ASSERT_TRUE(read.ok()) << read.message();
  EXPECT_EQ(read->vars.at("A"), "1");
  ASSERT_EQ(read->warnings.size(), 1u);
  EXPECT_EQ(read->warnings[0].rfind(path.string() + ": line 2: ", 0), 0u) << read->warnings[0];
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mp::app
