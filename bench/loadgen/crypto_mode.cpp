// `mp-loadgen crypto`: this machine's crypto bound for a Noise XX responder,
// measured on the primitives the node itself calls (one core, one thread).
// A responder makes one ephemeral key pair, three X25519 agreements (ee, es,
// se) and one Ed25519 verification of the initiator's payload (its own
// signature is made once per process), so no setup can cost less CPU.
#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "core/keys.hpp"
#include "loadgen/modes.hpp"
#include "noise/crypto.hpp"

namespace mp::loadgen {
namespace {

using Clock = std::chrono::steady_clock;

// Calls `op` for about `seconds`; returns its rate per second.
template <typename Op>
double rate(double seconds, Op&& op) {
  std::uint64_t n = 0;
  const auto start = Clock::now();
  const auto until = start + std::chrono::duration<double>(seconds);
  auto now = start;
  do {
    for (int i = 0; i < 32; ++i) op();
    n += 32;
    now = Clock::now();
  } while (now < until);
  return static_cast<double>(n) / std::chrono::duration<double>(now - start).count();
}

}  // namespace

int run_crypto(double seconds) {
  const noise::X25519KeyPair ours = noise::X25519KeyPair::generate();
  const noise::X25519KeyPair theirs = noise::X25519KeyPair::generate();
  const Ed25519KeyPair signer = Ed25519KeyPair::generate();
  const Bytes msg = to_bytes("noise-libp2p-static-key:" + std::string(32, 'k'));
  const Bytes sig = signer.sign(msg);
  const PublicKey key = signer.public_key();
  bool ok = true;
  const double keygen = rate(seconds, [] { (void)noise::X25519KeyPair::generate(); });
  const double agree = rate(seconds, [&] { ok = ok && static_cast<bool>(noise::x25519(ours, theirs.public_key)); });
  const double verify = rate(seconds, [&] { ok = ok && key.verify(msg, sig); });
  if (!ok) throw std::runtime_error("crypto: an agreement or a verification failed");
  const double per_setup_us = 1e6 / keygen + 3e6 / agree + 1e6 / verify;
  std::printf("crypto   X25519 key pairs %.0f/s, agreements %.0f/s, Ed25519 verifications %.0f/s"
              " => %.1f us per responder handshake, %.0f/s on one core\n",
              keygen, agree, verify, per_setup_us, 1e6 / per_setup_us);
  std::printf("RESULT {\"mode\":\"crypto\",\"x25519_keygen_per_s\":%.1f,\"x25519_per_s\":%.1f,"
              "\"ed25519_verify_per_s\":%.1f,\"setup_us\":%.2f,\"setups_per_s\":%.1f}\n",
              keygen, agree, verify, per_setup_us, 1e6 / per_setup_us);
  return 0;
}

}  // namespace mp::loadgen
