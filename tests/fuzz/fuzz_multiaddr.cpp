// Multiaddrs (binary and text) and peer ids (bytes and text).
#include <string_view>

#include "network/multiaddr.h"

using namespace ciro::network;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> in(data, size);
  if (auto a = Multiaddr::from_bytes(in)) {
    auto text = a->to_string();
    (void)Multiaddr::parse(text);
  }
  std::string_view s(reinterpret_cast<const char*>(data), size);
  (void)Multiaddr::parse(s);
  (void)PeerId::from_bytes(in);
  (void)PeerId::parse(s);
  return 0;
}
