// MisbehaviourSummary: the periodic log summary that replaces one log line
// per refused or failed event. A peer can make us count an event for the
// price of a few bytes; it must not be able to make us write a log line for
// each. The node watches its refusal and failure counters (host handshake
// failures and limits, Kademlia and store refusals, relay and AutoNAT
// refusals) and, once per LOG_SUMMARY_INTERVAL_SECS, logs one info line per
// counter that increased.
//
// Pure: it reads counters through the functions it is given and returns the
// lines; the caller logs them. Not thread-safe; the read functions may read
// atomics written elsewhere.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mp::app {

class MisbehaviourSummary {
 public:
  // Watches a counter from now on: `name` says what was counted (e.g.
  // "handshake failed (noise)"), `read` returns its total so far.
  void watch(std::string name, std::function<std::uint64_t()> read);

  // One line per watched counter that grew since the previous collect() (or
  // since watch()), in watch order:
  //   "<name>: <increase> in the last <interval>s (<total> since start)"
  // `interval` only labels the line. At most one line per watched counter,
  // whatever peers did.
  std::vector<std::string> collect(std::chrono::seconds interval);

  std::size_t watched() const { return counters_.size(); }

 private:
  struct Watched {
    std::string name;
    std::function<std::uint64_t()> read;
    std::uint64_t last;
  };
  std::vector<Watched> counters_;
};

}  // namespace mp::app
