#include "fakes/starknet/json_schema.h"

#include <fstream>
#include <regex>

namespace ciro::fakes {

using nlohmann::json;

namespace {
const char* API = "starknet_api_openrpc.json";
const char* WRITE = "starknet_write_api.json";

Error fail(const std::string& path, const std::string& why) {
  return make_error(Errc::invalid_argument, (path.empty() ? "$" : path) + ": " + why);
}

bool type_matches(const std::string& t, const json& v) {
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  if (t == "string") return v.is_string();
  if (t == "integer") return v.is_number_integer();
  if (t == "number") return v.is_number();
  if (t == "boolean") return v.is_boolean();
  if (t == "null") return v.is_null();
  return false;
}
}  // namespace

Result<SpecSchemas> SpecSchemas::load(const std::filesystem::path& dir) {
  SpecSchemas s;
  for (const char* name : {API, WRITE}) {
    std::ifstream in(dir / name);
    if (!in) return make_error(Errc::not_found, "cannot open " + (dir / name).string());
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded()) return make_error(Errc::invalid_argument, "not JSON: " + (dir / name).string());
    s.m_docs[name] = Doc{name, std::move(j)};
  }
  return s;
}

Result<std::pair<const json*, std::string>> SpecSchemas::resolve(const std::string& ref, const std::string& doc) const {
  const auto hash = ref.find('#');
  if (hash == std::string::npos) return make_error(Errc::invalid_argument, "unsupported $ref " + ref);
  std::string file = ref.substr(0, hash);
  std::string target_doc = doc;
  if (!file.empty()) {
    const auto slash = file.rfind('/');
    target_doc = slash == std::string::npos ? file : file.substr(slash + 1);
  }
  auto it = m_docs.find(target_doc);
  if (it == m_docs.end()) return make_error(Errc::invalid_argument, "$ref to unknown file " + ref);
  const json* node = &it->second.json;
  std::string pointer = ref.substr(hash + 1);
  try {
    node = &node->at(json::json_pointer(pointer));
  } catch (const std::exception&) {
    return make_error(Errc::invalid_argument, "$ref does not resolve: " + ref);
  }
  return std::make_pair(node, target_doc);
}

Result<void> SpecSchemas::validate(const json& schema, const std::string& doc, const json& v, const std::string& path,
                                   int depth) const {
  if (depth > 64) return fail(path, "schema nesting too deep");
  if (!schema.is_object()) return {};
  if (schema.contains("$ref")) {
    auto r = resolve(schema["$ref"].get<std::string>(), doc);
    if (!r) return r.error();
    auto sub = validate(*r->first, r->second, v, path, depth + 1);
    if (!sub) return sub;
  }
  if (schema.contains("type")) {
    const auto& t = schema["type"];
    bool ok = false;
    if (t.is_string()) ok = type_matches(t.get<std::string>(), v);
    if (t.is_array()) {
      for (const auto& x : t) ok = ok || type_matches(x.get<std::string>(), v);
    }
    if (!ok) return fail(path, "expected type " + t.dump() + ", got " + v.dump().substr(0, 80));
  }
  if (schema.contains("enum")) {
    bool found = false;
    for (const auto& e : schema["enum"]) found = found || e == v;
    if (!found) return fail(path, "value " + v.dump() + " is not one of " + schema["enum"].dump());
  }
  if (schema.contains("pattern") && v.is_string()) {
    const std::regex re(schema["pattern"].get<std::string>(), std::regex::ECMAScript);
    if (!std::regex_search(v.get<std::string>(), re))
      return fail(path, "'" + v.get<std::string>() + "' does not match " + schema["pattern"].get<std::string>());
  }
  if (schema.contains("minimum") && v.is_number()) {
    if (v.get<double>() < schema["minimum"].get<double>())
      return fail(path, "below minimum " + schema["minimum"].dump());
  }
  if (v.is_object()) {
    if (schema.contains("required")) {
      for (const auto& r : schema["required"]) {
        if (!v.contains(r.get<std::string>()))
          return fail(path, "required property '" + r.get<std::string>() + "' is missing");
      }
    }
    if (schema.contains("properties")) {
      for (const auto& [key, sub] : schema["properties"].items()) {
        if (v.contains(key)) {
          auto r = validate(sub, doc, v[key], path + "." + key, depth + 1);
          if (!r) return r;
        }
      }
    }
    if (schema.contains("additionalProperties") && schema["additionalProperties"].is_boolean() &&
        !schema["additionalProperties"].get<bool>()) {
      for (const auto& [key, sub] : v.items()) {
        if (!schema.contains("properties") || !schema["properties"].contains(key))
          return fail(path, "unexpected property '" + key + "'");
      }
    }
  }
  if (v.is_array() && schema.contains("items")) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      auto r = validate(schema["items"], doc, v[i], path + "[" + std::to_string(i) + "]", depth + 1);
      if (!r) return r;
    }
  }
  if (schema.contains("allOf")) {
    for (const auto& sub : schema["allOf"]) {
      auto r = validate(sub, doc, v, path, depth + 1);
      if (!r) return r;
    }
  }
  if (schema.contains("anyOf")) {
    std::string why;
    bool any = false;
    for (const auto& sub : schema["anyOf"]) {
      auto r = validate(sub, doc, v, path, depth + 1);
      if (r) {
        any = true;
        break;
      }
      why += " [" + r.error().message + "]";
    }
    if (!any) return fail(path, "matches no anyOf branch:" + why);
  }
  if (schema.contains("oneOf")) {
    int matches = 0;
    std::string why;
    for (const auto& sub : schema["oneOf"]) {
      auto r = validate(sub, doc, v, path, depth + 1);
      if (r)
        ++matches;
      else
        why += " [" + r.error().message + "]";
    }
    if (matches != 1)
      return fail(path, "matches " + std::to_string(matches) + " oneOf branches (exactly 1 required):" + why);
  }
  return {};
}

const json* SpecSchemas::find_method(const std::string& method, std::string& doc) const {
  for (const auto& [name, d] : m_docs) {
    for (const auto& m : d.json["methods"]) {
      if (m["name"] == method) {
        doc = name;
        return &m;
      }
    }
  }
  return nullptr;
}

Result<void> SpecSchemas::validate_result(const std::string& method, const json& result) const {
  std::string doc;
  const json* m = find_method(method, doc);
  if (m == nullptr) return make_error(Errc::not_found, "method " + method + " is not in the spec");
  return validate((*m)["result"]["schema"], doc, result, method, 0);
}

Result<void> SpecSchemas::validate_error(const std::string& method, const json& error) const {
  if (!error.is_object() || !error.contains("code") || !error["code"].is_number_integer() ||
      !error.contains("message")) {
    return make_error(Errc::invalid_argument, method + ": error object lacks code/message");
  }
  const int code = error["code"].get<int>();
  if (code < 0) return {};  // JSON-RPC 2.0's own codes and provider codes are outside the spec
  std::string doc;
  const json* m = find_method(method, doc);
  if (m == nullptr) return make_error(Errc::not_found, "method " + method + " is not in the spec");
  if (!m->contains("errors"))
    return make_error(Errc::invalid_argument, method + " declares no errors, got code " + std::to_string(code));
  for (const auto& e : (*m)["errors"]) {
    auto r = resolve(e["$ref"].get<std::string>(), doc);
    if (!r) return r.error();
    const json& decl = *r->first;
    if (decl["code"] == code) {
      if (decl["message"] != error["message"]) {
        return make_error(Errc::invalid_argument,
                          method + ": code " + std::to_string(code) + " must carry message " + decl["message"].dump());
      }
      return {};
    }
  }
  return make_error(Errc::invalid_argument,
                    method + ": error code " + std::to_string(code) + " is not declared for this method");
}

Result<void> SpecSchemas::validate_schema(const std::string& name, const json& value) const {
  json ref = {{"$ref", "#/components/schemas/" + name}};
  return validate(ref, API, value, name, 0);
}

}  // namespace ciro::fakes
