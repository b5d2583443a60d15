#include "network/multistream.h"

namespace ciro::network::multistream {

void append_message(utils::Bytes& out, std::string_view text) {
  utils::varint_append(out, text.size() + 1);
  out.insert(out.end(), text.begin(), text.end());
  out.push_back('\n');
}

utils::Bytes encode_ls_response(const std::vector<std::string>& protocols) {
  utils::Bytes body;
  for (const auto& p : protocols) append_message(body, p);
  body.push_back('\n');
  utils::Bytes out;
  utils::varint_append(out, body.size());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Result<std::string> parse_body(std::span<const std::uint8_t> body) {
  if (body.empty() || body.back() != '\n') return Error(Errc::protocol, "multistream: message without final newline");
  if (body.size() > MAX_MESSAGE) return Error(Errc::protocol, "multistream: message too long");
  return std::string(body.begin(), body.end() - 1);
}

Result<std::vector<std::string>> parse_ls_body(std::span<const std::uint8_t> body) {
  std::vector<std::string> out;
  while (!body.empty()) {
    if (body.size() == 1 && body[0] == '\n') break;
    auto len = utils::varint_decode(body);
    if (!len || len->first > body.size() - len->second) return Error(Errc::protocol, "multistream: bad ls entry");
    CIRO_TRY(auto text, parse_body(body.subspan(len->second, len->first)));
    out.push_back(std::move(text));
    body = body.subspan(len->second + len->first);
  }
  return out;
}

}  // namespace ciro::network::multistream
