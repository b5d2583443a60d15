// Yamux frame headers (every 12-byte window of the input).
#include "network/yamux_frame.h"

using namespace ciro::network;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  for (std::size_t off = 0; off + yamux::HEADER_SIZE <= size; off += yamux::HEADER_SIZE) {
    std::span<const std::uint8_t, yamux::HEADER_SIZE> h(data + off, yamux::HEADER_SIZE);
    if (auto d = yamux::decode(h)) (void)yamux::encode(*d);
  }
  return 0;
}
