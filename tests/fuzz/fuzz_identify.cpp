// Identify messages.
#include "network/identify.h"

using namespace ciro::network;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto m = decode_identify(std::span<const std::uint8_t>(data, size));
  if (m) {
    for (const auto& a : m->listen_addrs) (void)Multiaddr::from_bytes(a);
    (void)encode_identify(*m);
  }
  return 0;
}
