#include "sessions/session_file.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <thread>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "core/input_file.h"
#include "sessions/schema.h"
#include "sessions/schema_check.h"

namespace moescope::sessions {
namespace {

std::string quoted(const std::filesystem::path& path) { return path.string(); }

[[noreturn]] void refuse(const std::filesystem::path& path, const std::string& why) {
  throw InputError(quoted(path) + ": " + why);
}

// SQLite's own 16-byte magic. Checked before SQLite opens the file so a foreign file gets a plain
// answer instead of "file is not a database" at some later query.
void check_header(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) refuse(path, "cannot read the session file");
  std::array<char, 16> magic{};
  in.read(magic.data(), magic.size());
  if (in.gcount() < static_cast<std::streamsize>(magic.size()) ||
      std::memcmp(magic.data(), "SQLite format 3\0", 16) != 0) {
    refuse(path, "not a moescope session file (not a SQLite database)");
  }
}

void check_integrity(Connection& connection) {
  std::string result;
  try {
    Statement check = connection.prepare("PRAGMA quick_check(1)");
    if (check.step()) result = check.column_text(0);
  } catch (const SqlError& e) {
    refuse(connection.path(),
           std::string("damaged or truncated session file (") + sqlite3_errstr(e.code) + ")");
  }
  if (result != "ok") refuse(connection.path(), "damaged session file (quick_check: " + result + ")");
}

// A new file's switch to WAL needs the file to itself, and SQLite answers SQLITE_BUSY at once,
// without its busy handler, while another process is creating the same file; so it is retried for
// as long as the busy timeout would have waited.
std::string switch_to_wal(Connection& connection) {
  for (int attempt = 0;; ++attempt) {
    try {
      return connection.query_text("PRAGMA journal_mode = WAL");
    } catch (const SqlError& e) {
      if (e.code != SQLITE_BUSY || attempt >= 1000) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

// The file's identity as its header says: moescope's application_id (or a blank database) and a
// schema version this build can read.
struct Identity {
  int64_t application_id = 0;
  int64_t version = 0;
  int64_t n_objects = 0;
  bool blank() const { return application_id == 0 && version == 0 && n_objects == 0; }
};

Identity read_identity(Connection& connection) {
  Identity identity;
  try {
    identity.application_id = connection.query_int("PRAGMA application_id");
    identity.version = connection.query_int("PRAGMA user_version");
    identity.n_objects = connection.query_int("SELECT count(*) FROM sqlite_schema");
  } catch (const SqlError& e) {
    refuse(connection.path(), std::string("damaged or unreadable session file (") + sqlite3_errstr(e.code) + ")");
  }
  if (!identity.blank() && identity.application_id != kApplicationId) {
    char id[16];
    std::snprintf(id, sizeof id, "0x%08llx", static_cast<unsigned long long>(identity.application_id & 0xffffffff));
    refuse(connection.path(), std::string("a SQLite database but not a moescope session (application_id ") + id + ")");
  }
  if (identity.version > kSchemaVersion) {
    refuse(connection.path(), "session schema version " + std::to_string(identity.version) +
                                  " is newer than this moescope supports (version " + std::to_string(kSchemaVersion) +
                                  "); update moescope to open it");
  }
  return identity;
}

// Creation and upgrade are one exclusive step: several processes may open a file that does not
// exist yet at once (two `record`s and a `run` on a fresh default session file), and each saw
// version 0 before any had written. The version is read again under the write lock, so only the
// first migrates and the others find the work done. An older file's schema is checked against its
// own version before anything is added to it.
void create_or_upgrade(Connection& connection) {
  Transaction transaction(connection);
  const Identity identity = read_identity(connection);
  const auto from_version = static_cast<int32_t>(identity.version);
  if (from_version == kSchemaVersion) return;  // another process finished first; nothing to write
  if (from_version >= 1) check_schema(connection, from_version);
  for (const Migration& migration : migrations()) {
    if (migration.to_version <= from_version) continue;
    try {
      connection.exec(std::string(migration.sql).c_str());
    } catch (const SqlError& e) {
      // A full disk or a read-only file keeps its own message; anything else means the file's
      // content does not fit the version it claims.
      if (e.code == SQLITE_FULL || e.code == SQLITE_READONLY || e.code == SQLITE_BUSY) throw;
      std::string detail = e.what();
      const std::string prefix = connection.path().string() + ": ";
      if (detail.rfind(prefix, 0) == 0) detail.erase(0, prefix.size());
      refuse(connection.path(), "cannot upgrade the session file from schema version " +
                                    std::to_string(migration.to_version - 1) + " to " +
                                    std::to_string(migration.to_version) + " (" + detail + ")");
    }
  }
  connection.exec(("PRAGMA application_id = " + std::to_string(kApplicationId)).c_str());
  connection.exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
  transaction.commit();
}

}  // namespace

void harden_connection(Connection& connection) {
  sqlite3* db = connection.get();
  int ignored = 0;
  SQL_CHECK(db, sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, &ignored));
  SQL_CHECK(db, sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, &ignored));
  SQL_CHECK(db, sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, &ignored));
  SQL_CHECK(db, sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, &ignored));
  SQL_CHECK(db, sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, &ignored));
  SQL_CHECK(db, sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, &ignored));
  SQL_CHECK(db, sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, &ignored));
  connection.exec("PRAGMA cell_size_check = ON");
  connection.exec("PRAGMA mmap_size = 0");
  // A reader waits for a writer's checkpoint instead of failing with "database is locked".
  SQL_CHECK(db, sqlite3_busy_timeout(db, 10000));
}

namespace {

// A session in a folder this user cannot write (read-only media, a shared folder): SQLite cannot
// create the -shm file that reading a WAL-mode file needs, so the file is opened immutable (no
// locks, no -shm). Only when no -wal lies beside it: then every committed run is in the file
// itself. Returns "" where the folder is writable.
std::filesystem::path folder_of(const std::filesystem::path& path) {
  return path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
}

std::string read_only_folder_uri(const std::filesystem::path& path) {
  std::error_code error;
  if (access(folder_of(path).c_str(), W_OK) == 0 || std::filesystem::exists(path.string() + "-wal", error)) return "";
  std::string uri = "file:";
  for (unsigned char c : std::filesystem::absolute(path, error).string()) {
    if (c == '?' || c == '#' || c == '%' || c < 0x20) {
      char escaped[4];
      std::snprintf(escaped, sizeof escaped, "%%%02X", c);
      uri += escaped;
    } else {
      uri += static_cast<char>(c);
    }
  }
  return uri + "?immutable=1";
}

}  // namespace

Connection open_session(const std::filesystem::path& path, OpenMode mode) {
  std::error_code error;
  bool exists = std::filesystem::exists(path, error);
  if (exists && std::filesystem::is_directory(path, error))
    refuse(path, "is a directory, expected a session file");
  if (exists) require_regular_file(path);  // a FIFO or device: refused before anything opens it
  bool empty = !exists || std::filesystem::file_size(path, error) == 0;
  if (mode == OpenMode::read) {
    if (!exists) refuse(path, "no such session file");
    if (empty) refuse(path, "not a moescope session file (empty file)");
  }
  if (!empty) check_header(path);
  // Checked before SQLite runs: it would report the -shm file it cannot create as a damaged file.
  if (mode == OpenMode::write && (access(folder_of(path).c_str(), W_OK) != 0 || (exists && access(path.c_str(), W_OK) != 0)))
    refuse(path, "cannot write the session file (read-only file or directory)");

  int flags = mode == OpenMode::read ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  Connection connection;
  try {
    connection = Connection(path, flags | SQLITE_OPEN_NOMUTEX, mode == OpenMode::read ? read_only_folder_uri(path) : "");
  } catch (const SqlError& e) {
    refuse(path, std::string("cannot open the session file (") + sqlite3_errstr(e.code) + ")");
  }
  harden_connection(connection);
  // Reading: every check below sees one snapshot of the file (a writer may be appending beside
  // us), and SQLite takes its shared lock and looks for a hot journal once instead of once per
  // statement. Refusing closes the connection, which ends the transaction.
  if (mode == OpenMode::read) connection.exec("BEGIN");
  if (!empty) check_integrity(connection);

  // One snapshot for the three values: a writer creating the file beside us commits all of them
  // at once (reading is already inside a transaction).
  if (mode == OpenMode::write) connection.exec("BEGIN");
  const Identity identity = read_identity(connection);
  if (mode == OpenMode::write) connection.exec("COMMIT");
  const int64_t version = identity.version;
  const bool blank = identity.blank();
  if (mode == OpenMode::read && blank) refuse(path, "not a moescope session file (empty database)");
  if (mode == OpenMode::read && version < kSchemaVersion) {
    // An older file is upgraded in place (all migrations in one transaction) where it can be
    // written, so files recorded by earlier builds simply open.
    if (access(folder_of(path).c_str(), W_OK) != 0 || access(path.c_str(), W_OK) != 0) {
      refuse(path, "session schema version " + std::to_string(version) + " predates version " +
                       std::to_string(kSchemaVersion) +
                       " and cannot be upgraded in a read-only place; copy it to a writable folder");
    }
    connection = Connection();
    open_session(path, OpenMode::write);
    return open_session(path, OpenMode::read);
  }

  if (mode == OpenMode::write) {
    try {
      // Only a new file can take a page size (WAL fixes it). The largest pages mean the fewest
      // B-tree pages to build per routing row. Spills of a long run's transaction go to the WAL,
      // where readers do not see them until the commit.
      if (blank) connection.exec("PRAGMA page_size = 65536");
      std::string journal = switch_to_wal(connection);
      if (journal != "wal")
        refuse(path, "cannot switch the session file to WAL mode (got '" + journal + "')");
      // In WAL mode NORMAL loses no committed transaction to a process crash (kill -9); only a
      // power cut can lose the last ones. The file never becomes corrupt either way.
      connection.exec("PRAGMA synchronous = NORMAL");
      if (version < kSchemaVersion) create_or_upgrade(connection);
    } catch (const SqlError& e) {
      if (e.code == SQLITE_READONLY || e.code == SQLITE_CANTOPEN || e.code == SQLITE_PERM) {
        refuse(path, "cannot write the session file (read-only file or directory)");
      }
      throw;
    }
  }
  // The page cache is 2 MB, SQLite's default, set again now that the page size is known: SQLite
  // counts the cache in pages of the size the connection started with (4 KiB, ~450 pages) and
  // keeps that count when the page size changes, which made it 30 MB of 64 KiB pages. The writer
  // only appends, so a large cache buys nothing and costs a page fault per fresh page (the writer
  // thread took ~7,500 faults per 10k-token run, and ran at 0.7 instead of 1.0 M rows/s of CPU;
  // docs/perf.md).
  connection.exec("PRAGMA cache_size = -2000");
  check_schema(connection, kSchemaVersion);
  if (mode == OpenMode::read) connection.exec("COMMIT");
  return connection;
}

}  // namespace moescope::sessions
