// ciroctl (and `ciro-worker keys`) given bad input, run as a user runs them: each case must be a
// local error that names what is wrong and what is allowed, with the README's exit code (2 = bad
// usage). Most cases point ciroctl at a loopback port that refuses connections, so a check that
// wrongly reached the network would exit 4 instead. The job id cases use a real worker started
// without a container engine (it still answers the API); no test needs Podman.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "api/http_client.h"
#include "utils/identity.h"
#include "worker_process.h"

extern char** environ;

using namespace ciro::test;
namespace fs = std::filesystem;

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs a binary with args (stderr merged into the output), without the caller's CIRO_URL and
// CIRO_API_TOKEN so that only what the test passes counts. Returns {exit status, output}.
std::pair<int, std::string> run_bin(const std::string& bin, const std::vector<std::string>& args,
                                    const std::string& prefix = "env -u CIRO_URL -u CIRO_API_TOKEN") {
  std::string command = prefix + " " + shell_quote(bin);
  for (const auto& a : args) {
    command += ' ';  // appended apart: GCC 12 warns (-Wrestrict, falsely) about " " + string
    command += shell_quote(a);
  }
  return run_command(command + " 2>&1");
}

std::pair<int, std::string> ctl(const std::vector<std::string>& args) { return run_bin(CIRO_CTL_BIN, args); }

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A loopback port that is bound but not listening, so a connection to it is refused at once; held
// for the test's lifetime so that nothing else can take it.
class RefusingPort {
 public:
  RefusingPort() {
    m_fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (m_fd < 0 || ::bind(m_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ADD_FAILURE() << "cannot bind a loopback port";
      return;
    }
    m_url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  }
  ~RefusingPort() {
    if (m_fd >= 0) ::close(m_fd);
  }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  const std::string& url() const { return m_url; }

 private:
  int m_fd = -1;
  std::string m_url;
};

// A ciro-worker whose engine socket does not exist: it never becomes ready (503) but its API
// answers, which is all the job id cases need. Port 0, own data dir, stopped by its PID.
class EnginelessWorker {
 public:
  explicit EnginelessWorker(fs::path dir) : m_dir(std::move(dir)) {}
  ~EnginelessWorker() { stop(); }
  EnginelessWorker(const EnginelessWorker&) = delete;
  EnginelessWorker& operator=(const EnginelessWorker&) = delete;

  // Starts and waits until /health/live answers 200; "" on success, else why not.
  std::string start() {
    const fs::path data = m_dir / "data";
    fs::create_directories(data);
    std::vector<std::string> args = {CIRO_WORKER_BIN,
                                     "--config",
                                     std::string(CIRO_SOURCE_DIR) + "/config/development.toml",
                                     "--data-dir",
                                     data.string(),
                                     "--bind",
                                     "127.0.0.1:0",
                                     "--id",
                                     "ft-ctl-errors",
                                     "--set",
                                     "executor.engine_socket=\"" + (m_dir / "no-engine.sock").string() + "\"",
                                     "--set",
                                     "node.shutdown_timeout=\"5s\""};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = (m_dir / "worker.log").string();
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawn(&m_pid, CIRO_WORKER_BIN, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      m_pid = -1;
      return "cannot start ciro-worker: " + std::string(std::strerror(rc));
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
        m_pid = -1;
        return "ciro-worker exited during start; see " + log;
      }
      std::ifstream addr(data / "api.addr");
      std::string url;
      if (addr && std::getline(addr, url) && !url.empty()) {
        ciro::api::ClientRequest req;
        req.target = "/health/live";
        auto r = ciro::api::http_request(url, req);
        if (r.ok() && r->status == 200) {
          m_url = url;
          std::ifstream tok(data / "api.token");
          std::getline(tok, m_token);
          return "";
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return "ciro-worker did not answer /health/live; see " + log;
  }

  // SIGTERM, then SIGKILL if it has not exited within 10 s.
  void stop() {
    if (m_pid <= 0) return;
    ::kill(m_pid, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
        m_pid = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, &status, 0);
    m_pid = -1;
  }

  const std::string& url() const { return m_url; }
  const std::string& token() const { return m_token; }

 private:
  fs::path m_dir;
  pid_t m_pid = -1;
  std::string m_url, m_token;
};

// The job id cases share one worker: starting it is the slow part.
class CtlJobIds : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    s_dir = new fs::path(fresh_dir("ctl-ids"));
    s_worker = new EnginelessWorker(*s_dir);
    s_start_error = new std::string(s_worker->start());
  }
  static void TearDownTestSuite() {
    delete s_worker;  // stops it
    s_worker = nullptr;
    fs::remove_all(*s_dir);
    delete s_dir;
    delete s_start_error;
  }
  void SetUp() override { ASSERT_EQ(*s_start_error, ""); }

  static std::pair<int, std::string> ctl_worker(std::vector<std::string> args) {
    args.insert(args.begin(), {"--url", s_worker->url(), "--token", s_worker->token()});
    return ctl(args);
  }

  static inline fs::path* s_dir = nullptr;
  static inline EnginelessWorker* s_worker = nullptr;
  static inline std::string* s_start_error = nullptr;
};

const std::string VALID_UNKNOWN_ID = "0123456789abcdef0123456789ab";  // the node's 28-digit form

}  // namespace

// Given a running worker, when `ciroctl status` gets an id with a space, then ciroctl refuses it
// itself (exit 2, saying what a job id is) instead of sending a malformed request line.
TEST_F(CtlJobIds, StatusWithSpaceInIdIsRefusedLocally) {
  auto [rc, out] = ctl_worker({"status", "a b"});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(has(out, "'a b' is not a job id")) << out;
  EXPECT_TRUE(has(out, "lowercase hex digits")) << out;
  EXPECT_FALSE(has(out, "HTTP 400")) << out;
}

// Given a running worker, when `ciroctl cancel ''` is run, then the empty id is refused locally
// (exit 2) instead of a DELETE on the job list answered 405.
TEST_F(CtlJobIds, CancelWithEmptyIdIsRefusedLocally) {
  auto [rc, out] = ctl_worker({"cancel", ""});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(has(out, "the job id is empty")) << out;
  EXPECT_FALSE(has(out, "HTTP 405")) << out;
}

// Given a running worker, when logs and result get ids holding a path or a query, then both are
// refused locally (exit 2) and result creates no output folder.
TEST_F(CtlJobIds, LogsAndResultRefuseIdsThatWouldChangeThePath) {
  auto [rc, out] = ctl_worker({"logs", "../node"});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(has(out, "'../node' is not a job id")) << out;
  const fs::path res = *s_dir / "res-bad-id";
  auto [rc2, out2] = ctl_worker({"result", VALID_UNKNOWN_ID + "?x=1", "--out", res.string()});
  EXPECT_EQ(rc2, 2) << out2;
  EXPECT_TRUE(has(out2, "is not a job id")) << out2;
  EXPECT_FALSE(fs::exists(res));
}

// Given a running worker, when an id has upper-case hex digits, then ciroctl says that job ids are
// lower case (exit 2) instead of the node's "no job with id" (exit 3).
TEST_F(CtlJobIds, UpperCaseIdIsRefusedNamingTheCase) {
  auto [rc, out] = ctl_worker({"status", "0123ABCD"});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(has(out, "upper-case")) << out;
}

// Given a running worker, when a well-formed id that names no job is used, then the request is
// sent and the node's answer is reported: not found (exit 3), and result leaves no folder behind
// that would block a retry with the right id.
TEST_F(CtlJobIds, WellFormedUnknownIdReachesTheNodeAndLeavesNoFolder) {
  auto [rc, out] = ctl_worker({"status", VALID_UNKNOWN_ID});
  EXPECT_EQ(rc, 3) << out;
  EXPECT_TRUE(has(out, "no job with id '" + VALID_UNKNOWN_ID + "'")) << out;
  const fs::path res = *s_dir / "res-unknown";
  auto [rc2, out2] = ctl_worker({"result", VALID_UNKNOWN_ID, "--out", res.string()});
  EXPECT_EQ(rc2, 3) << out2;
  EXPECT_FALSE(fs::exists(res)) << "result created " << res << " for a job that does not exist";
}

// Given --url without a scheme, when any network command runs, then it is bad usage (exit 2)
// showing the form http://HOST:PORT, not "unreachable" (exit 4).
TEST(CtlErrors, UrlWithoutSchemeIsBadUsage) {
  auto [rc, out] = ctl({"--url", "notaurl", "node"});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(has(out, "--url 'notaurl': not a URL")) << out;
  EXPECT_TRUE(has(out, "http://HOST:PORT")) << out;
}

// Given an https:// URL, when a command runs, then it is bad usage (exit 2) saying ciroctl speaks
// plain HTTP only and how to reach a remote node (ssh tunnel or TLS proxy).
TEST(CtlErrors, HttpsUrlIsRefusedAsPlainHttpOnly) {
  RefusingPort port;
  const std::string https = "https" + port.url().substr(4);
  auto [rc, out] = ctl({"--url", https, "list"});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(has(out, "plain HTTP only")) << out;
  EXPECT_TRUE(has(out, "ssh tunnel")) << out;
}

// Given a URL with a bad port, or a bad CIRO_URL in the environment, when a command runs, then it
// is bad usage (exit 2) naming where the URL came from and what is wrong with it.
TEST(CtlErrors, BadPortAndBadEnvironmentUrlAreBadUsage) {
  auto [rc, out] = ctl({"--url", "http://127.0.0.1:99999", "node"});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(has(out, "port '99999' is not a number from 1 to 65535")) << out;
  auto [rc2, out2] = run_bin(CIRO_CTL_BIN, {"node"}, "env -u CIRO_API_TOKEN CIRO_URL=127.0.0.1:8080");
  EXPECT_EQ(rc2, 2) << out2;
  EXPECT_TRUE(has(out2, "CIRO_URL '127.0.0.1:8080': not a URL")) << out2;
}

// Given a negative --wait-timeout, when submit runs, then it is refused before anything is sent
// (exit 2, not the refused connection's 4) saying seconds >= 0 are allowed.
TEST(CtlErrors, NegativeWaitTimeoutIsRefused) {
  RefusingPort port;
  auto dir = fresh_dir("ctl-wait");
  std::ofstream(dir / "job.json") << R"({"image":"alpine:3.20","command":["true"]})";
  auto [rc, out] = ctl({"--url", port.url(), "submit", "--wait", "--wait-timeout", "-5", (dir / "job.json").string()});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(has(out, "--wait-timeout -5: give a number of seconds >= 0")) << out;
  fs::remove_all(dir);
}

// Given verify with a --key that is neither hex nor a peer id, when it runs, then it is bad usage
// (exit 2) naming the accepted forms; well-formed keys of both forms pass that check and reach the
// verification (which fails here: the folder is empty, exit 1).
TEST(CtlErrors, VerifyWithMalformedKeyIsBadUsage) {
  auto dir = fresh_dir("ctl-verify");
  auto [rc, out] = ctl({"verify", dir.string(), "--key", "garbage"});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(has(out, "--key 'garbage' is neither a hex Ed25519 public key")) << out;
  EXPECT_TRUE(has(out, "peer id")) << out;

  ciro::utils::Ed25519PublicKey key{};
  key.fill(0x42);
  const std::string hex(64, 'a');
  for (const std::string& good : {hex, "0x" + hex, ciro::utils::peer_id_string(key)}) {
    auto [rc2, out2] = ctl({"verify", dir.string(), "--key", good});
    EXPECT_EQ(rc2, 1) << good << ": " << out2;
    EXPECT_TRUE(has(out2, "VERIFICATION FAILED")) << good << ": " << out2;
  }
  fs::remove_all(dir);
}

// Given an unknown command, when ciroctl runs, then it says the command is unknown and lists the
// valid ones (exit 2) instead of "A subcommand is required".
TEST(CtlErrors, UnknownCommandIsNamedWithTheValidOnes) {
  auto [rc, out] = ctl({"bogus"});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(has(out, "unknown command 'bogus'")) << out;
  for (const char* command : {"submit", "status", "logs", "result", "cancel", "list", "node", "verify"}) {
    EXPECT_TRUE(has(out, command)) << command << " not listed: " << out;
  }
  auto [rc2, out2] = ctl({});
  EXPECT_EQ(rc2, 2) << out2;
  EXPECT_TRUE(has(out2, "a command is required; commands: submit")) << out2;
}

// Given `ciro-worker keys bogus`, when it runs, then it names the unknown command and lists new,
// import and show (exit 2) instead of asking for --keystore.
TEST(CtlErrors, WorkerKeysUnknownCommandIsNamed) {
  auto [rc, out] = run_bin(CIRO_WORKER_BIN, {"keys", "bogus"});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(has(out, "unknown command 'bogus'; commands: new, import, show")) << out;
  EXPECT_FALSE(has(out, "--keystore FILE is required")) << out;
}

// Given `list --state` with a state that does not exist, when it runs, then CLI11 refuses it
// locally (exit 2) listing the states, instead of sending it in the query.
TEST(CtlErrors, ListWithUnknownStateIsBadUsage) {
  RefusingPort port;
  auto [rc, out] = ctl({"--url", port.url(), "list", "--state", "done&limit=1"});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(has(out, "succeeded")) << out;
}

// Given a directory as the job spec, when submit runs, then it is refused before anything is
// sent (exit 2) naming the path.
TEST(CtlErrors, SubmitOfDirectoryIsRefusedWithThePath) {
  RefusingPort port;
  auto dir = fresh_dir("ctl-submit-dir");
  auto [rc, out] = ctl({"--url", port.url(), "submit", dir.string()});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(has(out, "job spec " + dir.string() + ": is a directory")) << out;
  fs::remove_all(dir);
}

// Given a job spec path that does not exist, when submit runs, then the error names the path and
// says there is no such file (exit 2).
TEST(CtlErrors, SubmitOfMissingFileNamesThePath) {
  RefusingPort port;
  auto dir = fresh_dir("ctl-submit-missing");
  const std::string missing = (dir / "nope.json").string();
  auto [rc, out] = ctl({"--url", port.url(), "submit", missing});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(has(out, "job spec " + missing + ": no such file")) << out;
  fs::remove_all(dir);
}

// Given a job spec file that is not JSON, or JSON that is not an object, or bad JSON on stdin,
// when submit runs, then each is refused before anything is sent (exit 2) naming the source and
// where the JSON breaks.
TEST(CtlErrors, SubmitOfInvalidJsonIsRefusedBeforeSending) {
  RefusingPort port;
  auto dir = fresh_dir("ctl-submit-json");
  const std::string broken = (dir / "broken.json").string();
  std::ofstream(broken) << "{\"image\": \"alpine\",\n";
  auto [rc, out] = ctl({"--url", port.url(), "submit", broken});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(has(out, "job spec " + broken + ": not valid JSON: parse error at line 2")) << out;

  const std::string array = (dir / "array.json").string();
  std::ofstream(array) << "[1, 2]";
  auto [rc2, out2] = ctl({"--url", port.url(), "submit", array});
  EXPECT_EQ(rc2, 2) << out2;
  EXPECT_TRUE(has(out2, "job spec " + array + ": not a JSON object")) << out2;

  auto [rc3, out3] =
      run_bin(CIRO_CTL_BIN, {"--url", port.url(), "submit", "-"}, "printf 'nope' | env -u CIRO_URL -u CIRO_API_TOKEN");
  EXPECT_EQ(rc3, 2) << out3;
  EXPECT_TRUE(has(out3, "the job spec on stdin: not valid JSON")) << out3;

  const std::string huge = (dir / "huge.json").string();  // a number beyond a double: no crash
  std::ofstream(huge) << R"({"api_version":"ciro/v1","reward":1e400})";
  auto [rc4, out4] = ctl({"--url", port.url(), "submit", huge});
  EXPECT_EQ(rc4, 2) << out4;
  EXPECT_TRUE(has(out4, "not valid JSON")) << out4;
  fs::remove_all(dir);
}
