// GossipSub RPCs: decode, re-encode, and the StrictSign input of each message.
#include "network/gossipsub_rpc.h"

using namespace ciro::network;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto rpc = gossip::decode_rpc(std::span<const std::uint8_t>(data, size));
  if (!rpc) return 0;
  for (const auto& m : rpc->messages) (void)gossip::signing_bytes(m);
  auto again = gossip::decode_rpc(gossip::encode_rpc(*rpc));
  if (!again) __builtin_trap();  // what we encode we must be able to decode
  return 0;
}
