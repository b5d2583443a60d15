#include "network/identify.h"

#include "network/protobuf.h"

namespace ciro::network {

Bytes encode_identify(const IdentifyMessage& m) {
  pb::Writer w;
  if (!m.public_key.empty()) w.bytes_field(1, m.public_key);
  for (const auto& a : m.listen_addrs) w.bytes_field(2, a);
  for (const auto& p : m.protocols) w.string_field(3, p);
  if (m.observed_addr) w.bytes_field(4, *m.observed_addr);
  if (m.protocol_version) w.string_field(5, *m.protocol_version);
  if (m.agent_version) w.string_field(6, *m.agent_version);
  if (m.signed_peer_record) w.bytes_field(8, *m.signed_peer_record);
  return w.take();
}

Result<IdentifyMessage> decode_identify(std::span<const std::uint8_t> data) {
  IdentifyMessage m;
  pb::Reader r(data);
  while (!r.done()) {
    CIRO_TRY(auto f, r.next());
    if (f.wire_type != 2) continue;
    Bytes value(f.data.begin(), f.data.end());
    switch (f.number) {
      case 1: m.public_key = std::move(value); break;
      case 2:
        if (m.listen_addrs.size() >= 64) return Error(Errc::protocol, "identify: too many listen addresses");
        m.listen_addrs.push_back(std::move(value));
        break;
      case 3:
        if (m.protocols.size() >= 256) return Error(Errc::protocol, "identify: too many protocols");
        m.protocols.emplace_back(f.text());
        break;
      case 4: m.observed_addr = std::move(value); break;
      case 5: m.protocol_version = std::string(f.text()); break;
      case 6: m.agent_version = std::string(f.text()); break;
      case 8: m.signed_peer_record = std::move(value); break;
      default: break;
    }
  }
  return m;
}

}  // namespace ciro::network
