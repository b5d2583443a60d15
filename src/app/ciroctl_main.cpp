// ciroctl: the client and operator CLI of a CIRO worker node.

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "app/ciroctl.h"

#ifdef CIRO_HAVE_STARK
#include "blockchain/stark_cli.h"
#endif

namespace {
std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// CLI11 checks for a missing subcommand before it reports stray words, so `ciroctl bogus` alone
// would say "A subcommand is required". Names the unknown word and lists the commands instead.
void print_command_error(CLI::App& app) {
  std::string commands;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    commands += (commands.empty() ? "" : ", ") + sub->get_name();
  }
  std::string unknown;
  for (const auto& word : app.remaining()) {
    if (!word.empty() && word.front() != '-') {
      unknown = word;
      break;
    }
  }
  if (unknown.empty())
    std::cerr << "ciroctl: a command is required";
  else
    std::cerr << "ciroctl: unknown command '" << unknown << "'";
  std::cerr << "; commands: " << commands << " (ciroctl --help for details)\n";
}
}  // namespace

int main(int argc, char** argv) {
  using namespace ciro::app;
#ifdef CIRO_HAVE_STARK
  // `ciroctl stark ...` is a self-contained set of offline commands with its own usage.
  if (argc >= 2 && std::string(argv[1]) == "stark") {
    std::vector<std::string> args(argv + 2, argv + argc);
    return ciro::blockchain::stark_cli_main(args, std::cout, std::cerr);
  }
#endif
  CLI::App app{"ciroctl: submit and follow jobs on a CIRO worker node, fetch and verify results"};
  app.require_subcommand(1);
  app.fallthrough();  // global options (--url, --json, ...) may follow the subcommand
  CtlOptions o;
  std::string token_file;
  o.url = env_or("CIRO_URL", "http://127.0.0.1:8080");
  o.token = env_or("CIRO_API_TOKEN", "");
  app.add_option("--url", o.url, "node API URL (env CIRO_URL)")->capture_default_str();
  app.add_option("--token", o.token, "API bearer token (env CIRO_API_TOKEN)");
  app.add_option("--token-file", token_file, "read the token from this file (e.g. data/api.token)");
  app.add_flag("--json", o.json, "print JSON");

  std::string file, id, out_dir, state, stream = "all", key;
  bool wait = false, follow = false, no_verify = false;
  double wait_timeout = 0;
  int limit = 20;
  auto submit = app.add_subcommand("submit", "submit a job spec (JSON file, or - for stdin)");
  submit->add_option("file", file, "job spec file")->required();
  submit->add_flag("-w,--wait", wait, "wait for the job to end, showing state changes and elapsed time");
  submit->add_option("--wait-timeout", wait_timeout, "give up waiting after this many seconds (0 = never)");
  auto status = app.add_subcommand("status", "show a job");
  status->add_option("id", id, "job id")->required();
  auto logs = app.add_subcommand("logs", "print a job's logs");
  logs->add_option("id", id, "job id")->required();
  logs->add_flag("-f,--follow", follow, "keep printing until the job ends");
  logs->add_option("--stream", stream, "stdout, stderr or all")->check(CLI::IsMember({"stdout", "stderr", "all"}));
  auto result = app.add_subcommand("result", "download a finished job's signed result and verify it");
  result->add_option("id", id, "job id")->required();
  result->add_option("-o,--out", out_dir, "new folder to write into")->required();
  result->add_flag("--no-verify", no_verify, "do not verify after downloading");
  auto cancel = app.add_subcommand("cancel", "cancel a queued or running job");
  cancel->add_option("id", id, "job id")->required();
  auto list = app.add_subcommand("list", "list jobs, newest first");
  list->add_option("--state", state, "queued, running, succeeded, failed or cancelled")
      ->check(CLI::IsMember({"queued", "running", "succeeded", "failed", "cancelled"}));
  list->add_option("--limit", limit, "how many (1-500)")->check(CLI::Range(1, 500));
  auto node = app.add_subcommand("node", "show the node: id, peer id, engine, GPUs, slots");
  auto verify = app.add_subcommand("verify", "verify a downloaded result folder (signature, manifest, every file)");
  verify->add_option("dir", out_dir, "result folder")->required();
  verify->add_option("--key", key, "expected signer: hex Ed25519 public key or peer id");
#ifdef CIRO_HAVE_STARK
  app.add_subcommand("stark",
                     "Starknet utilities: selector, pedersen, poseidon, keccak, pubkey, sign, verify, invoke-hash");
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::RequiredError& e) {
    if (!app.get_subcommands().empty()) return app.exit(e) == 0 ? OK : USAGE;
    print_command_error(app);
    return USAGE;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? OK : USAGE;
  }
  // Checked here, before any request, so that a mistyped value is bad usage (exit 2) with what is
  // allowed, never a server error or "unreachable".
  if (*submit || *status || *logs || *result || *cancel || *list || *node) {
    if (const std::string problem = url_problem(o.url); !problem.empty()) {
      std::cerr << "ciroctl: " << (app.count("--url") > 0 ? "--url" : "CIRO_URL") << " '" << o.url << "': " << problem
                << "\n";
      return USAGE;
    }
  }
  if (*submit && !(std::isfinite(wait_timeout) && wait_timeout >= 0)) {
    std::cerr << "ciroctl: --wait-timeout " << submit->get_option("--wait-timeout")->as<std::string>()
              << ": give a number of seconds >= 0 (0 = wait without a limit)\n";
    return USAGE;
  }
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in || !std::getline(in, o.token)) {
      std::cerr << "ciroctl: cannot read the token from " << token_file << "\n";
      return USAGE;
    }
  }
  if (*submit) return cmd_submit(o, file, wait, wait_timeout);
  if (*status) return cmd_status(o, id);
  if (*logs) return cmd_logs(o, id, follow, stream);
  if (*result) return cmd_result(o, id, out_dir, !no_verify);
  if (*cancel) return cmd_cancel(o, id);
  if (*list) return cmd_list(o, state, limit);
  if (*node) return cmd_node(o);
  if (*verify) {
    if (verify->count("--key") > 0 && key.empty()) {
      std::cerr << "ciroctl: --key was given empty; pass the signer's public key or peer id, or omit --key\n";
      return USAGE;
    }
    return cmd_verify(out_dir, key);
  }
  return USAGE;
}
