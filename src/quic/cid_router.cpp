#include "quic/cid_router.hpp"

#include <ngtcp2/ngtcp2.h>

namespace mp::quic {

std::optional<DatagramHeader> parse_header(BytesView datagram) {
  if (datagram.empty()) return std::nullopt;  // ngtcp2 asserts on it
  ngtcp2_version_cid vc{};
  const int rv = ngtcp2_pkt_decode_version_cid(&vc, datagram.data(), datagram.size(), kCidLength);
  // NGTCP2_ERR_VERSION_NEGOTIATION: a long header of a version we do not
  // speak; its IDs are decoded all the same.
  if (rv != 0 && rv != NGTCP2_ERR_VERSION_NEGOTIATION) return std::nullopt;
  DatagramHeader h;
  h.long_header = (datagram[0] & 0x80) != 0;
  h.version = vc.version;
  h.dcid.assign(reinterpret_cast<const char*>(vc.dcid), vc.dcidlen);
  if (vc.scid) h.scid.assign(reinterpret_cast<const char*>(vc.scid), vc.scidlen);
  return h;
}

bool CidRouter::add(const std::string& cid, std::uint64_t handle) {
  if (!map_.emplace(cid, handle).second) return false;
  by_handle_[handle].push_back(cid);
  return true;
}

void CidRouter::remove(const std::string& cid) {
  auto it = map_.find(cid);
  if (it == map_.end()) return;
  if (auto h = by_handle_.find(it->second); h != by_handle_.end()) {
    std::erase(h->second, cid);
    if (h->second.empty()) by_handle_.erase(h);
  }
  map_.erase(it);
}

void CidRouter::remove_all(std::uint64_t handle) {
  auto h = by_handle_.find(handle);
  if (h == by_handle_.end()) return;
  for (const auto& cid : h->second) map_.erase(cid);
  by_handle_.erase(h);
}

}  // namespace mp::quic
