// Checking a session file's whole schema against the one this build creates: every table with its
// columns (types, NOT NULL, defaults, primary key, generated columns), WITHOUT ROWID, foreign keys
// and declared SQL; every index with its columns, uniqueness and WHERE clause; no triggers or views.
// The expected schema is not written down twice: it is read back from an in-memory database built
// with this build's own migrations, so a later schema version is checked with no edit here.
// A file that differs in anything can make a writer slow (an index over zeroblob(...)) or lose
// data silently (a runs table without its primary key), so it is refused before it is read or
// written, with one line saying what differs.
#pragma once

#include <cstdint>

#include "sessions/sql.h"

namespace moescope::sessions {

// Throws InputError "<file>: <what differs>" unless the connection's main schema is exactly the one
// this build creates at `version` (1..kSchemaVersion).
void check_schema(Connection& connection, int32_t version);

}  // namespace moescope::sessions
