#include <gtest/gtest.h>

#include <random>

#include "network/identify.h"
#include "network/multiaddr.h"
#include "network/multistream.h"
#include "network/peer_id.h"
#include "network/protobuf.h"
#include "network/yamux_frame.h"

using namespace ciro;
using namespace ciro::network;

namespace {
Bytes bytes_of(std::string_view hex) { return *utils::from_hex(hex); }
}  // namespace

TEST(Varint, RoundTripsAndRejectsNonMinimal) {
  // given values at varint boundaries, when encoded and decoded, then they round-trip; a
  // non-minimal encoding is rejected
  for (std::uint64_t v : {0ull, 1ull, 127ull, 128ull, 300ull, 16383ull, 16384ull, (1ull << 63) - 1}) {
    Bytes b;
    utils::varint_append(b, v);
    auto d = utils::varint_decode(b);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->first, v);
    EXPECT_EQ(d->second, b.size());
  }
  EXPECT_FALSE(utils::varint_decode(bytes_of("8000")));
}

TEST(PeerIdTest, SpecExamplesParse) {
  // given the peer ids from the peer-ids spec, when parsed, then they print back the same
  auto ed = PeerId::parse("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");
  ASSERT_TRUE(ed) << ed.error().to_string();
  EXPECT_EQ(ed->to_string(), "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");
  EXPECT_TRUE(ed->ed25519_key());
  auto qm = PeerId::parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N");
  ASSERT_TRUE(qm);
  EXPECT_EQ(qm->to_string(), "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N");
  EXPECT_FALSE(qm->ed25519_key());
  auto cid = PeerId::parse("bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe");
  ASSERT_TRUE(cid) << cid.error().to_string();
  EXPECT_EQ(cid->to_cid_string(), "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe");
  EXPECT_EQ(*PeerId::parse(cid->to_string()), *cid);
}

TEST(PeerIdTest, MatchesNodeKeyAndCidRoundTrip) {
  // given a node key, when its peer id is built, then it matches NodeKey::peer_id and the CID form
  // parses back to the same id
  std::array<std::uint8_t, 32> seed{};
  seed[0] = 7;
  auto key = utils::NodeKey::from_seed(seed);
  auto p = PeerId::from_public_key(key.public_key());
  EXPECT_EQ(p.to_string(), key.peer_id());
  EXPECT_EQ(p.to_string().substr(0, 8), "12D3KooW");
  EXPECT_EQ(*PeerId::parse(p.to_cid_string()), p);
  EXPECT_EQ(*p.ed25519_key(), key.public_key());
}

TEST(PeerIdTest, RejectsMalformed) {
  // given malformed ids, when parsed, then each is an error
  for (const char* bad : {"", "x", "12D3", "Qm0OIl", "bafz!", "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"})
    EXPECT_FALSE(PeerId::parse(bad)) << bad;
  EXPECT_FALSE(PeerId::from_bytes(bytes_of("1220aa")));  // sha256 with short digest
  EXPECT_FALSE(PeerId::from_bytes(bytes_of("0005aabb")));  // length past end
}

TEST(MultiaddrTest, KnownBinaryVectors) {
  // given text multiaddrs with known binary forms, when converted, then bytes match both ways
  struct V {
    const char* text;
    const char* hex;
  } vectors[] = {
      {"/ip4/127.0.0.1/tcp/4001", "047f000001060fa1"},
      {"/ip6/::1/tcp/0", "2900000000000000000000000000000001060000"},
      {"/dns4/example.com/tcp/443", "360b6578616d706c652e636f6d0601bb"},
  };
  for (const auto& v : vectors) {
    auto m = Multiaddr::parse(v.text);
    ASSERT_TRUE(m) << v.text;
    EXPECT_EQ(utils::to_hex(m->to_bytes()), v.hex);
    auto back = Multiaddr::from_bytes(bytes_of(v.hex));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->to_string(), v.text);
  }
}

TEST(MultiaddrTest, P2pComponentAndAccessors) {
  // given an address with /p2p, when parsed, then host, port and peer id are exposed and the
  // binary form round-trips
  const std::string text = "/ip4/10.0.0.1/tcp/9000/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
  auto m = Multiaddr::parse(text);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->to_string(), text);
  EXPECT_EQ(*m->host(), "10.0.0.1");
  EXPECT_EQ(*m->tcp_port(), 9000);
  EXPECT_EQ(m->peer_id()->to_string(), "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");
  EXPECT_EQ(*Multiaddr::from_bytes(m->to_bytes()), *m);
  EXPECT_EQ(m->without_peer().to_string(), "/ip4/10.0.0.1/tcp/9000");
  EXPECT_EQ(*Multiaddr::parse("/ip4/1.2.3.4/tcp/5/ipfs/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N")->peer_id(),
            *PeerId::parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"));
}

TEST(MultiaddrTest, RejectsMalformed) {
  // given bad text and bytes, when parsed, then errors (never a crash)
  for (const char* bad : {"", "ip4/1.2.3.4", "/ip4/1.2.3", "/ip4/1.2.3.4/tcp/70000", "/tcp", "/foo/1", "/ip4//tcp/1",
                          "/ip6/zz::/tcp/1", "/p2p/notapeer", "/tcp/-1"})
    EXPECT_FALSE(Multiaddr::parse(bad)) << bad;
  for (const char* hex : {"", "04", "047f0000", "06", "3605616263", "ff01", "a503050001"})
    EXPECT_FALSE(Multiaddr::from_bytes(bytes_of(hex))) << hex;
}

TEST(MultiaddrTest, RandomBytesNeverCrash) {
  // given random byte strings, when decoded as multiaddr, protobuf, identify, then no crash
  std::mt19937 rng(42);
  for (int i = 0; i < 5000; ++i) {
    Bytes b(rng() % 40);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    (void)Multiaddr::from_bytes(b);
    (void)decode_identify(b);
    (void)PeerId::from_bytes(b);
    pb::Reader r(b);
    for (int k = 0; k < 50 && !r.done(); ++k)
      if (!r.next()) break;
  }
}

TEST(Multistream, MessageEncoding) {
  // given the protocol id, when framed, then it is varint length + text + newline
  Bytes out;
  multistream::append_message(out, "/multistream/1.0.0");
  EXPECT_EQ(out.size(), 20u);
  EXPECT_EQ(out[0], 19);
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(*multistream::parse_body(std::span(out).subspan(1)), "/multistream/1.0.0");
  Bytes no_newline{'n', 'a'};
  EXPECT_FALSE(multistream::parse_body(no_newline));
}

TEST(Multistream, LsResponseRoundTrip) {
  // given a protocol list, when encoded as an ls answer and parsed, then the list comes back
  std::vector<std::string> protos{"/ipfs/ping/1.0.0", "/ipfs/id/1.0.0"};
  auto msg = multistream::encode_ls_response(protos);
  auto len = utils::varint_decode(msg);
  ASSERT_TRUE(len);
  auto parsed = multistream::parse_ls_body(std::span(msg).subspan(len->second));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, protos);
}

TEST(YamuxFrame, EncodeDecodeKnownBytes) {
  // given a window update with SYN on stream 3, when encoded, then the 12 bytes match the spec
  yamux::Header h{yamux::Type::WindowUpdate, yamux::SYN, 3, 0x40000};
  auto b = yamux::encode(h);
  EXPECT_EQ(utils::to_hex(b), "000100010000000300040000");
  auto d = yamux::decode(b);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, h);
}

TEST(YamuxFrame, RejectsBadVersionAndType) {
  // given a header with version 1 or type 9, when decoded, then it is a protocol error
  auto b = yamux::encode({yamux::Type::Data, 0, 1, 0});
  b[0] = 1;
  EXPECT_FALSE(yamux::decode(b));
  b[0] = 0;
  b[1] = 9;
  EXPECT_FALSE(yamux::decode(b));
}

TEST(IdentifyCodec, RoundTrip) {
  // given an identify message, when encoded and decoded, then every field survives
  IdentifyMessage m;
  m.public_key = bytes_of("08011220aabb");
  m.listen_addrs.push_back(Multiaddr::parse("/ip4/127.0.0.1/tcp/1")->to_bytes());
  m.protocols = {"/ipfs/ping/1.0.0", "/ipfs/id/1.0.0"};
  m.observed_addr = Multiaddr::parse("/ip4/1.1.1.1/tcp/2")->to_bytes();
  m.agent_version = "ciro/0.1.0";
  m.protocol_version = "ipfs/0.1.0";
  auto d = decode_identify(encode_identify(m));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->public_key, m.public_key);
  EXPECT_EQ(d->listen_addrs, m.listen_addrs);
  EXPECT_EQ(d->protocols, m.protocols);
  EXPECT_EQ(*d->observed_addr, *m.observed_addr);
  EXPECT_EQ(*d->agent_version, "ciro/0.1.0");
}

TEST(Protobuf, RejectsTruncatedAndGroups) {
  // given a truncated length-delimited field and a group wire type, when read, then errors
  const Bytes b1 = bytes_of("0a05aabb"), b2 = bytes_of("0b"), b3 = bytes_of("08ffffffffffffffffffffff01");
  pb::Reader r1(b1);
  EXPECT_FALSE(r1.next());
  pb::Reader r2(b2);
  EXPECT_FALSE(r2.next());
  pb::Reader r3(b3);  // 11-byte varint
  EXPECT_FALSE(r3.next());
}
