// identity.key: created once with O_EXCL + link (never replaced), mode
// 0600, and a key file open to group or others refused with the chmod to run.
#include "app/identity.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace mp::app {
namespace {

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mp-identity-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = dir_ / "identity.key";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::string read(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  Config config() const {
    Config c;
    c.data_dir = dir_;
    return c;
  }

  std::filesystem::path dir_;
  std::filesystem::path path_;
};

TEST_F(IdentityTest, CreatesAKeyWithMode0600AndNoLeftoverTempFile) {
  const auto kp = Ed25519KeyPair::generate();
  ASSERT_TRUE(create_identity_file(path_, kp).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = load_identity_file(path_);
  ASSERT_TRUE(std::holds_alternative<Ed25519KeyPair>(loaded));
  EXPECT_EQ(std::get<Ed25519KeyPair>(loaded).public_raw(), kp.public_raw());
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST_F(IdentityTest, NeverReplacesAnExistingKey) {
  const auto first = Ed25519KeyPair::generate();
  ASSERT_TRUE(create_identity_file(path_, first).ok());
  const std::string before = read(path_);
  const auto second = Ed25519KeyPair::generate();
  auto st = create_identity_file(path_, second);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("already exists"), std::string::npos) << st.message();
  EXPECT_EQ(read(path_), before);
  // node_identity() on a directory with a key loads that key.
  auto id = node_identity(config());
  ASSERT_TRUE(std::holds_alternative<Ed25519KeyPair>(id));
  EXPECT_EQ(std::get<Ed25519KeyPair>(id).public_raw(), first.public_raw());
}

TEST_F(IdentityTest, NodeIdentityCreatesOnceThenLoadsTheSameKey) {
  auto a = node_identity(config());
  ASSERT_TRUE(std::holds_alternative<Ed25519KeyPair>(a));
  auto b = node_identity(config());
  ASSERT_TRUE(std::holds_alternative<Ed25519KeyPair>(b));
  EXPECT_EQ(std::get<Ed25519KeyPair>(a).public_raw(), std::get<Ed25519KeyPair>(b).public_raw());
}

TEST_F(IdentityTest, AKeyOpenToGroupOrOthersIsRefusedWithTheChmodToRun) {
  ASSERT_TRUE(create_identity_file(path_, Ed25519KeyPair::generate()).ok());
  for (mode_t mode : {0644, 0666, 0640, 0604, 0620}) {
    ASSERT_EQ(::chmod(path_.c_str(), mode), 0);
    auto r = node_identity(config());
    ASSERT_TRUE(std::holds_alternative<IdentityError>(r)) << std::oct << mode;
    const auto& err = std::get<IdentityError>(r);
    EXPECT_EQ(err.exit_code, kExitBadConfig);
    EXPECT_NE(err.message.find("chmod 600 " + path_.string()), std::string::npos) << err.message;
    EXPECT_EQ(err.message.find('\n'), std::string::npos) << "one line";
  }
  for (mode_t mode : {0600, 0400}) {
    ASSERT_EQ(::chmod(path_.c_str(), mode), 0);
    EXPECT_TRUE(std::holds_alternative<Ed25519KeyPair>(node_identity(config())))
        << std::oct << mode;
  }
}

TEST_F(IdentityTest, AFileThatIsNotAKeyIsLeftUntouched) {
  { std::ofstream(path_) << "not a key"; }
  ASSERT_EQ(::chmod(path_.c_str(), 0600), 0);
  auto r = node_identity(config());
  ASSERT_TRUE(std::holds_alternative<IdentityError>(r));
  EXPECT_EQ(std::get<IdentityError>(r).exit_code, 1);
  EXPECT_EQ(read(path_), "not a key");
}

}  // namespace
}  // namespace mp::app
