#include <gtest/gtest.h>

#include <filesystem>

#include "storage/job_store.h"

using namespace ciro::storage;
namespace fs = std::filesystem;

namespace {
class JobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() / ("ciro-store-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
  }
  void TearDown() override { fs::remove_all(m_dir); }
  std::unique_ptr<SqliteJobStore> open() {
    auto s = SqliteJobStore::open(m_dir / "ciro.db");
    EXPECT_TRUE(s.ok()) << s.error().to_string();
    return std::move(s).value();
  }
  static JobRecord job(const std::string& id) {
    JobRecord j;
    j.id = id;
    j.spec_json = R"({"image":"x"})";
    j.spec_sha256 = "00";
    j.submitted_at_ms = 1000;
    return j;
  }
  fs::path m_dir;
};
}  // namespace

// Given a new database, when opened, then it is in WAL mode and at the latest schema version.
TEST_F(JobStoreTest, OpensInWalModeWithMigrations) {
  auto store = open();
  auto rows = store->database().query("PRAGMA journal_mode");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->at(0).text(0), "wal");
  EXPECT_EQ(store->database().schema_version(), node_migrations().back().version);
}

// Given a job inserted and the store closed, when reopened, then the job is there unchanged.
TEST_F(JobStoreTest, InsertedJobSurvivesReopen) {
  {
    auto store = open();
    ASSERT_TRUE(store->insert(job("a")).ok());
  }
  auto store = open();
  auto j = store->get("a");
  ASSERT_TRUE(j.ok() && j->has_value());
  EXPECT_EQ((*j)->state, JobState::queued);
  EXPECT_EQ((*j)->spec_json, R"({"image":"x"})");
  EXPECT_FALSE(store->get("missing")->has_value());
}

// Given a job id used twice, when inserted again, then already_exists.
TEST_F(JobStoreTest, DuplicateIdRefused) {
  auto store = open();
  ASSERT_TRUE(store->insert(job("a")).ok());
  auto r = store->insert(job("a"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ciro::Errc::already_exists);
}

// Given a job run and finished, when finished again, then the second finish is refused (a
// result, once written, is never overwritten).
TEST_F(JobStoreTest, LifecycleAndFinishOnce) {
  auto store = open();
  ASSERT_TRUE(store->insert(job("a")).ok());
  ASSERT_TRUE(store->mark_running("a", "c1", 2000, "").ok());
  JobRecord done = store->get("a").value().value();
  done.state = JobState::succeeded;
  done.finished_at_ms = 3000;
  done.reason = "exited";
  done.exit_code = 0;
  done.manifest_json = "{}";
  ASSERT_TRUE(store->finish(done).ok());
  auto again = store->finish(done);
  EXPECT_FALSE(again.ok());
  auto j = store->get("a").value().value();
  EXPECT_EQ(j.state, JobState::succeeded);
  EXPECT_EQ(j.container_id, "c1");
  EXPECT_EQ(j.started_at_ms, 2000);
  EXPECT_FALSE(store->mark_running("a", "c2", 1, "").ok());
}

// Given 25 jobs, when listed 10 at a time (and by state), then pages are newest first with a cursor.
TEST_F(JobStoreTest, ListPagesAndFilters) {
  auto store = open();
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(store->insert(job("j" + std::to_string(i))).ok());
  ASSERT_TRUE(store->mark_running("j3", "c", 1, "").ok());
  auto p1 = store->list(std::nullopt, 10, std::nullopt).value();
  ASSERT_EQ(p1.jobs.size(), 10u);
  EXPECT_EQ(p1.jobs[0].id, "j24");
  ASSERT_TRUE(p1.next_cursor);
  auto p2 = store->list(std::nullopt, 10, p1.next_cursor).value();
  EXPECT_EQ(p2.jobs[0].id, "j14");
  auto p3 = store->list(std::nullopt, 10, p2.next_cursor).value();
  EXPECT_EQ(p3.jobs.size(), 5u);
  EXPECT_FALSE(p3.next_cursor);
  auto running = store->list(JobState::running, 10, std::nullopt).value();
  ASSERT_EQ(running.jobs.size(), 1u);
  EXPECT_EQ(running.jobs[0].id, "j3");
  auto counts = store->counts().value();
  EXPECT_EQ(counts[JobState::queued], 24);
  EXPECT_EQ(counts[JobState::running], 1);
  auto active = store->in_states({JobState::queued, JobState::running}).value();
  EXPECT_EQ(active.front().id, "j0");
}
