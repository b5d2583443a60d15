#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "compute/tar_reader.h"
#include "tar_builder.h"

namespace ciro::compute {
namespace {

using namespace ciro::compute::test;

struct Recorder : TarVisitor {
  struct Item {
    TarEntry entry;
    std::string data;
    bool ended = false;
  };
  std::vector<Item> items;
  Result<void> on_entry(const TarEntry& e) override {
    items.push_back({e, "", false});
    return {};
  }
  Result<void> on_data(std::string_view d) override {
    items.back().data.append(d);
    return {};
  }
  Result<void> on_entry_end() override {
    items.back().ended = true;
    return {};
  }
};

/// Feeds the archive in chunks of `step` bytes.
Result<void> feed_all(TarReader& r, const std::string& tar, Recorder& rec, std::size_t step) {
  for (std::size_t i = 0; i < tar.size(); i += step) {
    auto f = r.feed(std::string_view(tar).substr(i, step), rec);
    if (!f) return f;
  }
  return r.finish();
}

// Given a ustar archive with a dir and two files, when fed whole and byte by byte, then every entry comes out with its content.
TEST(TarReader, ReadsNormalArchiveInAnyChunking) {
  std::string tar = tar_dir("output/") + tar_file("output/a.txt", "hello\n") + tar_file("output/d/b", std::string(1500, 'x')) + tar_end();
  for (std::size_t step : {std::size_t{1}, std::size_t{7}, std::size_t{512}, tar.size()}) {
    TarReader r;
    Recorder rec;
    ASSERT_TRUE(feed_all(r, tar, rec, step).ok()) << step;
    ASSERT_EQ(rec.items.size(), 3u);
    EXPECT_EQ(rec.items[0].entry.type, TarEntryType::directory);
    EXPECT_EQ(rec.items[1].entry.path, "output/a.txt");
    EXPECT_EQ(rec.items[1].data, "hello\n");
    EXPECT_EQ(rec.items[2].data, std::string(1500, 'x'));
    EXPECT_TRUE(rec.items[2].ended);
    EXPECT_TRUE(r.at_end());
  }
}

// Given a GNU 'L' long-name entry before a file, when read, then the file carries the long name.
TEST(TarReader, GnuLongName) {
  std::string longname = "output/" + std::string(150, 'n') + "/file.txt";
  std::string meta = longname + '\0';
  std::string tar = tar_header("././@LongLink", 'L', meta.size()) + tar_pad(meta) + tar_file("truncated", "x") + tar_end();
  TarReader r;
  Recorder rec;
  ASSERT_TRUE(feed_all(r, tar, rec, 100).ok());
  ASSERT_EQ(rec.items.size(), 1u);
  EXPECT_EQ(rec.items[0].entry.path, longname);
  EXPECT_EQ(rec.items[0].data, "x");
}

// Given a pax 'x' header with path and size, when read, then both override the ustar fields.
TEST(TarReader, PaxPathAndSize) {
  std::string longname = std::string(200, 'p') + "/q";
  std::string pax = pax_record("path", longname) + pax_record("mtime", "1.5");
  std::string tar = tar_header("PaxHeaders/x", 'x', pax.size()) + tar_pad(pax) + tar_file("short", "abc") + tar_end();
  TarReader r;
  Recorder rec;
  ASSERT_TRUE(feed_all(r, tar, rec, 33).ok());
  ASSERT_EQ(rec.items.size(), 1u);
  EXPECT_EQ(rec.items[0].entry.path, longname);
  EXPECT_EQ(rec.items[0].data, "abc");
}

// Given a ustar entry with a prefix field, when read, then the path is prefix/name.
TEST(TarReader, UstarPrefix) {
  std::string tar = tar_header("name", '0', 0, "", "some/prefix") + tar_end();
  TarReader r;
  Recorder rec;
  ASSERT_TRUE(feed_all(r, tar, rec, 512).ok());
  ASSERT_EQ(rec.items.size(), 1u);
  EXPECT_EQ(rec.items[0].entry.path, "some/prefix/name");
}

// Given entries with '..', an absolute path and a symlink, when read, then the reader reports them as-is (policy is the extractor's).
TEST(TarReader, ReportsDangerousEntriesWithTheirTypes) {
  std::string tar = tar_file("../evil", "e") + tar_file("/etc/passwd", "p") + tar_header("link", '2', 0, "/etc/shadow") +
                    tar_header("hard", '1', 0, "other") + tar_header("dev", '3', 0) + tar_end();
  TarReader r;
  Recorder rec;
  ASSERT_TRUE(feed_all(r, tar, rec, 512).ok());
  ASSERT_EQ(rec.items.size(), 5u);
  EXPECT_EQ(rec.items[0].entry.path, "../evil");
  EXPECT_EQ(rec.items[1].entry.path, "/etc/passwd");
  EXPECT_EQ(rec.items[2].entry.type, TarEntryType::symlink);
  EXPECT_EQ(rec.items[2].entry.link_target, "/etc/shadow");
  EXPECT_EQ(rec.items[3].entry.type, TarEntryType::hardlink);
  EXPECT_EQ(rec.items[4].entry.type, TarEntryType::other);
}

// Given an archive cut in the middle of a file's content, when finished, then finish() reports truncation.
TEST(TarReader, TruncatedArchiveIsAnError) {
  std::string tar = tar_file("a", std::string(2000, 'z'));
  TarReader r;
  Recorder rec;
  ASSERT_TRUE(r.feed(std::string_view(tar).substr(0, 1000), rec).ok());
  auto f = r.finish();
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code, Errc::protocol);
}

// Given random garbage, when fed, then the reader fails with a protocol error and never crashes.
TEST(TarReader, GarbageIsAnErrorNotACrash) {
  std::mt19937 rng(42);
  for (int round = 0; round < 200; ++round) {
    std::string junk(1 + rng() % 3000, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    TarReader r;
    Recorder rec;
    auto f = r.feed(junk, rec);
    if (f.ok()) (void)r.finish();
  }
  TarReader r;
  Recorder rec;
  auto f = r.feed(std::string(512, 'A'), rec);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code, Errc::protocol);
  EXPECT_FALSE(r.feed("more", rec).ok());  // stays failed
}

// Given a header whose checksum is right but a huge long-name size, when fed, then it is refused rather than buffered.
TEST(TarReader, OversizedMetadataRefused) {
  std::string tar = tar_header("././@LongLink", 'L', 1u << 30);
  TarReader r;
  Recorder rec;
  EXPECT_FALSE(r.feed(tar, rec).ok());
}

// Given an archive without the final zero blocks, when finished after a complete entry, then it is accepted.
TEST(TarReader, MissingEndBlocksAccepted) {
  std::string tar = tar_file("a", "1");
  TarReader r;
  Recorder rec;
  ASSERT_TRUE(feed_all(r, tar, rec, 512).ok());
  EXPECT_EQ(rec.items.size(), 1u);
}

}  // namespace
}  // namespace ciro::compute
