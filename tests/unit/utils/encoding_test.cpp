#include <gtest/gtest.h>

#include "utils/encoding.h"

using namespace ciro::utils;

// Given bytes, when hex-encoded and decoded, then they round-trip; bad hex is refused.
TEST(Encoding, HexRoundTripAndRejects) {
  Bytes b = {0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(to_hex(b), "0001abff");
  EXPECT_EQ(*from_hex("0x0001ABff"), b);
  EXPECT_FALSE(from_hex("abc").has_value());
  EXPECT_FALSE(from_hex("zz").has_value());
}

// Given the base58btc test vectors of the multibase spec, when encoded, then the text matches.
TEST(Encoding, Base58KnownAnswers) {
  std::string hello = "Hello World!";
  EXPECT_EQ(base58_encode(Bytes(hello.begin(), hello.end())), "2NEpo7TZRRrLZSi2U");
  Bytes zeros = {0, 0, 0x28, 0x7f, 0xb4, 0xcd};
  EXPECT_EQ(base58_encode(zeros), "11233QC4");
  EXPECT_EQ(*base58_decode("11233QC4"), zeros);
  EXPECT_FALSE(base58_decode("0OIl").has_value());
}

// Given random bytes, when base64-encoded, then decoding returns them; truncated text fails.
TEST(Encoding, Base64RoundTrip) {
  Bytes b = {'c', 'i', 'r', 'o', 0, 255};
  EXPECT_EQ(*base64_decode(base64_encode(b)), b);
  EXPECT_FALSE(base64_decode("abc").has_value());
}

// Given varints from the multiformats spec, when decoded, then values and lengths match; a
// non-minimal or truncated one is refused.
TEST(Encoding, VarintSpecVectors) {
  Bytes out;
  varint_append(out, 300);
  EXPECT_EQ(out, (Bytes{0xac, 0x02}));
  auto d = varint_decode(out);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->first, 300u);
  EXPECT_EQ(d->second, 2u);
  EXPECT_FALSE(varint_decode(Bytes{0x81, 0x00}).has_value());
  EXPECT_FALSE(varint_decode(Bytes{0x80}).has_value());
}
