#pragma once
// Loads the Starknet known-answer files copied under tests/data/starknet (see SOURCES.md).

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "blockchain/u256.h"

namespace ciro::blockchain::test {

inline std::string read_data_file(const std::string& name) {
  const std::string path = std::string(CIRO_TEST_DATA_DIR) + "/starknet/" + name;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("missing test data file " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline nlohmann::json read_json(const std::string& name) { return nlohmann::json::parse(read_data_file(name)); }

inline U256 hex(const std::string& s) {
  const auto v = parse_hex_u256(s);
  if (!v) throw std::runtime_error("bad hex in test data: " + s);
  return *v;
}

inline U256 dec(const std::string& s) {
  const auto v = parse_dec_u256(s);
  if (!v) throw std::runtime_error("bad decimal in test data: " + s);
  return *v;
}

}  // namespace ciro::blockchain::test
