// Noise: the handshake payload protobuf, and handshake messages 1 (responder) and 2 (initiator).
#include "network/noise.h"

using namespace ciro::network;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> in(data, size);
  if (auto p = noise::decode_payload(in)) {
    noise::Key rs{};
    (void)noise::verify_payload(*p, rs);
  }
  static const noise::Key fixed{1, 2, 3};
  {
    noise::Handshake responder(false, fixed);
    (void)responder.read_message(in);
  }
  {
    noise::Handshake initiator(true, fixed);
    std::span<const std::uint8_t> empty;
    (void)initiator.write_message(empty);
    (void)initiator.read_message(in);
  }
  return 0;
}
