// ciro-worker: the worker daemon. Thin: parse the command line, load the configuration, hand
// over to node::Worker.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "blockchain/keystore.h"
#include "node/worker.h"
#include "utils/config.h"
#include "utils/log.h"

int main(int argc, char** argv) {
  // `ciro-worker keys new|import|show`: the encrypted Starknet account key (own usage text).
  if (argc >= 2 && std::string(argv[1]) == "keys") {
    return ciro::blockchain::keys_cli_main(std::vector<std::string>(argv + 2, argv + argc), std::cout, std::cerr);
  }
  CLI::App app{"ciro-worker: rents this machine's CPUs and GPUs to the CIRO network"};
  std::string config_file;
  bool print = false, help_config = false, version = false;
  std::string log_format, log_level, data_dir, bind, node_id;
  std::vector<std::string> sets;
  app.add_option("-c,--config", config_file, "TOML configuration file (e.g. config/development.toml)");
  app.add_flag("--print-config", print, "print the effective configuration (secrets redacted) and exit");
  app.add_flag("--help-config", help_config, "list every configuration key and exit");
  app.add_option("--log-format", log_format, "text or json")->check(CLI::IsMember({"text", "json"}));
  app.add_option("--log-level", log_level, "e.g. info or debug,api=trace (overrides CIRO_LOG / RUST_LOG)");
  app.add_option("--data-dir", data_dir, "overrides node.data_dir");
  app.add_option("--bind", bind, "overrides node.bind_address (host:port)");
  app.add_option("--id", node_id, "overrides node.id");
  app.add_option("--set", sets, "override any key: --set executor.max_concurrent_jobs=4 (repeatable)");
  app.add_flag("-V,--version", version, "print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (version) {
    std::cout << "ciro-worker " << CIRO_VERSION << "\n";
    return 0;
  }
  if (help_config) {
    std::cout << "| key | allowed | default | meaning |\n|---|---|---|---|\n" << ciro::utils::describe_config_keys();
    return 0;
  }

  ciro::utils::ConfigSources sources;
  if (app.count("--config") > 0 && config_file.empty()) {
    std::cerr << "ciro-worker: --config: the file name is empty\n";
    return 2;
  }
  if (!config_file.empty()) sources.file = config_file;
  sources.environment = ciro::utils::config_environment();
  for (const auto& s : sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos) {
      std::cerr << "ciro-worker: --set " << s << ": expected section.key=value\n";
      return 2;
    }
    sources.overrides.emplace_back(s.substr(0, eq), s.substr(eq + 1));
  }
  // A flag's value is taken literally: as a TOML basic string with its quotes, backslashes and
  // control characters escaped (the --set form is the one that reads TOML).
  auto quoted = [](const std::string& v) {
    std::string out = "\"";
    for (const char ch : v) {
      if (ch == '"' || ch == '\\') {
        out += '\\';
        out += ch;
      } else if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
        char esc[8];
        std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(ch)));
        out += esc;
      } else {
        out += ch;
      }
    }
    return out + "\"";
  };
  if (!data_dir.empty()) sources.overrides.emplace_back("node.data_dir", quoted(data_dir));
  if (!bind.empty()) sources.overrides.emplace_back("node.bind_address", quoted(bind));
  if (!node_id.empty()) sources.overrides.emplace_back("node.id", quoted(node_id));
  if (!log_format.empty()) sources.overrides.emplace_back("log.format", quoted(log_format));
  if (!log_level.empty()) sources.overrides.emplace_back("log.level", quoted(log_level));

  auto config = ciro::utils::load_config(sources);
  if (!config.ok()) {
    std::cerr << "ciro-worker: configuration error: " << config.error().message << "\n";
    return 2;
  }
  if (print) {
    std::cout << ciro::utils::print_config(*config);
    return 0;
  }
  auto logging = ciro::utils::init_logging({config->log.level, config->log.format});
  if (!logging.ok()) {
    std::cerr << "ciro-worker: configuration error: log.level: " << logging.error().message << "\n";
    return 2;
  }
  ciro::node::Worker worker(std::move(*config));
  auto opened = worker.open();
  if (!opened.ok()) {
    ciro::utils::logger("node")->critical("cannot start: {}", opened.error().message);
    // Settings that cannot work (a missing keystore, a bad key file) are configuration errors.
    const auto code = opened.error().code;
    return code == ciro::Errc::invalid_argument || code == ciro::Errc::not_found || code == ciro::Errc::permission_denied
               ? 2
               : 1;
  }
  return worker.run();
}
