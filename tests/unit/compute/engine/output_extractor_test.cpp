#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "compute/docker_output.h"
#include "tar_builder.h"

namespace ciro::compute {
namespace {

using namespace ciro::compute::test;
namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct OutputExtractorTest : ::testing::Test {
  void SetUp() override {
    dir = fs::temp_directory_path() / ("ciro-extract-" + std::to_string(::getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path dir;
};

// Given Podman's archive naming ("/" root, "/a"), when extracted, then files land under the output dir with their content.
TEST_F(OutputExtractorTest, PodmanNaming) {
  std::string tar = tar_dir("/") + tar_file("/a", "hi\n") + tar_dir("/d/") + tar_file("/d/b", "x") + tar_end();
  TarReader r;
  OutputExtractor x(dir, 1 << 20);
  ASSERT_TRUE(r.feed(tar, x).ok());
  EXPECT_EQ(slurp(dir / "a"), "hi\n");
  EXPECT_EQ(slurp(dir / "d" / "b"), "x");
  EXPECT_TRUE(x.errors().empty());
  EXPECT_EQ(x.files_written(), 2u);
}

// Given Docker's naming ("output/", "output/a"), when extracted, then the root prefix is stripped.
TEST_F(OutputExtractorTest, DockerNaming) {
  std::string tar = tar_dir("output/") + tar_file("output/a", "1") + tar_end();
  TarReader r;
  OutputExtractor x(dir, 1 << 20);
  ASSERT_TRUE(r.feed(tar, x).ok());
  EXPECT_EQ(slurp(dir / "a"), "1");
}

// Given '..', absolute (after the root), symlink, hardlink and device entries, when extracted, then each is refused and listed, nothing escapes.
TEST_F(OutputExtractorTest, DangerousEntriesRefused) {
  std::string tar = tar_dir("output/") + tar_file("output/../escape", "e") + tar_file("output//abs", "a") +
                    tar_file("elsewhere/x", "x") + tar_header("output/l", '2', 0, "/etc/passwd") +
                    tar_header("output/h", '1', 0, "output/a") + tar_header("output/dev", '3', 0) +
                    tar_file("output/ok", "fine") + tar_end();
  TarReader r;
  OutputExtractor x(dir, 1 << 20);
  ASSERT_TRUE(r.feed(tar, x).ok());
  EXPECT_EQ(x.errors().size(), 6u);
  EXPECT_FALSE(fs::exists(dir.parent_path() / "escape"));
  EXPECT_FALSE(fs::exists(dir / "l"));
  EXPECT_FALSE(fs::exists(dir / "h"));
  EXPECT_EQ(slurp(dir / "ok"), "fine");
}

// Given more content than the cap, when extracted, then it stops with limit_exceeded and the partial file is removed.
TEST_F(OutputExtractorTest, CapStopsAndRemovesPartial) {
  std::string tar = tar_dir("/") + tar_file("/small", "12345") + tar_file("/big", std::string(100, 'b')) + tar_end();
  TarReader r;
  OutputExtractor x(dir, 50);
  auto f = r.feed(tar, x);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code, Errc::limit_exceeded);
  EXPECT_TRUE(x.truncated());
  EXPECT_EQ(slurp(dir / "small"), "12345");
  EXPECT_FALSE(fs::exists(dir / "big"));
}

}  // namespace
}  // namespace ciro::compute
