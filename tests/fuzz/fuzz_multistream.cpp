// multistream-select message bodies (one protocol line, and an `ls` answer).
#include "network/multistream.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> in(data, size);
  (void)ciro::network::multistream::parse_body(in);
  (void)ciro::network::multistream::parse_ls_body(in);
  return 0;
}
