#pragma once
// multistream-select 1.0 message codec: unsigned-varint length, UTF-8 text, '\n'. Pure
// functions; the negotiation coroutines live in the connection code (detail/).

#include <string>
#include <string_view>
#include <vector>

#include "utils/encoding.h"
#include "utils/result.h"

namespace ciro::network::multistream {

inline constexpr const char* PROTOCOL = "/multistream/1.0.0";
inline constexpr const char* NA = "na";
inline constexpr const char* LS = "ls";
/// Longest message we send or accept (js-libp2p's limit).
inline constexpr std::size_t MAX_MESSAGE = 1024;

/// Appends varint(len+1) || text || '\n'.
void append_message(utils::Bytes& out, std::string_view text);
/// The `ls` answer: one message whose body is each protocol as its own message, then '\n'.
utils::Bytes encode_ls_response(const std::vector<std::string>& protocols);
/// Checks a message body (after the length) ends in '\n'; returns the text without it.
Result<std::string> parse_body(std::span<const std::uint8_t> body);
/// Parses the body of an `ls` answer into protocols.
Result<std::vector<std::string>> parse_ls_body(std::span<const std::uint8_t> body);

}  // namespace ciro::network::multistream
