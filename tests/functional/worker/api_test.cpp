// The worker's HTTP API as a client sees it: jobs that really run in the engine, and every kind
// of bad input answered with a clear 4xx while the node keeps serving.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "worker_process.h"

using namespace ciro::test;
using nlohmann::json;

namespace {

class WorkerApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    s_dir = new std::filesystem::path(fresh_dir("api"));
    s_worker = new WorkerProcess(*s_dir / "data",
                                 {"--set", "executor.max_concurrent_jobs=2", "--set", "api.body_limit=\"64KiB\""});
    auto r = s_worker->start();
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  static void TearDownTestSuite() {
    if (s_worker) {
      EXPECT_EQ(s_worker->terminate(), 0);
      // SIGTERM leaves running containers for the next start to reattach; there is none here.
      remove_engine_containers(s_worker->node_id());
      delete s_worker;
    }
    s_worker = nullptr;
    std::filesystem::remove_all(*s_dir);
    delete s_dir;
  }
  void SetUp() override { ASSERT_NE(s_worker, nullptr); }
  static WorkerProcess& w() { return *s_worker; }

  // Posts a spec and expects an error status naming a field.
  static void expect_refused(const std::string& body, int status, const std::string& field) {
    auto r = w().post("/api/v1/jobs", body);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, status) << body << " -> " << r->body;
    auto j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << r->body;
    EXPECT_FALSE(j["error"].value("message", "").empty());
    if (!field.empty()) {
      EXPECT_EQ(j["error"].value("field", ""), field) << r->body;
    }
  }

  static std::filesystem::path* s_dir;
  static WorkerProcess* s_worker;
};
std::filesystem::path* WorkerApi::s_dir = nullptr;
WorkerProcess* WorkerApi::s_worker = nullptr;

const std::string V = R"("api_version":"ciro/v1")";

// Sends raw bytes to the worker and returns everything it answers until it closes the
// connection (or 3 s pass).
std::string raw_exchange(const std::string& url, const std::string& bytes) {
  const std::string host = url.substr(7);
  const auto colon = host.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(host.substr(colon + 1))));
  ::inet_pton(AF_INET, host.substr(0, colon).c_str(), &addr.sin_addr);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size())) {
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

// Given a job hashing an inline input, when it runs, then it succeeds, its output holds the
// hash, its logs are served, and its signed manifest lists the output with size and SHA-256.
TEST_F(WorkerApi, JobRunsAndProducesSignedResult) {
  std::string id = w().submit(
      "{" + V + R"(,"command":["sh","-c","sha256sum /input/a.txt | cut -d' ' -f1 > /output/h.txt; echo done"],
    "inputs":[{"path":"a.txt","content":"abc"}],"timeout":"60s"})");
  ASSERT_FALSE(id.empty());
  auto done = json::parse(w().wait_job(id));
  EXPECT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(done["reason"], "exited");
  auto out = w().get("/api/v1/jobs/" + id + "/outputs/h.txt");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->body, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n");
  auto logs = w().get("/api/v1/jobs/" + id + "/logs?stream=stdout");
  EXPECT_EQ(logs->body, "done\n");
  // An HTTP/1.0 client gets the streamed body as is (no chunks), ended by the close.
  const std::string old = raw_exchange(w().url(), "GET /api/v1/jobs/" + id + "/outputs/h.txt HTTP/1.0\r\nAuthorization: Bearer " +
                                                      w().token() + "\r\n\r\n");
  EXPECT_EQ(old.rfind("HTTP/1.0 200", 0), 0u) << old;
  EXPECT_EQ(old.find("chunked"), std::string::npos) << old;
  EXPECT_EQ(old.substr(old.find("\r\n\r\n") + 4), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n");
  auto manifest = json::parse(w().get("/api/v1/jobs/" + id + "/result")->body);
  EXPECT_EQ(manifest["outputs"][0]["path"], "h.txt");
  EXPECT_EQ(manifest["outputs"][0]["size"], 65);
  auto sig = json::parse(w().get("/api/v1/jobs/" + id + "/result/signature")->body);
  EXPECT_EQ(sig["manifest_sha256"], done["manifest_sha256"]);
}

// Given jobs that exit 3, overrun a 1 s timeout and exceed a 16 MiB memory limit, when they run,
// then each ends failed with the matching reason and exit code.
TEST_F(WorkerApi, EndReasonsExitTimeoutOom) {
  std::string exit3 = w().submit("{" + V + R"(,"command":["sh","-c","exit 3"]})");
  std::string slow = w().submit("{" + V + R"(,"command":["sleep","30"],"timeout":"1s"})");
  std::string hog =
      w().submit("{" + V + R"(,"command":["sh","-c","x=$(head -c 64000000 /dev/zero | tr '\\0' a); echo ${#x}"],
    "resources":{"memory":"16MiB"},"timeout":"60s"})");
  ASSERT_FALSE(exit3.empty() || slow.empty() || hog.empty());
  auto a = json::parse(w().wait_job(exit3));
  EXPECT_EQ(a["state"], "failed");
  EXPECT_EQ(a["reason"], "exited");
  EXPECT_EQ(a["exit_code"], 3);
  auto b = json::parse(w().wait_job(slow));
  EXPECT_EQ(b["reason"], "timeout") << b.dump();
  auto c = json::parse(w().wait_job(hog));
  EXPECT_EQ(c["reason"], "out_of_memory") << c.dump();
}

// Given a running job, when it is cancelled, then it ends cancelled and its container is gone;
// cancelling it again is a 409.
TEST_F(WorkerApi, CancelRunningJob) {
  std::string id = w().submit("{" + V + R"(,"command":["sleep","60"]})");
  ASSERT_FALSE(id.empty());
  for (int i = 0; i < 100; ++i) {
    if (json::parse(w().get("/api/v1/jobs/" + id)->body)["state"] == "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto r = w().del("/api/v1/jobs/" + id);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 202) << r->body;
  auto done = json::parse(w().wait_job(id, std::chrono::seconds(30)));
  EXPECT_EQ(done["state"], "cancelled") << done.dump();
  EXPECT_EQ(w().del("/api/v1/jobs/" + id)->status, 409);
}

// Given a running job with follow=true, when its logs are read, then the stream carries lines
// written over time and ends when the job ends.
TEST_F(WorkerApi, FollowLogsStreamsUntilTheEnd) {
  std::string id = w().submit("{" + V + R"(,"command":["sh","-c","for i in 1 2 3; do echo line$i; sleep 0.3; done"]})");
  ASSERT_FALSE(id.empty());
  auto logs = w().get("/api/v1/jobs/" + id + "/logs?follow=true");
  ASSERT_TRUE(logs.ok());
  EXPECT_EQ(logs->body, "line1\nline2\nline3\n");
  EXPECT_NE(w().wait_job(id, std::chrono::seconds(5)), "");
}

// Given malformed JSON, wrong types, unknown fields, a missing image and bad resources, when
// submitted, then each is a 400/422 naming the field, and no job is created.
TEST_F(WorkerApi, BadSpecsAreRefusedWithTheField) {
  expect_refused("{not json", 400, "");
  expect_refused("[1,2]", 400, "");
  expect_refused(R"({"command":["true"]})", 400, "api_version");
  expect_refused("{" + V + R"(,"command":"true"})", 400, "command");
  expect_refused("{" + V + R"(,"command":[1]})", 400, "command[0]");
  expect_refused("{" + V + R"(,"colour":"blue"})", 400, "colour");
  expect_refused("{" + V + R"(,"resources":{"gpu":1}})", 400, "resources.gpu");
  expect_refused("{" + V + R"(,"image":"ciro/does-not-exist:1"})", 400, "image");
  expect_refused("{" + V + R"(,"resources":{"memory":-5}})", 400, "resources.memory");
  expect_refused("{" + V + R"(,"resources":{"memory":"900TiB"}})", 400, "resources.memory");
  expect_refused("{" + V + R"(,"resources":{"cpus":-1}})", 400, "resources.cpus");
  expect_refused("{" + V + R"(,"resources":{"cpus":1e9}})", 400, "resources.cpus");
  expect_refused("{" + V + R"(,"resources":{"pids":99999999999}})", 400, "resources.pids");
  expect_refused("{" + V + R"(,"timeout":"forever"})", 400, "timeout");
  expect_refused("{" + V + R"(,"inputs":[{"path":"../etc/passwd","content":"x"}]})", 400, "inputs[0].path");
  expect_refused("{" + V + R"(,"inputs":[{"path":"/abs","content":"x"}]})", 400, "inputs[0].path");
  expect_refused("{" + V + R"(,"network":"bridge"})", 400, "network");
  expect_refused("{" + V + R"(,"resources":{"gpus":1}})", 422, "resources.gpus");
  auto list = json::parse(w().get("/api/v1/jobs?limit=500")->body);
  for (const auto& j : list["jobs"]) EXPECT_NE(j["spec"].value("image", ""), "ciro/does-not-exist:1");
}

// Given a body over api.body_limit, when posted, then 413 and the node still serves.
TEST_F(WorkerApi, OversizedBodyIs413) {
  std::string big = "{" + V + R"(,"name":")" + std::string(100 * 1024, 'x') + "\"}";
  auto r = w().post("/api/v1/jobs", big);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(w().get("/health/live", false)->status, 200);
}

// Given no token, a wrong token, and the right one, when calling the API, then 401, 401, 200;
// health and metrics need no token.
TEST_F(WorkerApi, TokenIsRequired) {
  EXPECT_EQ(w().get("/api/v1/jobs", false)->status, 401);
  ciro::api::ClientRequest wrong;
  wrong.target = "/api/v1/node";
  wrong.headers["Authorization"] = "Bearer " + std::string(64, '0');
  EXPECT_EQ(ciro::api::http_request(w().url(), wrong)->status, 401);
  EXPECT_EQ(w().post("/api/v1/jobs", "{}", false)->status, 401);
  EXPECT_EQ(w().get("/api/v1/node")->status, 200);
  EXPECT_EQ(w().get("/health", false)->status, 200);
  EXPECT_EQ(w().get("/metrics", false)->status, 200);
}

// Given unknown ids, bad output paths and unknown routes, when requested, then 404/400/405.
TEST_F(WorkerApi, UnknownIdsPathsAndRoutes) {
  EXPECT_EQ(w().get("/api/v1/jobs/0123456789abcdef")->status, 404);
  EXPECT_EQ(w().get("/api/v1/jobs/not-an-id!")->status, 404);
  EXPECT_EQ(w().del("/api/v1/jobs/0123456789abcdef")->status, 404);
  EXPECT_EQ(w().get("/api/v1/jobs/0123456789abcdef/result")->status, 404);
  std::string id = w().submit("{" + V + R"(,"command":["sh","-c","echo hi > /output/ok.txt"]})");
  ASSERT_FALSE(id.empty());
  ASSERT_NE(w().wait_job(id), "");
  EXPECT_EQ(w().get("/api/v1/jobs/" + id + "/outputs/ok.txt")->status, 200);
  EXPECT_EQ(w().get("/api/v1/jobs/" + id + "/outputs/../../node.key")->status, 400);
  EXPECT_EQ(w().get("/api/v1/jobs/" + id + "/outputs/%2e%2e/%2e%2e/node.key")->status, 400);
  EXPECT_EQ(w().get("/api/v1/jobs/" + id + "/outputs//etc/passwd")->status, 400);  // an absolute output path
  EXPECT_EQ(w().get("/api/v1/jobs/" + id + "/outputs/missing.txt")->status, 404);
  EXPECT_EQ(w().get("/api/v1/nothing")->status, 404);
  EXPECT_EQ(w().post("/api/v1/node", "{}")->status, 405);
  EXPECT_EQ(w().get("/api/v1/jobs?state=bogus")->status, 400);
  EXPECT_EQ(w().get("/api/v1/jobs?limit=0")->status, 400);
}

// Given several jobs, when listed with a limit and a state filter, then pages chain by cursor.
TEST_F(WorkerApi, ListPagesByCursor) {
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(w().submit("{" + V + R"(,"command":["true"]})").empty());
  auto p1 = json::parse(w().get("/api/v1/jobs?limit=2")->body);
  ASSERT_EQ(p1["jobs"].size(), 2u);
  ASSERT_TRUE(p1["next_cursor"].is_number());
  auto p2 =
      json::parse(w().get("/api/v1/jobs?limit=2&after=" + std::to_string(p1["next_cursor"].get<long long>()))->body);
  ASSERT_GE(p2["jobs"].size(), 1u);
  EXPECT_NE(p2["jobs"][0]["id"], p1["jobs"][1]["id"]);
}

// Given the /metrics text, when checked by Prometheus's promtool, then it passes, and it holds
// the job, queue, HTTP and build metrics.
TEST_F(WorkerApi, MetricsPassPromtool) {
  std::string id = w().submit("{" + V + R"(,"command":["true"]})");
  ASSERT_FALSE(id.empty());
  ASSERT_NE(w().wait_job(id), "");
  auto m = w().get("/metrics", false);
  ASSERT_TRUE(m.ok());
  for (const char* name :
       {"ciro_jobs_finished_total", "ciro_job_duration_seconds", "ciro_jobs_running", "ciro_job_queue_depth",
        "ciro_http_requests_total", "ciro_build_info", "ciro_gpus_offered", "ciro_engine_up"}) {
    EXPECT_NE(m->body.find(name), std::string::npos) << name;
  }
  const auto dir = fresh_dir("metrics");
  const auto file = dir / "metrics.txt";
  std::ofstream(file) << m->body;
  auto [rc, out] = run_command("promtool check metrics < '" + file.string() + "' 2>&1");
  EXPECT_EQ(rc, 0) << out;
  std::filesystem::remove_all(dir);
}

// Given the health endpoints, when read on a node without NVML, then /health is degraded with
// a GPU note but 200, and live/ready are 200.
TEST_F(WorkerApi, HealthReportsEachCheck) {
  auto h = w().get("/health", false);
  ASSERT_EQ(h->status, 200);
  auto j = json::parse(h->body);
  EXPECT_EQ(j["checks"]["engine"]["status"], "ok");
  EXPECT_EQ(j["checks"]["database"]["status"], "ok");
  EXPECT_EQ(j["checks"]["gpu"]["status"], "degraded");
  EXPECT_NE(j["checks"]["gpu"]["detail"].get<std::string>().find("NVML"), std::string::npos);
  EXPECT_EQ(j["status"], "degraded");
  EXPECT_EQ(w().get("/health/ready", false)->status, 200);
}

// Given both slots busy and a third job queued, when the queued job is cancelled, then it ends
// cancelled without running, the node keeps serving, and the running jobs finish.
TEST_F(WorkerApi, CancelQueuedJob) {
  std::string a = w().submit("{" + V + R"(,"command":["sleep","2"]})");
  std::string b = w().submit("{" + V + R"(,"command":["sleep","2"]})");
  std::string c = w().submit("{" + V + R"(,"command":["sleep","2"]})");
  ASSERT_FALSE(a.empty() || b.empty() || c.empty());
  auto r = w().del("/api/v1/jobs/" + c);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 202) << r->body;
  auto j = json::parse(r->body);
  EXPECT_EQ(j["state"], "cancelled") << r->body;
  EXPECT_EQ(j["reason"], "cancelled");
  EXPECT_EQ(j["detail"], "cancelled before it started") << r->body;
  EXPECT_EQ(json::parse(w().wait_job(a))["state"], "succeeded");
  EXPECT_EQ(json::parse(w().wait_job(b))["state"], "succeeded");
  EXPECT_EQ(w().get("/health/live", false)->status, 200);
}

// Given a job that leaves a symlink in /output, when it ends, then the link is not collected and
// the job's detail (and signed manifest) says so.
TEST_F(WorkerApi, RefusedOutputEntriesAreNamedInTheDetail) {
  std::string id =
      w().submit("{" + V + R"(,"command":["sh","-c","echo x > /output/real.txt; ln -s /etc/passwd /output/link"]})");
  ASSERT_FALSE(id.empty());
  auto j = json::parse(w().wait_job(id));
  EXPECT_EQ(j["state"], "succeeded");
  EXPECT_NE(j.value("detail", "").find("link"), std::string::npos) << j.dump();
  auto manifest = json::parse(w().get("/api/v1/jobs/" + id + "/result")->body);
  ASSERT_EQ(manifest["outputs"].size(), 1u) << manifest.dump();
  EXPECT_EQ(manifest["outputs"][0]["path"], "real.txt");
  EXPECT_NE(manifest["detail"].get<std::string>().find("outputs not kept"), std::string::npos);
}

// Given hostile-input findings (invalid image names, clashing input paths, GPU memory without
// GPUs), when submitted, then each is a 400 naming the field and nothing is left on disk.
TEST_F(WorkerApi, MoreBadSpecsAreRefused) {
  for (const char* image : {"foo?bar", "foo#bar", "a..b", "../../containers/json", "CIRO/BUSYBOX", "/", ":", "x y"}) {
    expect_refused("{" + V + R"(,"image":")" + image + "\"}", 400, "image");
  }
  expect_refused("{" + V + R"(,"inputs":[{"path":"a","content":"1"},{"path":"a/b","content":"2"}]})", 400,
                 "inputs[1].path");
  expect_refused("{" + V + R"(,"inputs":[{"path":"a/b","content":"1"},{"path":"a","content":"2"}]})", 400,
                 "inputs[1].path");
  expect_refused("{" + V + R"(,"resources":{"gpu_memory":"1GiB"}})", 400, "resources.gpu_memory");
  // A key given twice, a negative reward, bytes that are not UTF-8: each named for what it is.
  expect_refused("{" + V + R"(,"timeout":"10s","timeout":"1h"})", 400, "timeout");
  expect_refused("{" + V + R"(,"reward":-1})", 400, "reward");
  auto r = w().post("/api/v1/jobs", "{" + V + ",\"name\":\"\xff\"}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("UTF-8"), std::string::npos) << r->body;
  auto neg = w().post("/api/v1/jobs", "{" + V + R"(,"reward":-1})");
  EXPECT_NE(neg->body.find("non-negative"), std::string::npos) << neg->body;
  for (const char* number : {"1e400", "-1e400"}) {  // beyond a double: 400, not 500
    auto big = w().post("/api/v1/jobs", "{" + V + ",\"env\":{\"A\":" + number + "}}");
    EXPECT_EQ(big->status, 400) << big->body;
    EXPECT_NE(big->body.find("out of range"), std::string::npos) << big->body;
  }
}

// Given a job whose output file name is not UTF-8, when it ends, then the job and the list still
// answer 200 (the name is skipped from the manifest and reported in the detail).
TEST_F(WorkerApi, NonUtf8OutputNameKeepsTheApiWorking) {
  std::string id = w().submit(
      "{" + V + R"(,"command":["sh","-c","touch \"/output/$(printf 'x\\377y')\"; echo ok > /output/fine.txt"]})");
  ASSERT_FALSE(id.empty());
  std::string done = w().wait_job(id);
  ASSERT_FALSE(done.empty());
  auto j = json::parse(done);
  EXPECT_EQ(j["state"], "succeeded");
  EXPECT_EQ(w().get("/api/v1/jobs?limit=500")->status, 200);
  auto manifest = json::parse(w().get("/api/v1/jobs/" + id + "/result")->body);
  ASSERT_EQ(manifest["outputs"].size(), 1u);
  EXPECT_EQ(manifest["outputs"][0]["path"], "fine.txt");
  EXPECT_EQ(w().get("/api/v1/jobs/%FF")->status, 404);
  EXPECT_EQ(w().get("/nope%FF", false)->status, 404);
}

// Given a container that ends at once under a 100 ms timeout, when it runs, then it succeeds
// (a late wait reply from the engine is not a timeout).
TEST_F(WorkerApi, QuickJobUnderShortTimeoutIsNotATimeout) {
  for (int i = 0; i < 2; ++i) {
    std::string id = w().submit("{" + V + R"(,"command":["true"],"timeout":"300ms"})");
    ASSERT_FALSE(id.empty());
    auto j = json::parse(w().wait_job(id));
    // On a loaded machine `true` may really outlive 300 ms; what must never happen is a kill that
    // found the container already stopped being reported as a timeout.
    EXPECT_EQ(j.value("detail", "").find("can only kill running containers"), std::string::npos) << j.dump();
    EXPECT_TRUE(j["state"] == "succeeded" || j["reason"] == "timeout") << j.dump();
  }
}

// Given a job that prints 5 MiB and exits at once, when it ends, then the whole stdout is kept
// and its size is in the manifest.
TEST_F(WorkerApi, FastLargeOutputIsKeptWhole) {
  std::string id =
      w().submit("{" + V + R"(,"command":["sh","-c","head -c 5242880 /dev/zero | tr '\\0' a; echo END >&2"]})");
  ASSERT_FALSE(id.empty());
  auto j = json::parse(w().wait_job(id));
  EXPECT_EQ(j["state"], "succeeded") << j.dump();
  auto manifest = json::parse(w().get("/api/v1/jobs/" + id + "/result")->body);
  EXPECT_EQ(manifest["stdout_log"]["size"], 5242880) << manifest.dump();
  EXPECT_EQ(manifest["stderr_log"]["size"], 4);
  EXPECT_FALSE(manifest["logs_truncated"].get<bool>());
}

// Given a client without a token announcing a 60 KB body, when it sends only the headers, then
// the 401 comes at once (the body is never waited for or held).
TEST_F(WorkerApi, UnauthenticatedBodyIsRefusedAtTheHeaders) {
  std::string host = w().url().substr(7);
  auto colon = host.rfind(':');
  auto [rc, out] = run_command("python3 -c \"import socket; s=socket.create_connection(('" + host.substr(0, colon) +
                               "'," + host.substr(colon + 1) +
                               "),timeout=5); s.sendall(b'POST /api/v1/jobs HTTP/1.1\\r\\nHost: x\\r\\n"
                               "Content-Type: application/json\\r\\nContent-Length: 60000\\r\\n\\r\\n'); "
                               "print(s.recv(200).decode().split(chr(13))[0])\"");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("401"), std::string::npos) << out;
}

// Given malformed request lines, when sent, then the server answers 400 and keeps serving.
TEST_F(WorkerApi, MalformedRequestLineIs400) {
  std::string host = w().url().substr(7);
  auto colon = host.rfind(':');
  for (const char* line :
       {"HELLO\\r\\n\\r\\n", "GET /health HTTP/2.0\\r\\n\\r\\n", "GET /he\\x01alth HTTP/1.1\\r\\n\\r\\n"}) {
    auto [rc, out] = run_command("python3 -c \"import socket; s=socket.create_connection(('" + host.substr(0, colon) +
                                 "'," + host.substr(colon + 1) + "),timeout=5); s.sendall(b'" + line +
                                 "'); print(s.recv(200).decode(errors='replace').split(chr(13))[0])\"");
    EXPECT_NE(out.find("400"), std::string::npos) << line << ": " << out;
  }
  EXPECT_EQ(w().get("/health/live", false)->status, 200);
}

// Given requests whose framing could be read two ways (a transfer coding other than chunked, one
// next to a Content-Length, two Content-Lengths) with a second request hidden behind, when sent,
// then each gets one 400 and the connection is closed: the hidden request is never answered.
TEST_F(WorkerApi, AmbiguousFramingIsRefusedAndClosed) {
  const std::string hidden = "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const std::string& head :
       {std::string("POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"),
        std::string("POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
                    "0\r\n\r\n"),
        std::string("POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n")}) {
    const std::string out = raw_exchange(w().url(), head + hidden);
    EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << head << " -> " << out;
    EXPECT_EQ(count_of(out, "HTTP/1.1 "), 1u) << head << " -> " << out;
  }
  EXPECT_EQ(w().get("/health/live", false)->status, 200);
}

// Given a request target without the leading '/', doubled slashes, and an encoded '/' inside a
// job id, when sent, then the first is a 400 and the others reach no route (404), not /health or
// the result route.
TEST_F(WorkerApi, TargetsAreMatchedExactly) {
  EXPECT_EQ(raw_exchange(w().url(), "GET health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(w().get("//api//v1//node")->status, 404);
  EXPECT_EQ(w().get("/api/v1/jobs/abc%2Fresult")->status, 404);
  auto huge = w().get("/api/v1/jobs?after=99999999999999999999999");
  EXPECT_EQ(huge->status, 400) << huge->body;
  EXPECT_EQ(w().get("/api/v1/jobs?limit=%2B5")->status, 400);
  // A HEAD refused from its headers gets the status and headers, no body.
  const std::string head = raw_exchange(w().url(), "HEAD /api/v1/node HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(head.rfind("HTTP/1.1 401", 0), 0u) << head;
  EXPECT_EQ(head.size(), head.find("\r\n\r\n") + 4) << head;
  EXPECT_EQ(w().get("/api/v1/jobs?after=%205")->status, 400);
}

// Given a job submitted with "Expect: 100-continue", when the headers are accepted, then the
// worker answers "100 Continue" before the body is sent, and then the final answer.
TEST_F(WorkerApi, ExpectContinueIsAnswered) {
  const std::string body = "{" + V + R"(,"command":["true"]})";
  const std::string out = raw_exchange(
      w().url(), "POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + w().token() +
                     "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nConnection: close\r\n"
                     "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(out.rfind("HTTP/1.1 100 Continue", 0), 0u) << out;
  EXPECT_NE(out.find("HTTP/1.1 201 Created"), std::string::npos) << out;
}

// Given requests announcing a body outside the API prefix's exact spelling and without a token
// (with "Expect: 100-continue"), when sent, then they are answered 401 from their headers: no
// 100 Continue invites the body and none is read.
TEST_F(WorkerApi, UnauthenticatedBodiesAreNeverInvited) {
  for (const std::string& target : {"//api/v1/jobs", "/API/v1/jobs", "/api", "/health"}) {
    const std::string out = raw_exchange(
        w().url(), "POST " + target + " HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n");
    EXPECT_EQ(out.find("100 Continue"), std::string::npos) << target << " -> " << out;
    EXPECT_EQ(out.rfind("HTTP/1.1 401", 0), 0u) << target << " -> " << out;
  }
}
