// Where the state lives between polls and across restarts: the ids of counted calls (asked one
// by one, never all held in memory), the calls being followed and each channel's position.
// One poll's changes are recorded together or not at all.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "state/state.h"

struct sqlite3;
struct sqlite3_stmt;

namespace bird_exporter {

// The state must not be used by this process: another exporter holds it (both would count
// every call), it was written by a newer release, or other users can write into its directory
// (or own the file). Start-up stops.
class StateRefusedError : public StateError {
 public:
  using StateError::StateError;
};

// A channel whose saved state changed in a poll: `before` as last recorded (null: new),
// `after` as it is now (null: the channel is no longer polled).
struct ChannelChange {
  ChannelKey key;
  const ChannelState* before = nullptr;
  const ChannelState* after = nullptr;
};

struct PollRecord {
  struct Counted {
    ChannelKey channel;
    std::string call_id;
    SystemTime created;
  };
  std::vector<Counted> counted;  // newly counted calls
  std::vector<ChannelChange> channels;
  SystemTime prune_before{};  // counted calls created earlier may be forgotten
};

struct OpenedState {
  std::map<ChannelKey, ChannelState> channels;
  // Set when the file found was unreadable and was moved aside (to this path) for a fresh one.
  std::string moved_aside;
  std::string error;      // why it was unreadable
  bool migrated = false;  // imported from a JSON state file of an earlier release
};

class StateStore {
 public:
  virtual ~StateStore() = default;
  // Opens the state (creating, migrating or replacing an unreadable one) and returns the
  // channels' saved state. Throws StateRefusedError when another process holds it, StateError
  // when it cannot be opened now (a missing or read-only directory: retried later).
  virtual OpenedState Open() = 0;
  virtual bool IsOpen() const = 0;
  // Whether the call was counted and recorded. Safe from any thread.
  virtual bool IsCounted(const std::string& call_id) const = 0;
  // Records a poll in one transaction; throws StateError, and then nothing of it is recorded.
  virtual void Commit(const PollRecord& record) = 0;
  virtual std::size_t CountedCalls() const = 0;
  virtual const std::string& Where() const = 0;  // for logs
};

// No state_file: the state lives as long as the process.
class MemoryStateStore : public StateStore {
 public:
  OpenedState Open() override;
  bool IsOpen() const override { return true; }
  bool IsCounted(const std::string& call_id) const override;
  void Commit(const PollRecord& record) override;
  std::size_t CountedCalls() const override;
  const std::string& Where() const override { return where_; }

 private:
  mutable std::mutex mutex_;
  State state_;  // only `counted` is used: the poller holds the channels
  std::string where_ = "(memory)";
};

// A SQLite database at `path` (WAL journal, synchronous=FULL), with a lock file beside it that
// keeps a second process out. A JSON state file of an earlier release found at `path` is
// imported once and kept as `<path>.migrated`.
class SqliteStateStore : public StateStore {
 public:
  // Rows of counted calls forgotten per poll at most, so that pruning never stalls a poll.
  static constexpr int kPruneBatch = 20000;

  explicit SqliteStateStore(std::string path);
  ~SqliteStateStore() override;
  SqliteStateStore(const SqliteStateStore&) = delete;
  SqliteStateStore& operator=(const SqliteStateStore&) = delete;

  OpenedState Open() override;
  bool IsOpen() const override;
  bool IsCounted(const std::string& call_id) const override;
  void Commit(const PollRecord& record) override;
  std::size_t CountedCalls() const override;
  const std::string& Where() const override { return path_; }

  // Read-only summary for operators (`--state.inspect`), safe while an exporter runs.
  static std::string Inspect(const std::string& path);

 private:
  void Close();
  void OpenDatabase();
  void WriteChannel(const ChannelChange& change);
  long long WriteCounted(const std::vector<PollRecord::Counted>& counted);
  long long PruneCounted(SystemTime before);
  OpenedState LoadChannels();
  void Migrate(const State& state, OpenedState& opened);
  long long ChannelRowId(const ChannelKey& key);

  std::string path_;
  int lock_fd_ = -1;
  sqlite3* db_ = nullptr;
  mutable std::mutex mutex_;
  mutable sqlite3_stmt* is_counted_ = nullptr;
  std::size_t counted_calls_ = 0;
  std::map<ChannelKey, long long> channel_ids_;
};

}  // namespace bird_exporter
