#pragma once
// DuplicateKeyCheck: notices, during a nlohmann::json parse, a key given twice in one object.
// Which of the two a reader keeps is not agreed on (nlohmann keeps the last), so inputs that are
// hashed, signed or run refuse such documents instead of guessing.

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

namespace ciro::utils {

class DuplicateKeyCheck {
 public:
  /// For json::parse; this object must outlive the parse.
  nlohmann::json::parser_callback_t callback() {
    return [this](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
      using E = nlohmann::json::parse_event_t;
      if (event == E::object_start) m_open.emplace_back();
      if (event == E::object_end && !m_open.empty()) m_open.pop_back();
      if (event == E::key && !m_open.empty() && m_duplicate.empty() &&
          !m_open.back().insert(parsed.get<std::string>()).second) {
        m_duplicate = parsed.get<std::string>();
      }
      return true;
    };
  }
  /// The first key seen twice in one object, or "".
  const std::string& duplicate() const { return m_duplicate; }

 private:
  std::vector<std::set<std::string>> m_open;  ///< keys of each object being parsed, innermost last
  std::string m_duplicate;
};

}  // namespace ciro::utils
