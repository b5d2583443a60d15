#include <gtest/gtest.h>

#include "network/noise.h"

using namespace ciro;
using namespace ciro::network;

namespace {
utils::NodeKey key_from(std::uint8_t b) {
  std::array<std::uint8_t, 32> seed{};
  seed.fill(b);
  return utils::NodeKey::from_seed(seed);
}

struct Pair {
  noise::Handshake init{true};
  noise::Handshake resp{false};
};

// Runs the three messages; returns the payloads each side received.
void run(Pair& p, const Bytes& init_payload, const Bytes& resp_payload, Bytes& got_by_init, Bytes& got_by_resp) {
  auto m1 = p.init.write_message({});
  ASSERT_TRUE(m1);
  ASSERT_EQ(m1->size(), 32u);
  ASSERT_TRUE(p.resp.read_message(*m1));
  auto m2 = p.resp.write_message(resp_payload);
  ASSERT_TRUE(m2);
  auto r2 = p.init.read_message(*m2);
  ASSERT_TRUE(r2);
  got_by_init = *r2;
  auto m3 = p.init.write_message(init_payload);
  ASSERT_TRUE(m3);
  auto r3 = p.resp.read_message(*m3);
  ASSERT_TRUE(r3);
  got_by_resp = *r3;
}
}  // namespace

TEST(Noise, HandshakeAgreesAndTransportWorks) {
  // given an initiator and a responder, when the XX handshake runs, then both learn each other's
  // static key and payload, share the handshake hash, and transport messages decrypt both ways
  Pair p;
  Bytes a, b;
  run(p, Bytes{1, 2, 3}, Bytes{4, 5}, a, b);
  EXPECT_EQ(a, (Bytes{4, 5}));
  EXPECT_EQ(b, (Bytes{1, 2, 3}));
  EXPECT_TRUE(p.init.complete());
  EXPECT_EQ(p.init.handshake_hash(), p.resp.handshake_hash());
  EXPECT_EQ(p.init.remote_static_public(), p.resp.local_static_public());
  EXPECT_EQ(p.resp.remote_static_public(), p.init.local_static_public());
  auto [is, ir] = p.init.split();
  auto [rs, rr] = p.resp.split();
  for (int i = 0; i < 3; ++i) {
    Bytes ct, pt;
    ASSERT_TRUE(is.encrypt({}, Bytes{'h', 'i'}, ct));
    ASSERT_TRUE(rr.decrypt({}, ct, pt));
    EXPECT_EQ(pt, (Bytes{'h', 'i'}));
    Bytes ct2, pt2;
    ASSERT_TRUE(rs.encrypt({}, Bytes{'y', 'o'}, ct2));
    ASSERT_TRUE(ir.decrypt({}, ct2, pt2));
    EXPECT_EQ(pt2, (Bytes{'y', 'o'}));
  }
}

TEST(Noise, TamperedMessagesAreRejected) {
  // given a finished handshake, when a transport ciphertext has one bit flipped, then decryption
  // fails; and a tampered handshake message 2 fails too
  Pair p;
  Bytes a, b;
  run(p, {}, {}, a, b);
  auto [is, ir] = p.init.split();
  auto [rs, rr] = p.resp.split();
  Bytes ct, pt;
  ASSERT_TRUE(is.encrypt({}, Bytes(100, 7), ct));
  ct[10] ^= 1;
  EXPECT_FALSE(rr.decrypt({}, ct, pt));

  Pair q;
  auto m1 = q.init.write_message({});
  ASSERT_TRUE(q.resp.read_message(*m1));
  auto m2 = q.resp.write_message(Bytes{9});
  (*m2)[40] ^= 0x80;  // inside the encrypted static key
  EXPECT_FALSE(q.init.read_message(*m2));
  EXPECT_FALSE(q.init.read_message(Bytes(10, 0)));  // too short
}

TEST(Noise, OutOfTurnIsAnError) {
  // given a responder, when it tries to write first, then it gets an error instead of UB
  noise::Handshake r(false);
  EXPECT_FALSE(r.write_message({}));
}

TEST(Noise, Libp2pPayloadSignsStaticKey) {
  // given a payload signed by a node key over our static key, when verified against that static
  // key, then the peer id is the node's; against another static key it fails
  auto key = key_from(3);
  noise::Handshake hs(true);
  auto payload = noise::make_payload(key, hs.local_static_public(), {"/yamux/1.0.0"});
  auto decoded = noise::decode_payload(noise::encode_payload(payload));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->stream_muxers, std::vector<std::string>{"/yamux/1.0.0"});
  auto peer = noise::verify_payload(*decoded, hs.local_static_public());
  ASSERT_TRUE(peer);
  EXPECT_EQ(peer->to_string(), key.peer_id());
  noise::Key other{};
  other[0] = 1;
  EXPECT_FALSE(noise::verify_payload(*decoded, other));
  decoded->identity_key[0] ^= 1;
  EXPECT_FALSE(noise::verify_payload(*decoded, hs.local_static_public()));
}
