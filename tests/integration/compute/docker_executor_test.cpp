// DockerExecutor against a real engine (Podman's Docker-compatible API). Needs the service from
// `scripts/engine.sh start` and CIRO_TEST_ENGINE_SOCKET=$(scripts/engine.sh socket).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "compute/docker_executor.h"
#include "compute/docker_json.h"
#include "compute/unix_http.h"

namespace ciro::compute {
namespace {

namespace net = boost::asio;
namespace fs = std::filesystem;
constexpr const char* IMAGE = "ciro/busybox:latest";

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class DockerExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* sock = std::getenv("CIRO_TEST_ENGINE_SOCKET");
    if (sock == nullptr || *sock == '\0') {
      FAIL() << "CIRO_TEST_ENGINE_SOCKET is not set: run `scripts/engine.sh start` and "
                "`export CIRO_TEST_ENGINE_SOCKET=$(scripts/engine.sh socket)`";
    }
    DockerOptions o;
    o.socket = sock;
    o.request_timeout = std::chrono::seconds(20);
    m_exec.emplace(m_io.get_executor(), o);
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    m_node = "itest-" + std::to_string(::getpid()) + "-" + info->name();
    m_dir = fs::temp_directory_path() / ("ciro-" + m_node);
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
    auto has_image = sync(m_exec->image_exists(IMAGE));
    ASSERT_TRUE(has_image.ok()) << has_image.error().to_string();
    ASSERT_TRUE(*has_image)
        << IMAGE << " missing on the engine: run scripts/engine.sh ensure-image";
  }

  void TearDown() override {
    if (m_exec) {
      auto owned = sync(m_exec->list_owned(m_node));
      if (owned.ok()) {
        for (const auto& c : *owned) (void)sync(m_exec->remove(c.container_id));
      }
      auto after = sync(m_exec->list_owned(m_node));
      ASSERT_TRUE(after.ok());
      EXPECT_TRUE(after->empty()) << "containers left behind for " << m_node;
    }
    fs::remove_all(m_dir);
  }

  // Result<T> has no default constructor, which co_spawn's (exception_ptr, T) handler needs.
  template <typename T>
  static net::awaitable<void> into(net::awaitable<T> a, std::optional<T>* out) {
    out->emplace(co_await std::move(a));
  }

  template <typename T>
  T sync(net::awaitable<T> a) {
    std::optional<T> out;
    net::co_spawn(m_io, into(std::move(a), &out), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    m_io.restart();
    m_io.run();
    return std::move(*out);
  }

  ContainerSpec spec(const std::string& job, const std::string& script) {
    ContainerSpec s;
    s.job_id = job;
    s.node_id = m_node;
    s.image = IMAGE;
    s.command = {"sh", "-c", script};
    s.memory_bytes = 64ull << 20;
    s.tmpfs_bytes = 16ull << 20;
    s.timeout = std::chrono::seconds(20);
    s.output_dir = m_dir / job / "out";
    s.stdout_file = m_dir / job / "stdout";
    s.stderr_file = m_dir / job / "stderr";
    fs::create_directories(m_dir / job);
    return s;
  }

  RunOutcome run_ok(ContainerSpec s) {
    auto r = sync(m_exec->run(std::move(s)));
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_string());
    return r.ok() ? *r : RunOutcome{};
  }

  /// Creates and starts the spec's container without supervising it, as a node that crashed
  /// right after start would leave it. Returns the container id ("" on failure).
  std::string start_detached(const ContainerSpec& s) {
    UnixHttpClient http(m_io.get_executor(), m_exec->options().socket);
    auto c = sync(http.request("POST", "/v1.41/containers/create?name=ciro-" + s.job_id, build_create_body(s).dump(),
                               std::chrono::seconds(20)));
    if (!c.ok() || c->status != 201) return "";
    auto id = parse_create_reply(c->body);
    if (!id.ok()) return "";
    auto st = sync(http.request("POST", "/v1.41/containers/" + *id + "/start", std::nullopt, std::chrono::seconds(20)));
    return st.ok() && st->status == 204 ? *id : "";
  }

  net::io_context m_io;
  std::optional<DockerExecutor> m_exec;
  std::string m_node;
  fs::path m_dir;
};

// Given a job writing files to /output and both streams, when run, then it exits 0, files and logs are collected, list_owned finds it and remove clears it.
TEST_F(DockerExecutorTest, OutputFilesAndLogs) {
  auto s = spec("files", "echo hello; echo oops >&2; echo result > /output/result.txt; mkdir -p /output/sub; "
                         "printf abc > /output/sub/x.bin; ln -s /etc/passwd /output/link; exit 0");
  auto o = run_ok(s);
  EXPECT_EQ(o.reason, EndReason::exited) << o.detail;
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(slurp(s.output_dir / "result.txt"), "result\n");
  EXPECT_EQ(slurp(s.output_dir / "sub" / "x.bin"), "abc");
  EXPECT_FALSE(fs::exists(fs::symlink_status(s.output_dir / "link")));
  ASSERT_EQ(o.output_errors.size(), 1u);
  EXPECT_NE(o.output_errors[0].find("symlink"), std::string::npos);
  EXPECT_EQ(slurp(s.stdout_file), "hello\n");
  EXPECT_EQ(slurp(s.stderr_file), "oops\n");
  EXPECT_EQ(o.stdout_bytes, 6u);
  EXPECT_EQ(o.stderr_bytes, 5u);
  EXPECT_FALSE(o.logs_truncated);
  EXPECT_LE(o.started_at, o.finished_at);
  EXPECT_GT(o.started_at.time_since_epoch().count(), 0);

  auto owned = sync(m_exec->list_owned(m_node));
  ASSERT_TRUE(owned.ok());
  ASSERT_EQ(owned->size(), 1u);
  EXPECT_EQ((*owned)[0].container_id, o.container_id);
  EXPECT_EQ((*owned)[0].job_id, "files");
  EXPECT_FALSE((*owned)[0].running);
  ASSERT_TRUE(sync(m_exec->remove(o.container_id)).ok());
  EXPECT_TRUE(sync(m_exec->list_owned(m_node))->empty());
  EXPECT_TRUE(sync(m_exec->remove(o.container_id)).ok());  // not found counts as success
}

// Given a job exiting 7, when run, then the reason is exited with code 7.
TEST_F(DockerExecutorTest, NonZeroExit) {
  auto o = run_ok(spec("exit7", "exit 7"));
  EXPECT_EQ(o.reason, EndReason::exited) << o.detail;
  EXPECT_EQ(o.exit_code, 7);
}

// Given a 16 MiB limit and a shell that reads 64 MiB into a variable, when run, then the reason is out_of_memory.
TEST_F(DockerExecutorTest, MemoryLimitExceeded) {
  auto s = spec("oom", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo ${#x}");
  s.memory_bytes = 16ull << 20;
  auto o = run_ok(s);
  EXPECT_EQ(o.reason, EndReason::out_of_memory) << o.detail << " exit " << o.exit_code;
}

// Given sleep 30 with a 1 s timeout, when run, then the reason is timeout and the container no longer runs.
TEST_F(DockerExecutorTest, TimeoutKills) {
  auto s = spec("timeout", "sleep 30");
  s.timeout = std::chrono::seconds(1);
  auto t0 = std::chrono::steady_clock::now();
  auto o = run_ok(s);
  EXPECT_EQ(o.reason, EndReason::timeout) << o.detail;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(15));
  auto owned = sync(m_exec->list_owned(m_node));
  ASSERT_TRUE(owned.ok());
  ASSERT_EQ(owned->size(), 1u);
  EXPECT_FALSE((*owned)[0].running);
}

// Given a running sleep, when cancel() is called after 500 ms, then the reason is cancelled; an unknown job cannot be cancelled.
TEST_F(DockerExecutorTest, CancelKills) {
  EXPECT_FALSE(m_exec->cancel("nope"));
  net::steady_timer timer(m_io, std::chrono::milliseconds(500));
  bool cancelled = false;
  timer.async_wait([&](boost::system::error_code) { cancelled = m_exec->cancel("cancel"); });
  auto t0 = std::chrono::steady_clock::now();
  auto o = run_ok(spec("cancel", "sleep 30"));
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(o.reason, EndReason::cancelled) << o.detail;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(15));
}

// Given an image the engine does not have, when run, then the outcome is engine_error naming the image.
TEST_F(DockerExecutorTest, MissingImage) {
  auto s = spec("noimage", "true");
  s.image = "ciro/does-not-exist:latest";
  auto o = run_ok(s);
  EXPECT_EQ(o.reason, EndReason::engine_error);
  EXPECT_NE(o.detail.find("image ciro/does-not-exist:latest not found on the engine"), std::string::npos) << o.detail;
  EXPECT_TRUE(o.container_id.empty());
  EXPECT_FALSE(sync(m_exec->image_exists("ciro/does-not-exist:latest")).value());
}

// Given a job probing its sandbox, when run, then root is read-only, /tmp writable, only lo exists, CapEff is 0 and /input is read-only.
TEST_F(DockerExecutorTest, Isolation) {
  fs::path in = m_dir / "input";
  fs::create_directories(in);
  std::ofstream(in / "in.txt") << "input data";
  auto s = spec("iso",
                "touch /rootfile 2>/dev/null && echo ROOT_WRITABLE; touch /tmp/t && echo TMP_OK; "
                "echo IFACES $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '); grep CapEff /proc/self/status; "
                "cat /input/in.txt; echo; touch /input/new 2>/dev/null && echo INPUT_WRITABLE; echo done");
  s.input_dir = in;
  auto o = run_ok(s);
  EXPECT_EQ(o.reason, EndReason::exited) << o.detail;
  std::string out = slurp(s.stdout_file);
  EXPECT_EQ(out.find("ROOT_WRITABLE"), std::string::npos) << out;
  EXPECT_NE(out.find("TMP_OK"), std::string::npos) << out;
  EXPECT_NE(out.find("IFACES lo\n"), std::string::npos) << out;
  EXPECT_NE(out.find("CapEff:\t0000000000000000"), std::string::npos) << out;
  EXPECT_NE(out.find("input data"), std::string::npos) << out;
  EXPECT_EQ(out.find("INPUT_WRITABLE"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(in / "new"));
}

// Given 5000 bytes of stdout and a 1000-byte log cap, when run, then exactly 1000 bytes are kept and logs_truncated is set.
TEST_F(DockerExecutorTest, LogCap) {
  auto s = spec("logcap", "head -c 5000 /dev/zero | tr '\\0' a; echo; echo more >&2");
  s.max_log_bytes = 1000;
  auto o = run_ok(s);
  EXPECT_EQ(o.reason, EndReason::exited) << o.detail;
  EXPECT_TRUE(o.logs_truncated);
  EXPECT_EQ(o.stdout_bytes + o.stderr_bytes, 1000u);
  EXPECT_EQ(fs::file_size(s.stdout_file) + fs::file_size(s.stderr_file), 1000u);
}

// Given 50 kB in /output and a 10 kB cap, when run, then output_truncated is set and the big file is not left half-written.
TEST_F(DockerExecutorTest, OutputCap) {
  auto s = spec("outcap", "echo small > /output/a_small; head -c 50000 /dev/zero > /output/b_big");
  s.max_output_bytes = 10000;
  auto o = run_ok(s);
  EXPECT_EQ(o.reason, EndReason::exited) << o.detail;
  EXPECT_TRUE(o.output_truncated);
  EXPECT_FALSE(fs::exists(s.output_dir / "b_big"));
}

// Given a job that keeps writing to /output past its resources.disk and would then sleep for a
// minute, when it runs, then it is stopped while running with reason disk_limit (not left to fill
// the engine's disk until its timeout), and collection still stops at the cap.
TEST_F(DockerExecutorTest, DiskLimitStopsAGrowingJob) {
  auto s = spec("diskcap", "head -c 300000 /dev/zero > /output/grow; sleep 60");
  s.max_output_bytes = 100000;
  s.timeout = std::chrono::seconds(120);
  const auto started = std::chrono::steady_clock::now();
  auto o = run_ok(s);
  EXPECT_EQ(o.reason, EndReason::disk_limit) << o.detail;
  EXPECT_NE(o.detail.find("resources.disk"), std::string::npos) << o.detail;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(60));  // not the sleep's end
  EXPECT_TRUE(o.output_truncated);
}

// Given jobs ending around the time the disk guard first looks at /output (within the cap), when
// run one after another, then each ends normally and promptly (the guard's inspect never holds up
// the job's own wait, inspect or collection).
TEST_F(DockerExecutorTest, DiskGuardDoesNotDelayJobsEndingNearItsFirstLook) {
  for (const char* sleep : {"0.8", "0.9", "1.0", "1.1", "1.2"}) {
    auto s = spec(std::string("diskedge") + sleep, std::string("echo x > /output/a; sleep ") + sleep);
    s.max_output_bytes = 100000;
    const auto started = std::chrono::steady_clock::now();
    auto o = run_ok(s);
    EXPECT_EQ(o.reason, EndReason::exited) << o.detail;
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15)) << sleep;  // a stall shows as 20 s
    ASSERT_TRUE(sync(m_exec->remove(o.container_id)).ok());
  }
}

// Given a finished container, when resume() is called for it, then the outcome is collected again the same way.
TEST_F(DockerExecutorTest, ResumeFinishedContainer) {
  auto s = spec("resume", "echo r > /output/r; exit 3");
  auto o = run_ok(s);
  fs::remove_all(s.output_dir);
  auto r = sync(m_exec->resume(s, o.container_id));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->reason, EndReason::exited) << r->detail;
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(slurp(s.output_dir / "r"), "r\n");
}

// Given a container left running by a "crashed" node (with a partial log file), when resume() is called, then it is
// waited for, /output collected, and the log file holds the container's whole log (re-read from the engine).
TEST_F(DockerExecutorTest, ResumeRunningContainer) {
  auto s = spec("resume-run", "echo early; sleep 2; echo late; echo b > /output/b");
  std::ofstream(s.stdout_file) << "before-restart\n";
  std::string id = start_detached(s);
  ASSERT_FALSE(id.empty());
  auto r = sync(m_exec->resume(s, id));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->reason, EndReason::exited) << r->detail;
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(slurp(s.output_dir / "b"), "b\n");
  std::string out = slurp(s.stdout_file);
  EXPECT_EQ(out, "early\nlate\n");
  EXPECT_EQ(r->stdout_bytes, out.size());
}

// Given a running container whose job timeout has already mostly elapsed, when resumed, then it is killed with reason timeout.
TEST_F(DockerExecutorTest, ResumeRunningContainerTimesOut) {
  auto s = spec("resume-timeout", "sleep 30");
  s.timeout = std::chrono::seconds(1);
  std::string id = start_detached(s);
  ASSERT_FALSE(id.empty());
  auto t0 = std::chrono::steady_clock::now();
  auto r = sync(m_exec->resume(s, id));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->reason, EndReason::timeout) << r->detail;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(15));
}

// Given a trivial job, when run and removed 10 times, then the lifecycle timings are printed (a probe, not a check:
// run with --gtest_also_run_disabled_tests).
TEST_F(DockerExecutorTest, DISABLED_LifecycleTiming) {
  std::vector<double> ms;
  for (int i = 0; i < 10; ++i) {
    auto s = spec("timing-" + std::to_string(i), "true");
    auto t0 = std::chrono::steady_clock::now();
    auto r = sync(m_exec->run_and_remove(s));
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->reason, EndReason::exited) << r->detail;
  }
  std::sort(ms.begin(), ms.end());
  std::printf("lifecycle (create, start, logs, wait, inspect, archive, remove): min %.0f median %.0f max %.0f ms\n",
              ms.front(), (ms[4] + ms[5]) / 2, ms.back());
}

// Given the engine, when info() is asked, then it reports API version 1.41.
TEST_F(DockerExecutorTest, Info) {
  auto i = sync(m_exec->info());
  ASSERT_TRUE(i.ok()) << i.error().to_string();
  EXPECT_EQ(i->api_version, "1.41");
  EXPECT_FALSE(i->version.empty());
}

}  // namespace
}  // namespace ciro::compute
