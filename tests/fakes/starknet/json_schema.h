#pragma once
// SpecSchemas: a small JSON-schema validator for the Starknet OpenRPC files, enough for the
// schemas the fake node's replies use: type, properties, required, items, enum, oneOf, anyOf,
// allOf, minimum, pattern, additionalProperties:false, and $ref to "#/components/..." within a
// file or "./api/<file>#/components/..." in the sibling file. Loaded once; read-only afterwards.

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>

#include "utils/result.h"

namespace ciro::fakes {

class SpecSchemas {
 public:
  /// Loads starknet_api_openrpc.json and starknet_write_api.json from dir.
  static Result<SpecSchemas> load(const std::filesystem::path& dir);

  /// Validates a method's result against its declared result schema. Error: the JSON path and
  /// the rule that failed.
  Result<void> validate_result(const std::string& method, const nlohmann::json& result) const;
  /// Validates a JSON-RPC error object against the method's declared errors (code and message).
  Result<void> validate_error(const std::string& method, const nlohmann::json& error) const;
  /// Validates against "#/components/schemas/<name>" of the read API.
  Result<void> validate_schema(const std::string& name, const nlohmann::json& value) const;

 private:
  struct Doc {
    std::string file;
    nlohmann::json json;
  };
  Result<void> validate(const nlohmann::json& schema, const std::string& doc, const nlohmann::json& v,
                        const std::string& path, int depth) const;
  Result<std::pair<const nlohmann::json*, std::string>> resolve(const std::string& ref, const std::string& doc) const;
  const nlohmann::json* find_method(const std::string& method, std::string& doc) const;

  std::map<std::string, Doc> m_docs;  // file name -> doc
};

}  // namespace ciro::fakes
