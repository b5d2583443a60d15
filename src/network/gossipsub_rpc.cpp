#include "network/gossipsub_rpc.h"

#include "network/protobuf.h"

namespace ciro::network::gossip {

namespace {

Bytes to_bytes(std::span<const std::uint8_t> s) { return Bytes(s.begin(), s.end()); }

Error wire_error(const char* what) { return Error(Errc::protocol, std::string("gossipsub rpc: bad ") + what); }

Bytes encode_control(const Control& c) {
  pb::Writer w;
  for (const auto& ih : c.ihave) {
    pb::Writer x;
    x.string_field(1, ih.topic);
    for (const auto& id : ih.ids) x.bytes_field(2, id);
    w.bytes_field(1, x.bytes());
  }
  for (const auto& iw : c.iwant) {
    pb::Writer x;
    for (const auto& id : iw.ids) x.bytes_field(1, id);
    w.bytes_field(2, x.bytes());
  }
  for (const auto& g : c.graft) {
    pb::Writer x;
    x.string_field(1, g.topic);
    w.bytes_field(3, x.bytes());
  }
  for (const auto& p : c.prune) {
    pb::Writer x;
    x.string_field(1, p.topic);
    for (const auto& px : p.peers) {
      pb::Writer y;
      y.bytes_field(1, px.peer_id);
      if (px.signed_peer_record) y.bytes_field(2, *px.signed_peer_record);
      x.bytes_field(2, y.bytes());
    }
    if (p.backoff) x.varint_field(3, *p.backoff);
    w.bytes_field(4, x.bytes());
  }
  for (const auto& d : c.idontwant) {
    pb::Writer x;
    for (const auto& id : d.ids) x.bytes_field(1, id);
    w.bytes_field(5, x.bytes());
  }
  return w.take();
}

// Reads the repeated `bytes` ids at field `number` of a small control message.
Result<void> read_ids(std::span<const std::uint8_t> data, std::uint32_t number, std::vector<Bytes>& ids,
                      std::size_t& budget, std::string* topic) {
  pb::Reader r(data);
  while (!r.done()) {
    CIRO_TRY(auto f, r.next());
    if (topic && f.number == 1) {
      if (f.wire_type != 2) return wire_error("topic");
      *topic = std::string(f.text());
    } else if (f.number == number) {
      if (f.wire_type != 2) return wire_error("message id");
      if (budget == 0) return Error(Errc::limit_exceeded, "gossipsub rpc: too many message ids");
      --budget;
      ids.push_back(to_bytes(f.data));
    }
  }
  return {};
}

Result<Control> decode_control(std::span<const std::uint8_t> data, const RpcLimits& lim) {
  Control c;
  std::size_t id_budget = lim.max_ids;
  pb::Reader r(data);
  auto full = [&](std::size_t n) { return n >= lim.max_control_entries; };
  while (!r.done()) {
    CIRO_TRY(auto f, r.next());
    if (f.number >= 1 && f.number <= 5 && f.wire_type != 2) return wire_error("control entry");
    switch (f.number) {
      case 1: {
        if (full(c.ihave.size())) return Error(Errc::limit_exceeded, "gossipsub rpc: too many IHAVE");
        IHave ih;
        CIRO_TRY_VOID(read_ids(f.data, 2, ih.ids, id_budget, &ih.topic));
        c.ihave.push_back(std::move(ih));
        break;
      }
      case 2: {
        if (full(c.iwant.size())) return Error(Errc::limit_exceeded, "gossipsub rpc: too many IWANT");
        IWant iw;
        CIRO_TRY_VOID(read_ids(f.data, 1, iw.ids, id_budget, nullptr));
        c.iwant.push_back(std::move(iw));
        break;
      }
      case 3: {
        if (full(c.graft.size())) return Error(Errc::limit_exceeded, "gossipsub rpc: too many GRAFT");
        Graft g;
        pb::Reader x(f.data);
        while (!x.done()) {
          CIRO_TRY(auto g1, x.next());
          if (g1.number == 1) {
            if (g1.wire_type != 2) return wire_error("graft topic");
            g.topic = std::string(g1.text());
          }
        }
        c.graft.push_back(std::move(g));
        break;
      }
      case 4: {
        if (full(c.prune.size())) return Error(Errc::limit_exceeded, "gossipsub rpc: too many PRUNE");
        Prune p;
        pb::Reader x(f.data);
        while (!x.done()) {
          CIRO_TRY(auto p1, x.next());
          if (p1.number == 1) {
            if (p1.wire_type != 2) return wire_error("prune topic");
            p.topic = std::string(p1.text());
          } else if (p1.number == 2) {
            if (p1.wire_type != 2) return wire_error("prune peer");
            if (p.peers.size() >= lim.max_px_peers) continue;  // extra PX peers are dropped, not fatal
            PxPeer px;
            pb::Reader y(p1.data);
            while (!y.done()) {
              CIRO_TRY(auto q, y.next());
              if (q.wire_type != 2) continue;
              if (q.number == 1) px.peer_id = to_bytes(q.data);
              if (q.number == 2) px.signed_peer_record = to_bytes(q.data);
            }
            p.peers.push_back(std::move(px));
          } else if (p1.number == 3) {
            if (p1.wire_type != 0) return wire_error("prune backoff");
            p.backoff = p1.value;
          }
        }
        c.prune.push_back(std::move(p));
        break;
      }
      case 5: {
        if (full(c.idontwant.size())) return Error(Errc::limit_exceeded, "gossipsub rpc: too many IDONTWANT");
        IDontWant d;
        CIRO_TRY_VOID(read_ids(f.data, 1, d.ids, id_budget, nullptr));
        c.idontwant.push_back(std::move(d));
        break;
      }
      default:
        break;  // unknown control kinds from newer versions are skipped
    }
  }
  return c;
}

}  // namespace

Bytes encode_message(const Message& m) {
  pb::Writer w;
  if (m.from) w.bytes_field(1, *m.from);
  if (m.data) w.bytes_field(2, *m.data);
  if (m.seqno) w.bytes_field(3, *m.seqno);
  if (!m.topic.empty()) w.string_field(4, m.topic);  // as js's protons encoder: an empty topic is omitted
  if (m.signature) w.bytes_field(5, *m.signature);
  if (m.key) w.bytes_field(6, *m.key);
  return w.take();
}

Bytes signing_bytes(const Message& m) {
  static constexpr std::string_view PREFIX = "libp2p-pubsub:";
  Message unsigned_msg = m;
  unsigned_msg.signature.reset();
  unsigned_msg.key.reset();
  Bytes out(PREFIX.begin(), PREFIX.end());
  auto body = encode_message(unsigned_msg);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Bytes encode_rpc(const Rpc& rpc) {
  pb::Writer w;
  for (const auto& s : rpc.subscriptions) {
    pb::Writer x;
    x.varint_field(1, s.subscribe ? 1 : 0);
    x.string_field(2, s.topic);
    w.bytes_field(1, x.bytes());
  }
  for (const auto& m : rpc.messages) w.bytes_field(2, encode_message(m));
  if (!rpc.control.empty()) w.bytes_field(3, encode_control(rpc.control));
  return w.take();
}

Result<Message> decode_message(std::span<const std::uint8_t> data) {
  Message m;
  pb::Reader r(data);
  while (!r.done()) {
    CIRO_TRY(auto f, r.next());
    if (f.number >= 1 && f.number <= 6 && f.wire_type != 2) return wire_error("message field");
    switch (f.number) {
      case 1: m.from = to_bytes(f.data); break;
      case 2: m.data = to_bytes(f.data); break;
      case 3: m.seqno = to_bytes(f.data); break;
      case 4: m.topic = std::string(f.text()); break;
      case 5: m.signature = to_bytes(f.data); break;
      case 6: m.key = to_bytes(f.data); break;
      default: break;
    }
  }
  return m;
}

Result<Rpc> decode_rpc(std::span<const std::uint8_t> data, const RpcLimits& lim) {
  Rpc rpc;
  pb::Reader r(data);
  while (!r.done()) {
    CIRO_TRY(auto f, r.next());
    if (f.number >= 1 && f.number <= 3 && f.wire_type != 2) return wire_error("rpc field");
    if (f.number == 1) {
      if (rpc.subscriptions.size() >= lim.max_subscriptions)
        return Error(Errc::limit_exceeded, "gossipsub rpc: too many subscriptions");
      SubOpts s;
      pb::Reader x(f.data);
      while (!x.done()) {
        CIRO_TRY(auto g, x.next());
        if (g.number == 1 && g.wire_type == 0) s.subscribe = g.value != 0;
        else if (g.number == 2 && g.wire_type == 2) s.topic = std::string(g.text());
        else if (g.number == 1 || g.number == 2) return wire_error("subscription");
      }
      rpc.subscriptions.push_back(std::move(s));
    } else if (f.number == 2) {
      if (rpc.messages.size() >= lim.max_messages) return Error(Errc::limit_exceeded, "gossipsub rpc: too many messages");
      CIRO_TRY(auto m, decode_message(f.data));
      rpc.messages.push_back(std::move(m));
    } else if (f.number == 3) {
      CIRO_TRY(auto c, decode_control(f.data, lim));
      // Several control fields merge, as protobuf does for a repeated embedded message.
      auto append = [](auto& dst, auto& src) { for (auto& e : src) dst.push_back(std::move(e)); };
      append(rpc.control.ihave, c.ihave);
      append(rpc.control.iwant, c.iwant);
      append(rpc.control.graft, c.graft);
      append(rpc.control.prune, c.prune);
      append(rpc.control.idontwant, c.idontwant);
    }
  }
  return rpc;
}

}  // namespace ciro::network::gossip
