// The node as an operator sees it: identity, configuration errors, GPUs through a fake NVML,
// and ciroctl end to end.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <thread>

#include "engine_proxy.h"
#include "worker_process.h"

using namespace ciro::test;
using nlohmann::json;

namespace {
const std::string V = R"("api_version":"ciro/v1")";
}

// Given a first start, when the node restarts, then the key file is 0600, the folder 0700, and
// the peer id is the same 12D3KooW... id.
TEST(WorkerNode, IdentityIsStableAcrossRestarts) {
  auto dir = fresh_dir("identity");
  std::string first;
  {
    WorkerProcess w(dir / "data");
    ASSERT_TRUE(w.start().ok());
    first = json::parse(w.get("/api/v1/node")->body).value("peer_id", "");
    EXPECT_EQ(w.terminate(), 0);
  }
  struct stat st {};
  ASSERT_EQ(::stat((dir / "data" / "node.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir / "data").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((dir / "data" / "api.token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(first.rfind("12D3KooW", 0), 0u) << first;
  WorkerProcess again(dir / "data");
  ASSERT_TRUE(again.start().ok());
  EXPECT_EQ(json::parse(again.get("/api/v1/node")->body).value("peer_id", ""), first);
  EXPECT_EQ(again.terminate(), 0);
  ::chmod((dir / "data" / "node.key").c_str(), 0644);
  WorkerProcess refused(dir / "data");
  auto r = refused.start(std::chrono::seconds(10));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("chmod 600"), std::string::npos) << r.error().message;
  std::filesystem::remove_all(dir);
}

// Given an invalid value in a config file, when the worker starts, then it exits 2 naming the
// file, line and key; --print-config shows the effective values with the RPC URL redacted.
TEST(WorkerNode, ConfigErrorsAndPrintConfig) {
  auto dir = fresh_dir("config");
  std::ofstream(dir / "bad.toml") << "[node]\nid = \"x\"\n[executor]\nmax_memory = \"lots\"\n";
  auto [rc, out] = run_command(std::string(CIRO_WORKER_BIN) + " --config '" + (dir / "bad.toml").string() + "' 2>&1");
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("bad.toml:4"), std::string::npos) << out;
  EXPECT_NE(out.find("executor.max_memory"), std::string::npos) << out;
  std::ofstream(dir / "ok.toml") << "[blockchain]\nrpc_url = \"https://rpc.example/key123\"\n";
  auto [rc2, printed] =
      run_command("CIRO_EXECUTOR__MAX_CONCURRENT_JOBS=7 " + std::string(CIRO_WORKER_BIN) + " --config '" +
                  (dir / "ok.toml").string() + "' --print-config --set node.id=printed 2>&1");
  EXPECT_EQ(rc2, 0) << printed;
  EXPECT_EQ(printed.find("key123"), std::string::npos);
  EXPECT_NE(printed.find("max_concurrent_jobs = 7"), std::string::npos) << printed;
  EXPECT_NE(printed.find("id = 'printed'"), std::string::npos) << printed;
  std::filesystem::remove_all(dir);
}

// Given a fake NVML with two GPUs, when the node starts, then /api/v1/node and /metrics show
// both GPUs, and a job asking for three GPUs or 1 TiB of GPU memory is refused with the reason.
TEST(WorkerNode, FakeGpusAreReportedAndChecked) {
  auto dir = fresh_dir("gpu");
  WorkerProcess w(dir / "data", {"--set", std::string("gpu.library=\"") + CIRO_FAKE_NVML + "\""});
  ASSERT_TRUE(w.start().ok());
  auto node = json::parse(w.get("/api/v1/node")->body);
  ASSERT_EQ(node["gpus"].size(), 2u) << node.dump();
  EXPECT_FALSE(node["gpus"][0]["uuid"].get<std::string>().empty());
  EXPECT_TRUE(node["gpus"][1]["temperature_c"].is_null());
  std::string metrics;
  for (int i = 0; i < 40; ++i) {
    metrics = w.get("/metrics", false)->body;
    if (metrics.find("ciro_gpu_memory_total_bytes{") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(metrics.find("ciro_gpu_memory_total_bytes{"), std::string::npos);
  int status = 0;
  EXPECT_EQ(w.submit("{" + V + R"(,"resources":{"gpus":3}})", &status), "");
  EXPECT_EQ(status, 422);
  EXPECT_EQ(w.submit("{" + V + R"(,"resources":{"gpus":1,"gpu_memory":"1TiB"}})", &status), "");
  EXPECT_EQ(status, 422);
  EXPECT_EQ(json::parse(w.get("/health", false)->body)["checks"]["gpu"]["status"], "ok");
  EXPECT_EQ(w.terminate(), 0);
  std::filesystem::remove_all(dir);
}

// Given ciroctl, when a job is submitted with --wait, its result fetched and an output tampered
// with, then the exit codes are 0, 0, and 1 with a message naming the changed file.
TEST(WorkerNode, CtlSubmitResultVerify) {
  auto dir = fresh_dir("ctl");
  WorkerProcess w(dir / "data");
  ASSERT_TRUE(w.start().ok());
  std::ofstream(dir / "job.json") << "{" + V + R"(,"command":["sh","-c","echo 42 > /output/answer.txt"]})";
  const std::string ctl =
      std::string(CIRO_CTL_BIN) + " --url " + w.url() + " --token-file " + (w.data_dir() / "api.token").string();
  auto [rc, out] = run_command(ctl + " submit --wait " + (dir / "job.json").string() + " 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("succeeded"), std::string::npos) << out;
  std::string id = out.substr(out.find("submitted ") + 10, 28);
  auto [rc2, out2] = run_command(ctl + " result " + id + " --out " + (dir / "res").string() + " 2>&1");
  EXPECT_EQ(rc2, 0) << out2;
  EXPECT_NE(out2.find("verified"), std::string::npos) << out2;
  std::ofstream(dir / "res" / "outputs" / "answer.txt") << "43\n";
  auto [rc3, out3] = run_command(ctl + " verify " + (dir / "res").string() + " 2>&1");
  EXPECT_EQ(rc3, 1) << out3;
  EXPECT_NE(out3.find("answer.txt"), std::string::npos) << out3;
  auto [rc4, out4] = run_command(std::string(CIRO_CTL_BIN) + " --url " + w.url() + " --token wrong list 2>&1");
  EXPECT_EQ(rc4, 5) << out4;
  auto [rc5, out5] = run_command(ctl + " status 0000000000000000 2>&1");
  EXPECT_EQ(rc5, 3) << out5;
  EXPECT_EQ(w.terminate(), 0);
  std::filesystem::remove_all(dir);
}

// Given a worker started with a relative data_dir (as `make run` does with "./data"), when a job
// with an input file runs, then the input is mounted and the job succeeds: the engine, whose
// working directory is elsewhere, is given absolute paths.
TEST(WorkerNode, RelativeDataDirMountsInputs) {
  auto dir = fresh_dir("reldata");
  const auto previous = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  WorkerProcess w("data");
  const auto started = w.start();
  std::filesystem::current_path(previous);
  ASSERT_TRUE(started.ok()) << w.log_text();
  std::string id = w.submit("{" + V + R"(,"command":["sh","-c","cat /input/in.txt > /output/copy.txt"],
    "inputs":[{"path":"in.txt","content":"relative"}],"timeout":"60s"})");
  ASSERT_FALSE(id.empty());
  auto done = nlohmann::json::parse(w.wait_job(id));
  EXPECT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(w.get("/api/v1/jobs/" + id + "/outputs/copy.txt")->body, "relative");
  EXPECT_TRUE(std::filesystem::exists(dir / "data" / "jobs"));
  EXPECT_EQ(w.terminate(), 0);
  std::filesystem::remove_all(dir);
}

// Given a job that prints a line, sleeps, then prints another, when followed with
// `ciroctl logs -f`, then the first line reaches ciroctl's output while the job is still running
// (the client hands over what has arrived instead of waiting for a full buffer).
TEST(WorkerNode, CtlFollowPrintsLinesWhileTheJobRuns) {
  auto dir = fresh_dir("ctlfollow");
  WorkerProcess w(dir / "data");
  ASSERT_TRUE(w.start().ok());
  std::string id = w.submit("{" + V + R"(,"command":["sh","-c","echo first; sleep 4; echo second"],"timeout":"60s"})");
  ASSERT_FALSE(id.empty());
  const std::string cmd = std::string(CIRO_CTL_BIN) + " --url " + w.url() + " --token-file " +
                          (w.data_dir() / "api.token").string() + " logs -f " + id + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char line[256] = {};
  ASSERT_NE(std::fgets(line, sizeof line, p), nullptr);
  const auto state = nlohmann::json::parse(w.get("/api/v1/jobs/" + id)->body)["state"];
  EXPECT_EQ(std::string(line), "first\n");
  EXPECT_EQ(state, "running");
  std::string rest;
  while (std::fgets(line, sizeof line, p) != nullptr) rest += line;
  EXPECT_EQ(::pclose(p), 0);
  EXPECT_NE(rest.find("second"), std::string::npos) << rest;
  EXPECT_EQ(w.terminate(), 0);
  std::filesystem::remove_all(dir);
}

// Given a node with the fake NVML behind a recording engine proxy, when a job asks for one GPU,
// then the container create sent to the engine carries an NVIDIA device request with the chosen
// GPU's UUID (Podman ignores it here, so the job still runs).
TEST(WorkerNode, GpuJobSendsNvidiaDeviceRequest) {
  auto dir = fresh_dir("gpureq");
  EngineProxy proxy(dir / "proxy.sock", engine_socket());
  WorkerProcess w(dir / "data", {"--set", std::string("gpu.library=\"") + CIRO_FAKE_NVML + "\"", "--set",
                                 "executor.engine_socket=\"" + proxy.path().string() + "\""});
  ASSERT_TRUE(w.start().ok()) << w.log_text();
  std::string id = w.submit("{" + V + R"(,"command":["true"],"resources":{"gpus":1}})");
  ASSERT_FALSE(id.empty());
  auto done = json::parse(w.wait_job(id));
  // The chooser prefers the least busy GPU: the fake's GPU 1 reports no utilisation (idle).
  const std::string chosen = done.value("gpus", "");
  EXPECT_TRUE(chosen == "GPU-00000000-1111-2222-3333-444444444444" ||
              chosen == "GPU-55555555-6666-7777-8888-999999999999")
      << done.dump();
  std::string create;
  for (const auto& r : proxy.requests()) {
    if (r.find("POST /v1.41/containers/create") != std::string::npos) create = r;
  }
  ASSERT_FALSE(create.empty());
  auto body = json::parse(create.substr(create.find("\r\n\r\n") + 4));
  const auto& req = body["HostConfig"]["DeviceRequests"];
  ASSERT_EQ(req.size(), 1u) << body.dump();
  EXPECT_EQ(req[0]["Driver"], "nvidia");
  EXPECT_EQ(req[0]["DeviceIDs"], json::array({chosen}));
  EXPECT_EQ(req[0]["Capabilities"], json::parse(R"([["gpu"]])"));
  EXPECT_EQ(body["HostConfig"]["CapDrop"], json::array({"ALL"}));
  EXPECT_EQ(body["HostConfig"]["NetworkMode"], "none");
  EXPECT_EQ(w.terminate(), 0);
  std::filesystem::remove_all(dir);
}
