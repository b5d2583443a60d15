// Kademlia messages: decode, re-encode, peer ids and addresses inside.
#include "network/kademlia.h"

using namespace ciro::network;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto m = kad::decode(std::span<const std::uint8_t>(data, size));
  if (!m) return 0;
  for (const auto& p : m->closer_peers) {
    (void)PeerId::from_bytes(p.id);
    for (const auto& a : p.addrs) (void)Multiaddr::from_bytes(a);
  }
  if (!kad::decode(kad::encode(*m))) __builtin_trap();
  return 0;
}
