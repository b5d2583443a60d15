#pragma once
// ciroctl commands. Exit codes (also in the README): 0 success; 1 the job ended without success
// (failed or cancelled) or `verify` found a difference; 2 bad usage or input; 3 not found;
// 4 the node could not be reached or answered with an error; 5 unauthorized.

#include <optional>
#include <string>

namespace ciro::app {

enum Exit : int { OK = 0, JOB_FAILED = 1, USAGE = 2, NOT_FOUND = 3, API_ERROR = 4, UNAUTHORIZED = 5 };

struct CtlOptions {
  std::string url;  ///< http://host:port
  std::string token;
  bool json = false;  ///< print raw JSON instead of text
};

/// Checks made before any request, so that bad input is a local exit-2 error that says what is
/// wrong and what is allowed. Each returns "" when the value is acceptable, else that message.
/// url: plain http://HOST[:PORT][/PREFIX] (the client has no TLS).
std::string url_problem(const std::string& url);
/// id: what the node accepts in /api/v1/jobs/{id}: 1 to 64 lowercase hex digits.
std::string job_id_problem(const std::string& id);
/// key: verify's expected signer, a hex Ed25519 public key or an Ed25519 peer id.
std::string verify_key_problem(const std::string& key);

/// Each command prints its result on stdout, errors on stderr, and returns an Exit code.
int cmd_submit(const CtlOptions& o, const std::string& file, bool wait, double wait_timeout_s);
int cmd_status(const CtlOptions& o, const std::string& id);
int cmd_logs(const CtlOptions& o, const std::string& id, bool follow, const std::string& stream);
int cmd_result(const CtlOptions& o, const std::string& id, const std::string& out_dir, bool verify);
int cmd_cancel(const CtlOptions& o, const std::string& id);
int cmd_list(const CtlOptions& o, const std::string& state, int limit);
int cmd_node(const CtlOptions& o);
int cmd_verify(const std::string& dir, const std::string& key);

}  // namespace ciro::app
