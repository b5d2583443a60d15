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

int cmd_submit(const CtlOptions& o, const std::string& file, bool wait, double wait_timeout_s);
int cmd_status(const CtlOptions& o, const std::string& id);
int cmd_logs(const CtlOptions& o, const std::string& id, bool follow, const std::string& stream);
int cmd_result(const CtlOptions& o, const std::string& id, const std::string& out_dir, bool verify);
int cmd_cancel(const CtlOptions& o, const std::string& id);
int cmd_list(const CtlOptions& o, const std::string& state, int limit);
int cmd_node(const CtlOptions& o);
int cmd_verify(const std::string& dir, const std::string& key);

}  // namespace ciro::app
