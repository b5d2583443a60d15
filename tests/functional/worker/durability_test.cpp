// Crash safety: a worker killed with SIGKILL in the middle of jobs, several times, loses no
// accepted job and no completed result, and leaves no container behind; SIGTERM is clean.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <random>
#include <set>
#include <thread>

#include "compute/verify.h"
#include "worker_process.h"

using namespace ciro::test;
using nlohmann::json;

namespace {
const std::string V = R"("api_version":"ciro/v1")";

std::string node_id_of(const WorkerProcess& w) { return json::parse(w.get("/api/v1/node")->body).value("id", ""); }
}  // namespace

// Given a worker running jobs of 0.2-2 s, when it is SIGKILLed at random moments four times and
// restarted each time, then every accepted job ends (none lost, none stuck), every result
// verifies against the node key, no result changes across restarts, and no container is left.
TEST(WorkerDurability, SurvivesRepeatedKill9) {
  auto dir = fresh_dir("kill9");
  std::vector<std::string> args = {"--set", "executor.max_concurrent_jobs=2"};
  auto w = std::make_unique<WorkerProcess>(dir / "data", args);
  ASSERT_TRUE(w->start().ok()) << w->log_text();
  const std::string node_id = node_id_of(*w);
  std::mt19937 rng(12345);
  std::set<std::string> accepted;
  std::map<std::string, std::string> results;  // job id -> manifest_sha256 once finished

  auto record_results = [&](const WorkerProcess& wp) {
    for (const auto& id : accepted) {
      auto r = wp.get("/api/v1/jobs/" + id);
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(r->status, 200) << "accepted job " << id << " lost: " << r->body;
      auto j = json::parse(r->body);
      std::string state = j["state"];
      if (state == "succeeded" || state == "failed" || state == "cancelled") {
        std::string sha = j.value("manifest_sha256", "");
        ASSERT_FALSE(sha.empty()) << j.dump();
        if (results.count(id)) EXPECT_EQ(results[id], sha) << "result of " << id << " changed after a restart";
        results[id] = sha;
      }
    }
  };

  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 4; ++i) {
      int ms = std::uniform_int_distribution<int>(200, 2000)(rng);
      std::string id =
          w->submit("{" + V + R"(,"command":["sh","-c","echo start; sleep )" + std::to_string(ms / 1000.0) +
                    R"(; echo out > /output/r.txt; echo end"],"timeout":"60s"})");
      ASSERT_FALSE(id.empty()) << w->log_text();
      accepted.insert(id);  // a 201 was received: the job must never be lost
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(300, 1800)(rng)));
    record_results(*w);
    w->kill9();
    w = std::make_unique<WorkerProcess>(dir / "data", args);
    auto started = w->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    ASSERT_EQ(node_id_of(*w), node_id);
  }
  record_results(*w);
  for (const auto& id : accepted) {
    std::string done = w->wait_job(id, std::chrono::seconds(120));
    ASSERT_FALSE(done.empty()) << "job " << id << " never ended";
    auto j = json::parse(done);
    // A job either finished (reattached or collected) or was running in a container that
    // vanished, which the node reports instead of losing it.
    EXPECT_TRUE(j["state"] == "succeeded" || j["reason"] == "node_restarted") << done;
    auto v = ciro::compute::verify_result_dir(w->data_dir() / "jobs" / id, std::nullopt);
    EXPECT_TRUE(v.ok()) << id << ": " << (v.ok() ? "" : v.error().message);
  }
  record_results(*w);
  EXPECT_EQ(results.size(), accepted.size());
  for (int i = 0; i < 50 && !engine_containers(node_id).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(engine_containers(node_id).empty()) << "containers left behind";
  EXPECT_EQ(w->terminate(), 0);
  std::filesystem::remove_all(dir);
}

// Given a node with a container of its label that no job owns (left by a crash), when the node
// starts, then it removes that orphan.
TEST(WorkerDurability, OrphanContainersAreRemovedAtStart) {
  auto dir = fresh_dir("orphan");
  auto w = std::make_unique<WorkerProcess>(dir / "data");
  ASSERT_TRUE(w->start().ok());
  const std::string node_id = node_id_of(*w);
  ASSERT_EQ(w->terminate(), 0);
  auto [rc, out] = run_command(
      "curl -s -X POST --unix-socket '" + engine_socket() +
      "' -H 'Content-Type: application/json' -d '{\"Image\":\"ciro/busybox:latest\",\"Cmd\":[\"sleep\",\"60\"],"
      "\"Labels\":{\"ciro.node\":\"" +
      node_id +
      "\",\"ciro.job\":\"deadbeef\"}}' "
      "'http://d/v1.41/containers/create?name=ciro-orphan-" +
      std::to_string(::getpid()) + "'");
  ASSERT_EQ(rc, 0);
  ASSERT_EQ(engine_containers(node_id).size(), 1u) << out;
  w = std::make_unique<WorkerProcess>(dir / "data");
  ASSERT_TRUE(w->start().ok());
  EXPECT_TRUE(engine_containers(node_id).empty());
  EXPECT_EQ(w->terminate(), 0);
  std::filesystem::remove_all(dir);
}

// Given a worker with a running job, when SIGTERM arrives, then it exits 0 within its bound,
// and at the next start the job is reattached and finishes.
TEST(WorkerDurability, SigtermIsCleanAndJobsAreReattached) {
  auto dir = fresh_dir("sigterm");
  auto w = std::make_unique<WorkerProcess>(dir / "data");
  ASSERT_TRUE(w->start().ok());
  std::string id = w->submit("{" + V + R"(,"command":["sh","-c","sleep 2; echo survived > /output/s.txt"]})");
  ASSERT_FALSE(id.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(w->terminate(std::chrono::seconds(10)), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(6));
  EXPECT_NE(w->log_text().find("SIGTERM"), std::string::npos);
  w = std::make_unique<WorkerProcess>(dir / "data");
  ASSERT_TRUE(w->start().ok());
  auto j = json::parse(w->wait_job(id));
  EXPECT_EQ(j["state"], "succeeded") << j.dump();
  EXPECT_EQ(w->get("/api/v1/jobs/" + id + "/outputs/s.txt")->body, "survived\n");
  EXPECT_EQ(w->terminate(), 0);
  std::filesystem::remove_all(dir);
}

// Given a running job whose container disappears while the node is down, when the node
// restarts, then the job is failed with reason node_restarted (not lost, not stuck) and has a
// signed result.
TEST(WorkerDurability, VanishedContainerFailsAsNodeRestarted) {
  auto dir = fresh_dir("vanish");
  auto w = std::make_unique<WorkerProcess>(dir / "data");
  ASSERT_TRUE(w->start().ok());
  const std::string node_id = node_id_of(*w);
  std::string id = w->submit("{" + V + R"(,"command":["sleep","30"]})");
  ASSERT_FALSE(id.empty());
  for (int i = 0; i < 100 && json::parse(w->get("/api/v1/jobs/" + id)->body)["state"] != "running"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  w->kill9();
  auto [rc, out] = run_command("curl -s -X DELETE --unix-socket '" + engine_socket() +
                               "' 'http://d/v1.41/containers/ciro-" + id + "?force=1&v=1'");
  ASSERT_EQ(rc, 0) << out;
  w = std::make_unique<WorkerProcess>(dir / "data");
  ASSERT_TRUE(w->start().ok()) << w->log_text();
  auto j = json::parse(w->wait_job(id, std::chrono::seconds(10)));
  EXPECT_EQ(j["state"], "failed");
  EXPECT_EQ(j["reason"], "node_restarted") << j.dump();
  EXPECT_TRUE(ciro::compute::verify_result_dir(w->data_dir() / "jobs" / id, std::nullopt).ok());
  EXPECT_TRUE(engine_containers(node_id).empty());
  EXPECT_EQ(w->terminate(), 0);
  std::filesystem::remove_all(dir);
}
