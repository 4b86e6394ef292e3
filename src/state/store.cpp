#include "state/store.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

namespace bird_exporter {
namespace {

constexpr int kSchemaVersion = 1;

// The schema. `counted` holds one row per counted call (its id is the key, so a membership
// check is one index lookup); `created_ms` is indexed for pruning by age. `channel` is the
// channels row the call was counted on (NULL for calls imported from a JSON state file, which
// did not record it). A followed call is one row of `tracked`, its record a JSON document.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS channels (
  id INTEGER PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  channel_id TEXT NOT NULL,
  window_start_ms INTEGER NOT NULL,
  since_ms INTEGER NOT NULL,
  gaps TEXT NOT NULL DEFAULT '[]',
  UNIQUE (workspace_id, channel_id)
);
CREATE TABLE IF NOT EXISTS counted (
  call_id TEXT PRIMARY KEY,
  channel INTEGER,
  created_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS counted_by_created ON counted (created_ms);
CREATE TABLE IF NOT EXISTS tracked (
  channel INTEGER NOT NULL,
  call_id TEXT NOT NULL,
  record TEXT NOT NULL,
  PRIMARY KEY (channel, call_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
)sql";

long long Millis(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// A time read back from the database. The clock counts nanoseconds in 64 bits (about ±292
// years around 1970); a damaged row beyond that is held at the edge rather than overflowing.
SystemTime FromMillis(long long ms) {
  constexpr long long kMaxAbsMillis = 9'000'000'000'000LL;  // the year 2255
  ms = std::clamp(ms, -kMaxAbsMillis, kMaxAbsMillis);
  return SystemTime(
      std::chrono::duration_cast<SystemTime::duration>(std::chrono::milliseconds(ms)));
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

bool InOwnGroups(gid_t gid) {
  if (gid == ::getegid()) return true;
  const int count = ::getgroups(0, nullptr);
  if (count <= 0) return false;
  std::vector<gid_t> groups(static_cast<std::size_t>(count));
  const int n = ::getgroups(count, groups.data());
  return std::find(groups.begin(), groups.begin() + std::max(n, 0), gid) != groups.end();
}

std::string Octal(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// Another user who can write into the state directory can plant or replace the state (make the
// exporter count calls again, or lose them): such a directory is refused, as is a state file of
// another user. Group-writable is fine for the exporter's own groups (Kubernetes fsGroup). A
// directory that does not exist yet is left to the open, which is retried.
void CheckStateDirectory(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return;
  const std::string where = "the state directory " + dir + " (mode " + Octal(st.st_mode) + ")";
  if (st.st_mode & S_IWOTH) {
    throw StateRefusedError(where +
                            " is writable by every user, who could replace the state; "
                            "make it writable by the exporter only (chmod o-w)");
  }
  if ((st.st_mode & S_IWGRP) && !InOwnGroups(st.st_gid)) {
    throw StateRefusedError(where + " is writable by group " + std::to_string(st.st_gid) +
                            ", which the exporter is not in; make it writable by the exporter "
                            "only (chmod g-w)");
  }
  const uid_t me = ::geteuid();
  if (st.st_uid != me && st.st_uid != 0) {
    throw StateRefusedError(where + " belongs to user " + std::to_string(st.st_uid) +
                            ", not to the exporter's user " + std::to_string(me));
  }
  struct stat file {};
  if (::lstat(path.c_str(), &file) == 0 && file.st_uid != me && me != 0) {
    throw StateRefusedError("the state file " + path + " belongs to user " +
                            std::to_string(file.st_uid) + ", not to the exporter's user " +
                            std::to_string(me));
  }
}

// The database file is unusable (not a database, damaged pages): moved aside and replaced.
class StateCorruptError : public StateError {
 public:
  using StateError::StateError;
};

[[noreturn]] void Fail(sqlite3* db, int rc, const std::string& what) {
  std::string message = what + ": " + sqlite3_errstr(rc);
  if (db != nullptr && sqlite3_errcode(db) == rc) {
    const std::string detail = sqlite3_errmsg(db);
    if (detail != sqlite3_errstr(rc)) message += " (" + detail + ")";
  }
  const int primary = rc & 0xff;
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) throw StateCorruptError(message);
  throw StateError(message);
}

void Exec(sqlite3* db, const char* sql, const char* what) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) Fail(db, rc, what);
}

// A prepared statement, reset for reuse when it goes out of scope.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int i, const std::string& s) {
    Check(sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Statement& Bind(int i, long long v) {
    Check(sqlite3_bind_int64(stmt_, i, v));
    return *this;
  }
  Statement& BindNull(int i) {
    Check(sqlite3_bind_null(stmt_, i));
    return *this;
  }
  // True while there is a row.
  bool Step(const char* what) {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    Fail(db_, rc, what);
  }
  void Run(const char* what) {
    while (Step(what)) {
    }
  }
  long long Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(stmt_, col));
  }

 private:
  void Check(int rc) {
    if (rc != SQLITE_OK) Fail(db_, rc, "binding a value");
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// Statements prepared once per connection.
class Statements {
 public:
  explicit Statements(sqlite3* db) : db_(db) {}
  ~Statements() { Clear(); }
  Statements(const Statements&) = delete;
  Statements& operator=(const Statements&) = delete;
  Statement Get(const char* sql) {
    sqlite3_stmt*& stmt = cache_[sql];
    if (stmt == nullptr) {
      const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
      if (rc != SQLITE_OK) {
        stmt = nullptr;
        Fail(db_, rc, "preparing a statement");
      }
    }
    return Statement(db_, stmt);
  }
  void Clear() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    cache_.clear();
  }

 private:
  sqlite3* db_;
  std::map<const char*, sqlite3_stmt*> cache_;
};

// One Statements cache per connection, found by the connection.
std::mutex g_statements_mutex;
std::map<sqlite3*, std::unique_ptr<Statements>>& AllStatements() {
  static std::map<sqlite3*, std::unique_ptr<Statements>> all;
  return all;
}
Statements& StatementsOf(sqlite3* db) {
  std::lock_guard lock(g_statements_mutex);
  auto& entry = AllStatements()[db];
  if (!entry) entry = std::make_unique<Statements>(db);
  return *entry;
}
void CloseDatabase(sqlite3* db) {
  if (db == nullptr) return;
  {
    std::lock_guard lock(g_statements_mutex);
    AllStatements().erase(db);
  }
  sqlite3_close_v2(db);
}

enum class FileKind { kMissing, kSqlite, kJson, kOther };

FileKind KindOf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    return std::filesystem::exists(path, ec) ? FileKind::kOther : FileKind::kMissing;
  }
  char head[16] = {};
  in.read(head, sizeof head);
  const auto n = in.gcount();
  // An empty file is an empty database to SQLite.
  if (n == 0 || (n == 16 && std::memcmp(head, "SQLite format 3", 16) == 0)) {
    return FileKind::kSqlite;
  }
  for (std::streamsize i = 0; i < n; ++i) {
    if (head[i] == ' ' || head[i] == '\n' || head[i] == '\r' || head[i] == '\t') continue;
    return head[i] == '{' ? FileKind::kJson : FileKind::kOther;
  }
  return FileKind::kOther;
}

void FsyncDirectoryOf(const std::string& path) {
  const std::filesystem::path p(path);
  const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void RenameOrThrow(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) throw StateError(Errno("cannot rename " + from));
}

void RemoveDatabaseFiles(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink((path + suffix).c_str());
}

sqlite3* OpenConnection(const std::string& path, bool wal) {
  // Created readable by the owner only; SQLite gives its journal files the same mode.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw StateError(Errno("cannot open " + path));
  ::close(fd);
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW,
      nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = std::string("cannot open ") + path + ": " + sqlite3_errstr(rc);
    CloseDatabase(db);
    throw StateError(message);
  }
  try {
    Exec(db, "PRAGMA busy_timeout = 0", "setting the busy timeout");
    // With WAL, FULL makes every committed poll durable on the disk before its calls show on
    // /metrics: a power cut cannot undo a poll whose calls were already scraped.
    Exec(db, wal ? "PRAGMA journal_mode = WAL" : "PRAGMA journal_mode = DELETE",
         "choosing the journal");
    Exec(db, "PRAGMA synchronous = FULL", "setting synchronous");
    Exec(db, "BEGIN IMMEDIATE", "creating the schema");
    Exec(db, kSchema, "creating the schema");
    sqlite3_stmt* stmt = nullptr;
    int prc = sqlite3_prepare_v2(db, "SELECT max(version), count(*) FROM schema_version", -1, &stmt,
                                 nullptr);
    if (prc != SQLITE_OK) Fail(db, prc, "reading the schema version");
    long long found = 0, rows = 0;
    prc = sqlite3_step(stmt);
    if (prc == SQLITE_ROW) {
      found = sqlite3_column_int64(stmt, 0);
      rows = sqlite3_column_int64(stmt, 1);
    }
    sqlite3_finalize(stmt);
    if (prc != SQLITE_ROW) Fail(db, prc, "reading the schema version");
    if (rows == 0) {
      Exec(db, "INSERT INTO schema_version (version) VALUES (1)", "writing the schema version");
    } else if (found > kSchemaVersion) {
      throw StateRefusedError("state database " + path + " has schema version " +
                              std::to_string(found) + ", newer than this exporter reads (" +
                              std::to_string(kSchemaVersion) + "); use the newer release");
    }
    Exec(db, "COMMIT", "creating the schema");
  } catch (...) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    CloseDatabase(db);
    throw;
  }
  return db;
}

// The lock is a file of its own: the database file is replaced when it is migrated or moved
// aside, and a lock on it would go with it. Returns its descriptor.
int LockStateFile(const std::string& path) {
  const std::string lock_path = path + ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw StateError(Errno("cannot create the lock file " + lock_path));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) {
      throw StateRefusedError("another bird_call_exporter process uses the state file " + path +
                              " (lock " + lock_path +
                              "); two exporters on one state would count every call twice");
    }
    errno = error;
    throw StateError(Errno("cannot lock " + lock_path));
  }
  return fd;
}

// An import of a JSON state is complete once it is marked as migrated.
bool ImportComplete(const std::string& importing) {
  bool complete = false;
  try {
    sqlite3* db = OpenConnection(importing, false);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM meta WHERE key = 'migrated_from'", -1, &stmt,
                           nullptr) == SQLITE_OK) {
      complete = sqlite3_step(stmt) == SQLITE_ROW;
    }
    sqlite3_finalize(stmt);
    CloseDatabase(db);
  } catch (const StateError&) {
    complete = false;
  }
  return complete;
}

}  // namespace

// --- In memory --------------------------------------------------------------------------------

OpenedState MemoryStateStore::Open() { return {}; }

bool MemoryStateStore::IsCounted(const std::string& call_id) const {
  std::lock_guard lock(mutex_);
  return state_.IsCounted(call_id);
}

void MemoryStateStore::Commit(const PollRecord& record) {
  std::lock_guard lock(mutex_);
  for (const auto& c : record.counted) state_.counted.emplace(c.call_id, c.created);
  PruneState(state_, record.prune_before);
}

std::size_t MemoryStateStore::CountedCalls() const {
  std::lock_guard lock(mutex_);
  return state_.counted.size();
}

// --- SQLite -----------------------------------------------------------------------------------

SqliteStateStore::SqliteStateStore(std::string path) : path_(std::move(path)) {}

SqliteStateStore::~SqliteStateStore() {
  Close();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

bool SqliteStateStore::IsOpen() const {
  std::lock_guard lock(mutex_);
  return db_ != nullptr;
}

void SqliteStateStore::Close() {
  std::lock_guard lock(mutex_);
  CloseDatabase(db_);
  db_ = nullptr;
  channel_ids_.clear();
}

OpenedState SqliteStateStore::Open() {
  Close();
  CheckStateDirectory(path_);
  if (lock_fd_ < 0) lock_fd_ = LockStateFile(path_);
  OpenedState opened;
  const std::string importing = path_ + ".importing";
  FileKind kind = KindOf(path_);
  if (kind == FileKind::kMissing && KindOf(importing) == FileKind::kSqlite &&
      ImportComplete(importing)) {
    // A migration stopped between its two renames, after the import was complete.
    RenameOrThrow(importing, path_);
    FsyncDirectoryOf(path_);
    kind = FileKind::kSqlite;
    opened.migrated = true;
  }
  auto move_aside = [&](const std::string& why) {
    Close();
    const std::string aside = path_ + ".corrupt";
    RemoveDatabaseFiles(aside);
    RenameOrThrow(path_, aside);
    for (const char* suffix : {"-wal", "-shm", "-journal"}) ::unlink((path_ + suffix).c_str());
    FsyncDirectoryOf(path_);
    opened.moved_aside = aside;
    opened.error = why;
  };
  if (kind == FileKind::kJson) {
    std::optional<State> state;
    try {
      std::ifstream in(path_, std::ios::binary);
      if (!in) throw StateError(Errno("cannot open state file " + path_));
      std::stringstream buffer;
      buffer << in.rdbuf();
      state = ParseState(buffer.str());
    } catch (const StateError& e) {
      // An unreadable JSON file is replaced, as it always was.
      move_aside(e.what());
    }
    if (state) Migrate(*state, opened);
  } else if (kind == FileKind::kOther) {
    move_aside("not a SQLite database nor a JSON state file");
  }
  for (int attempt = 0;; ++attempt) {
    try {
      OpenDatabase();
      OpenedState loaded = LoadChannels();
      opened.channels = std::move(loaded.channels);
      return opened;
    } catch (const StateCorruptError& e) {
      if (attempt > 0) throw;
      move_aside(e.what());
    }
  }
}

void SqliteStateStore::OpenDatabase() {
  sqlite3* db = OpenConnection(path_, true);
  std::lock_guard lock(mutex_);
  db_ = db;
}

OpenedState SqliteStateStore::LoadChannels() {
  std::lock_guard lock(mutex_);
  OpenedState opened;
  Statements& st = StatementsOf(db_);
  std::map<long long, ChannelKey> by_id;
  {
    Statement q = st.Get(
        "SELECT id, workspace_id, channel_id, window_start_ms, since_ms, gaps FROM channels");
    while (q.Step("reading channels")) {
      const ChannelKey key{q.Text(1), q.Text(2)};
      ChannelState& cs = opened.channels[key];
      cs.window_start = FromMillis(q.Int(3));
      cs.since = FromMillis(q.Int(4));
      cs.gaps = ParseGaps(q.Text(5));
      by_id[q.Int(0)] = key;
      channel_ids_[key] = q.Int(0);
    }
  }
  {
    Statement q = st.Get("SELECT channel, record FROM tracked");
    while (q.Step("reading followed calls")) {
      auto it = by_id.find(q.Int(0));
      if (it == by_id.end()) continue;
      TrackedCall t = ParseTracked(q.Text(1));
      const std::string id = t.call.id;
      opened.channels[it->second].tracked.emplace(id, std::move(t));
    }
  }
  {
    Statement q = st.Get("SELECT value FROM meta WHERE key = 'counted_calls'");
    if (q.Step("reading the number of counted calls")) {
      counted_calls_ = static_cast<std::size_t>(q.Int(0));
    } else {
      Statement count = st.Get("SELECT count(*) FROM counted");
      counted_calls_ = count.Step("counting calls") ? static_cast<std::size_t>(count.Int(0)) : 0;
    }
  }
  return opened;
}

void SqliteStateStore::Migrate(const State& state, OpenedState& opened) {
  const auto started = std::chrono::steady_clock::now();
  const std::string importing = path_ + ".importing";
  RemoveDatabaseFiles(importing);
  // Imported with a rollback journal, so the finished file stands alone and can be renamed.
  sqlite3* db = OpenConnection(importing, false);
  std::size_t tracked = 0;
  try {
    Statements& st = StatementsOf(db);
    Exec(db, "BEGIN IMMEDIATE", "importing the JSON state");
    for (const auto& [key, cs] : state.channels) {
      st.Get(
            "INSERT INTO channels (workspace_id, channel_id, window_start_ms, since_ms, gaps) "
            "VALUES (?, ?, ?, ?, ?)")
          .Bind(1, key.first)
          .Bind(2, key.second)
          .Bind(3, Millis(cs.window_start))
          .Bind(4, Millis(cs.since))
          .Bind(5, SerializeGaps(cs.gaps))
          .Run("importing a channel");
      const long long id = sqlite3_last_insert_rowid(db);
      for (const auto& [call_id, t] : cs.tracked) {
        st.Get("INSERT INTO tracked (channel, call_id, record) VALUES (?, ?, ?)")
            .Bind(1, id)
            .Bind(2, call_id)
            .Bind(3, SerializeTracked(t))
            .Run("importing a followed call");
        ++tracked;
      }
    }
    for (const auto& [call_id, created] : state.counted) {
      st.Get("INSERT OR IGNORE INTO counted (call_id, channel, created_ms) VALUES (?, NULL, ?)")
          .Bind(1, call_id)
          .Bind(2, Millis(created))
          .Run("importing a counted call");
    }
    st.Get("INSERT INTO meta (key, value) VALUES ('counted_calls', ?)")
        .Bind(1, static_cast<long long>(state.counted.size()))
        .Run("importing");
    st.Get("INSERT INTO meta (key, value) VALUES ('migrated_from', ?)")
        .Bind(1, path_)
        .Run("importing");
    Exec(db, "COMMIT", "importing the JSON state");
  } catch (...) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    CloseDatabase(db);
    throw;
  }
  CloseDatabase(db);
  // The JSON file is kept beside the database; the import takes its place in one rename.
  const std::string kept = path_ + ".migrated";
  RenameOrThrow(path_, kept);
  RenameOrThrow(importing, path_);
  FsyncDirectoryOf(path_);
  opened.migrated = true;
  spdlog::info(
      "state file migrated from JSON to SQLite path={} counted_calls={} followed_calls={} "
      "channels={} seconds={:.1f} json_kept_as={}",
      path_, state.counted.size(), tracked, state.channels.size(),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), kept);
}

bool SqliteStateStore::IsCounted(const std::string& call_id) const {
  std::lock_guard lock(mutex_);
  if (db_ == nullptr) return false;
  Statement q = StatementsOf(db_).Get("SELECT 1 FROM counted WHERE call_id = ?");
  q.Bind(1, call_id);
  return q.Step("looking up a counted call");
}

std::size_t SqliteStateStore::CountedCalls() const {
  std::lock_guard lock(mutex_);
  return counted_calls_;
}

long long SqliteStateStore::ChannelRowId(const ChannelKey& key) {
  if (auto it = channel_ids_.find(key); it != channel_ids_.end()) return it->second;
  Statement q =
      StatementsOf(db_).Get("SELECT id FROM channels WHERE workspace_id = ? AND channel_id = ?");
  q.Bind(1, key.first).Bind(2, key.second);
  if (!q.Step("finding a channel")) throw StateError("channel row missing after upsert");
  return channel_ids_[key] = q.Int(0);
}

void SqliteStateStore::Commit(const PollRecord& record) {
  std::lock_guard lock(mutex_);
  if (db_ == nullptr) throw StateError("the state database " + path_ + " is not open");
  const auto ids_before = channel_ids_;
  try {
    Exec(db_, "BEGIN IMMEDIATE", "starting the poll's transaction");
    for (const ChannelChange& change : record.channels) WriteChannel(change);
    const long long added = WriteCounted(record.counted);
    const long long pruned = PruneCounted(record.prune_before);
    const long long total = static_cast<long long>(counted_calls_) + added - pruned;
    // A poll that changed nothing writes nothing.
    if (added != 0 || pruned != 0) {
      StatementsOf(db_)
          .Get(
              "INSERT INTO meta (key, value) VALUES ('counted_calls', ?) ON CONFLICT (key) DO "
              "UPDATE SET value = excluded.value")
          .Bind(1, total)
          .Run("recording the number of counted calls");
    }
    Exec(db_, "COMMIT", "committing the poll");
    counted_calls_ = static_cast<std::size_t>(total);
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    channel_ids_ = ids_before;
    throw;
  }
}

// One channel's row and its followed calls, written as far as they changed; a removed channel
// goes with its followed calls.
void SqliteStateStore::WriteChannel(const ChannelChange& change) {
  Statements& st = StatementsOf(db_);
  if (change.after == nullptr) {
    auto it = channel_ids_.find(change.key);
    if (it == channel_ids_.end()) {
      Statement q = st.Get("SELECT id FROM channels WHERE workspace_id = ? AND channel_id = ?");
      q.Bind(1, change.key.first).Bind(2, change.key.second);
      if (!q.Step("finding a channel")) return;
      it = channel_ids_.emplace(change.key, q.Int(0)).first;
    }
    st.Get("DELETE FROM tracked WHERE channel = ?").Bind(1, it->second).Run("removing");
    st.Get("DELETE FROM channels WHERE id = ?").Bind(1, it->second).Run("removing");
    channel_ids_.erase(it);
    return;
  }
  const ChannelState& after = *change.after;
  const ChannelState* before = change.before;
  if (before == nullptr || before->window_start != after.window_start ||
      before->since != after.since || before->gaps != after.gaps ||
      channel_ids_.count(change.key) == 0) {
    st.Get(
          "INSERT INTO channels (workspace_id, channel_id, window_start_ms, since_ms, gaps) "
          "VALUES (?, ?, ?, ?, ?) ON CONFLICT (workspace_id, channel_id) DO UPDATE SET "
          "window_start_ms = excluded.window_start_ms, since_ms = excluded.since_ms, "
          "gaps = excluded.gaps")
        .Bind(1, change.key.first)
        .Bind(2, change.key.second)
        .Bind(3, Millis(after.window_start))
        .Bind(4, Millis(after.since))
        .Bind(5, SerializeGaps(after.gaps))
        .Run("saving a channel");
  }
  const long long channel = ChannelRowId(change.key);
  if (before != nullptr) {
    for (const auto& [id, t] : before->tracked) {
      if (after.tracked.count(id) > 0) continue;
      st.Get("DELETE FROM tracked WHERE channel = ? AND call_id = ?")
          .Bind(1, channel)
          .Bind(2, id)
          .Run("forgetting a followed call");
    }
  }
  for (const auto& [id, t] : after.tracked) {
    if (before != nullptr) {
      auto old = before->tracked.find(id);
      if (old != before->tracked.end() && old->second == t) continue;
    }
    st.Get("INSERT OR REPLACE INTO tracked (channel, call_id, record) VALUES (?, ?, ?)")
        .Bind(1, channel)
        .Bind(2, id)
        .Bind(3, SerializeTracked(t))
        .Run("saving a followed call");
  }
}

// Returns how many of `counted` were new.
long long SqliteStateStore::WriteCounted(const std::vector<PollRecord::Counted>& counted) {
  Statements& st = StatementsOf(db_);
  long long added = 0;
  for (const auto& c : counted) {
    Statement q =
        st.Get("INSERT OR IGNORE INTO counted (call_id, channel, created_ms) VALUES (?, ?, ?)");
    q.Bind(1, c.call_id);
    if (auto it = channel_ids_.find(c.channel); it != channel_ids_.end()) {
      q.Bind(2, it->second);
    } else {
      q.BindNull(2);
    }
    q.Bind(3, Millis(c.created)).Run("recording a counted call");
    added += sqlite3_changes(db_);
  }
  return added;
}

// Forgetting is batched: a backlog (after a long stop, a shorter max_call_age) is worked off
// over several polls instead of stalling one. Returns how many were forgotten.
long long SqliteStateStore::PruneCounted(SystemTime before) {
  StatementsOf(db_)
      .Get(
          "DELETE FROM counted WHERE call_id IN (SELECT call_id FROM counted WHERE "
          "created_ms < ? LIMIT ?)")
      .Bind(1, Millis(before))
      .Bind(2, static_cast<long long>(kPruneBatch))
      .Run("forgetting old calls");
  return sqlite3_changes(db_);
}

std::string SqliteStateStore::Inspect(const std::string& path) {
  std::ostringstream out;
  const FileKind kind = KindOf(path);
  if (kind == FileKind::kMissing) throw StateError("no state file at " + path);
  if (kind == FileKind::kJson) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    const State state = ParseState(buffer.str());
    std::size_t tracked = 0;
    for (const auto& [key, cs] : state.channels) tracked += cs.tracked.size();
    out << "state file " << path << " (JSON, imported into SQLite at the next start)\n"
        << "counted_calls " << state.counted.size() << "\nfollowed_calls " << tracked << "\n";
    return out.str();
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  if (rc != SQLITE_OK) {
    CloseDatabase(db);
    throw StateError(std::string("cannot open ") + path + ": " + sqlite3_errstr(rc));
  }
  try {
    auto one_row = [&](const char* sql, auto&& row) {
      sqlite3_stmt* stmt = nullptr;
      int prc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
      if (prc != SQLITE_OK) Fail(db, prc, "inspecting");
      try {
        Statement q(db, stmt);
        while (q.Step("inspecting")) row(q);
      } catch (...) {
        sqlite3_finalize(stmt);
        throw;
      }
      sqlite3_finalize(stmt);
    };
    long long version = 0;
    one_row("SELECT max(version) FROM schema_version", [&](Statement& q) { version = q.Int(0); });
    out << "state database " << path << " (SQLite, schema version " << version << ")\n";
    one_row("SELECT count(*), min(created_ms), max(created_ms) FROM counted", [&](Statement& q) {
      out << "counted_calls " << q.Int(0) << "\n";
      if (q.Int(0) > 0) {
        out << "oldest_counted_call_created " << FormatRfc3339(FromMillis(q.Int(1))) << "\n"
            << "newest_counted_call_created " << FormatRfc3339(FromMillis(q.Int(2))) << "\n";
      }
    });
    one_row("SELECT value FROM meta WHERE key = 'migrated_from'",
            [&](Statement& q) { out << "migrated_from " << q.Text(0) << "\n"; });
    out << "channels:\n";
    one_row(
        "SELECT c.workspace_id, c.channel_id, c.window_start_ms, c.since_ms, c.gaps, "
        "(SELECT count(*) FROM counted WHERE channel = c.id), "
        "(SELECT count(*) FROM tracked WHERE channel = c.id) FROM channels c "
        "ORDER BY c.workspace_id, c.channel_id",
        [&](Statement& q) {
          out << "  workspace=" << q.Text(0) << " channel=" << q.Text(1)
              << " counted_calls=" << q.Int(5) << " followed_calls=" << q.Int(6)
              << " gaps=" << ParseGaps(q.Text(4)).size()
              << " lists_down_to=" << FormatRfc3339(FromMillis(q.Int(2)))
              << " since=" << FormatRfc3339(FromMillis(q.Int(3))) << "\n";
        });
    one_row("SELECT count(*) FROM counted WHERE channel IS NULL", [&](Statement& q) {
      if (q.Int(0) > 0) out << "counted_calls_imported_without_channel " << q.Int(0) << "\n";
    });
    one_row(
        "SELECT t.call_id, c.workspace_id, c.channel_id, t.record FROM tracked t JOIN channels c "
        "ON c.id = t.channel ORDER BY t.call_id LIMIT 1000",
        [&](Statement& q) {
          const TrackedCall t = ParseTracked(q.Text(3));
          out << "  followed call_id=" << q.Text(0) << " workspace=" << q.Text(1)
              << " channel=" << q.Text(2) << " status=" << ToString(t.call.status)
              << " ended=" << (t.ended ? "true" : "false") << " created="
              << (t.call.created_at ? FormatRfc3339(*t.call.created_at) : std::string("-")) << "\n";
        });
  } catch (...) {
    CloseDatabase(db);
    throw;
  }
  CloseDatabase(db);
  return out.str();
}

}  // namespace bird_exporter
