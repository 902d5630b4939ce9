// Stored rows (storage/sqlite_peer_store.cpp load_peers): the dht_peers
// table is read back at start, and its text was written from peer-supplied
// data (or edited by hand, or corrupted). Input: rows of
//   varint(len) || peer_id text || varint(len) || multiaddr text || reputation byte || last_seen
//   byte
// inserted into a real store's database (one store for the whole run: its
// table is emptied per input), then load_peers(). Properties: loading never
// fails on bad rows; every returned peer is distinct, has at least one
// address, its addresses are distinct, and its reputation/last_seen come
// from its rows.
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "core/varint.hpp"
#include "fuzz/fuzz_check.hpp"
#include "storage/sqlite.hpp"
#include "storage/sqlite_peer_store.hpp"

namespace {

using namespace mp;

struct Fixture {
  std::unique_ptr<storage::SqlitePeerStore> store;
  storage::sqlite::Database db;  // a second connection that writes the rows
};

Fixture& fixture() {
  static Fixture* f = [] {
    spdlog::set_level(spdlog::level::off);
    static char tmpl[] = "/tmp/mp-fuzz-stored-row-XXXXXX";
    MP_FUZZ_CHECK(mkdtemp(tmpl) != nullptr);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(tmpl, ec);
    });
    storage::SqlitePeerStoreConfig cfg;
    cfg.data_dir = tmpl;
    cfg.lock_data_dir = false;
    cfg.quick_check_on_open = false;
    cfg.cache_size_kib = 1024;
    auto store = storage::SqlitePeerStore::open(cfg);
    MP_FUZZ_CHECK(store.ok());
    auto* fx = new Fixture{std::move(store.value()), {}};
    fx->db = storage::sqlite::Database((std::filesystem::path(tmpl) / "dht.db").string(),
                                       storage::sqlite::Database::Mode::kReadWrite);
    fx->db.set_busy_timeout(5000);
    return fx;
  }();
  return *f;
}

std::optional<std::string_view> take_text(BytesView& in) {
  auto len = varint::decode(in);
  if (!len || len->value > in.size() - len->size) return std::nullopt;
  const std::string_view s = as_string(in.subspan(len->size, len->value));
  in = in.subspan(len->size + len->value);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Fixture& fx = fixture();
  BytesView in(data, size);
  fx.db.exec("BEGIN");
  fx.db.exec("DELETE FROM dht_peers");
  storage::sqlite::Statement insert(
      fx.db,
      "INSERT OR IGNORE INTO dht_peers (peer_id, multiaddr, first_seen, last_seen, reputation) "
      "VALUES (?, ?, 0, ?, ?)");
  for (int rows = 0; rows < 64; ++rows) {
    auto peer = take_text(in);
    if (!peer) break;
    auto addr = take_text(in);
    if (!addr || in.size() < 2) break;
    insert.bind(1, *peer).bind(2, *addr).bind(3, std::int64_t{in[1]}).bind(4, double(in[0]) / 16);
    in = in.subspan(2);
    insert.run();
    insert.reset();
  }
  fx.db.exec("COMMIT");

  auto peers = fx.store->load_peers();
  MP_FUZZ_CHECK(peers.ok());
  std::set<PeerId> seen;
  for (const auto& p : *peers) {
    MP_FUZZ_CHECK(seen.insert(p.id).second);
    MP_FUZZ_CHECK(!p.addrs.empty());
    std::set<Multiaddr> addrs;
    for (const auto& a : p.addrs) MP_FUZZ_CHECK(addrs.insert(a).second);
    MP_FUZZ_CHECK(p.reputation >= 0 && p.reputation <= 255.0 / 16);
    MP_FUZZ_CHECK(p.last_seen >= 0 && p.last_seen <= 255);
  }
  return 0;
}
