#pragma once
// `ciroctl stark ...`: operator commands over the Stark cryptography (selector, pedersen,
// poseidon, keccak, pubkey, sign, verify, invoke-hash, help). A plain function so that ciroctl's
// main and the unit tests call it the same way; no state, no globals.

#include <ostream>
#include <string>
#include <vector>

namespace ciro::blockchain {

/// Runs one command; args are what follows `ciroctl stark`. Hex in, minimal hex out, one value
/// per line on `out`. Returns 0 on success (for verify: valid), 1 when verify finds the
/// signature invalid, 2 on bad usage or bad input (message on `err`).
int stark_cli_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace ciro::blockchain
