#!/usr/bin/env bash
# The second sweep of hostile session use (issue 20, classes 1, 4, 5 and 6), with variants the unit
# tests do not use, run against the built binary. Every variant must end the way the hardening
# promises: the session untouched and one clear error line (exit 1), or success where success is
# right (re-exporting over a previous export). Any other outcome is printed as a FINDING and the
# script exits 1. Usage: sessions_sweep.sh MOESCOPE_BINARY GOLDEN_DIR
set -u
bin=$(realpath "$1")
model=$(realpath "$2")/models/mixtral-tiny
command -v sqlite3 > /dev/null || { echo "SKIP: the sqlite3 command-line shell is not installed"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
findings=0
finding() { echo "FINDING: $*"; findings=$((findings + 1)); }

# refused NAME NEEDLE CMD...: exit code 1 and exactly one line "moescope: error: ...NEEDLE...".
# Prints the line on stdout for callers that compare lines.
last_line=""
refused() {
  local name=$1 needle=$2 out rc
  shift 2
  out=$("$@" 2>&1)
  rc=$?
  last_line=$out
  if [ "$rc" -ne 1 ] || [ "$(printf '%s\n' "$out" | wc -l)" -ne 1 ] || [[ "$out" != "moescope: error: "* ]] ||
    [[ "$out" != *"$needle"* ]]; then
    finding "$name: expected one error line containing '$needle', got exit $rc: $out"
  fi
}
succeeds() {
  local name=$1 out
  shift
  out=$("$@" 2>&1) || finding "$name: expected success, got: $out"
}
sql() { sqlite3 -batch "$@" > /dev/null || finding "sweep setup failed: sqlite3 $*"; }
# apply FILE SQL: runs SQL that must change at least one row (or the variant tests nothing).
apply() {
  local n
  n=$(sqlite3 -batch "$1" "$2; SELECT total_changes();") || { finding "sweep setup failed: $2"; return 1; }
  [ "${n##*$'\n'}" -gt 0 ] || { finding "sweep setup changed no row: $2"; return 1; }
}

# --- A real session: two recorded prompts (tags a and b) and a run with emulated expert parallelism.
printf '%s\n' '{"text": "one two three", "tag": "a"}' '{"text": "four five six", "tag": "b"}' > prompts.jsonl
succeeds "base record" "$bin" record --model "$model" --prompts prompts.jsonl --max-new-tokens 3 --threads 1 --db base.db
succeeds "base run" "$bin" run --model "$model" --prompt "seven eight" --tag a --max-new-tokens 3 --threads 1 \
  --ep-degree 2 --db base.db
sql base.db "PRAGMA wal_checkpoint(TRUNCATE)"
fresh() { rm -rf "$1" "$1-wal" "$1-shm"; cp base.db "$1"; }

# --- Class 1: output onto input, through aliases the unit tests do not use.
mkdir -p s1/other
fresh s1/s.db
before=$(sha256sum < s1/s.db)
ln s1/s.db s1/other/hard-elsewhere.db
ln -s s.db s1/l1 && ln -s l1 s1/l2                 # a chain of links
ln -s "$work/s1" s1/dirlink                          # the session through a linked folder
mkfifo s1/fifo
echo "mine" > s1/notes.txt
for format in json chrome-trace csv sqlite; do
  for out in s1/other/hard-elsewhere.db s1/l2 s1/dirlink/s.db "$work/s1/./other/../s.db" /dev/fd/5 /proc/self/fd/5; do
    refused "class 1: $format --out $out" "is the session being exported" "$bin" export --db s1/s.db --format "$format" \
      --out "$out" 5< s1/s.db
  done
  refused "class 1: $format --db through a link, --out the real file" "is the session being exported" \
    "$bin" export --db s1/l2 --format "$format" --out "$work/s1/s.db"
  for out in s1/notes.txt s1/fifo /dev/null /dev/full; do
    refused "class 1: $format --out $out" "$out" "$bin" export --db s1/s.db --format "$format" --out "$out"
  done
done
refused "class 1: csv into the session's folder" "which is the session being exported" \
  "$bin" export --db s1/s.db --format csv --out s1
[ "$(sha256sum < s1/s.db)" = "$before" ] || finding "class 1: the session changed"
[ "$(cat s1/notes.txt)" = "mine" ] || finding "class 1: notes.txt was overwritten"
# Re-exporting over a previous export of the same format is fine (and replaces it).
for format in json chrome-trace csv; do
  succeeds "class 1: $format first export" "$bin" export --db s1/s.db --format "$format" --out "s1/again.$format"
  succeeds "class 1: $format over the previous export" "$bin" export --db s1/s.db --format "$format" --run 2 \
    --out "s1/again.$format"
done
[ ! -e s1/again.csv/scores_run_1.csv ] || finding "class 1: a stale scores_run_1.csv survived the csv re-export"
# A CSV export cut short by a file size limit leaves the previous folder as it was.
(cd s1/again.csv && sha256sum ./* > ../csv.sums)
(trap '' XFSZ; ulimit -f 16; "$bin" export --db s1/s.db --format csv --out s1/again.csv > /dev/null 2>&1)
(cd s1/again.csv && sha256sum --quiet -c ../csv.sums) || finding "class 1: a failed csv export changed the previous one"
ls -a s1 | grep -q '^\.moescope-export-' && finding "class 1: a staging folder was left behind"

# --- Class 4: five writers at once on a file that does not exist yet, and on the default file.
for round in 1 2 3; do
  dir=race$round
  mkdir -p "$dir"
  for db_flag in "--db $dir/new.db" ""; do
    pids=()
    for i in 1 2 3 4; do
      XDG_DATA_HOME="$work/$dir/xdg" "$bin" record --model "$model" --prompts prompts.jsonl --max-new-tokens 2 \
        --threads 1 $db_flag > "$dir/out$i" 2>&1 &
      pids+=($!)
    done
    XDG_DATA_HOME="$work/$dir/xdg" "$bin" run --model "$model" --prompt "x y" --max-new-tokens 2 --threads 1 \
      $db_flag > "$dir/out5" 2>&1 &
    pids+=($!)
    for i in "${!pids[@]}"; do
      wait "${pids[$i]}" || finding "class 4: round $round writer $((i + 1)) (${db_flag:-default file}): $(cat "$dir/out$((i + 1))")"
    done
  done
  for db in "$dir/new.db" "$dir/xdg/moescope/sessions.db"; do
    n=$(sqlite3 "$db" "SELECT count(*) FROM runs WHERE status = 'complete'")
    [ "$n" = 9 ] || finding "class 4: round $round: $db holds $n complete runs, expected 9"
  done
done

# --- Class 5: hostile schema objects the unit tests do not plant. record must refuse before it
# writes, report must refuse too.
variant=0
schema_variant() {
  local needle=$1 statements=$2 db
  variant=$((variant + 1))
  db=schema$variant.db
  fresh "$db"
  sqlite3 -batch "$db" "$statements; PRAGMA wal_checkpoint(TRUNCATE);" > /dev/null ||
    { finding "class 5 setup failed: $statements"; return; }
  local before
  before=$(sha256sum < "$db")
  refused "class 5: record into [$statements]" "$needle" "$bin" record --model "$model" --prompts prompts.jsonl \
    --max-new-tokens 2 --threads 1 --db "$db"
  refused "class 5: report of [$statements]" "$needle" "$bin" report --db "$db"
  [ "$(sha256sum < "$db")" = "$before" ] || finding "class 5: [$statements] was written to"
}
schema_variant "unexpected index 'p_len'" "CREATE INDEX p_len ON prompts(length(text) * 1000)"
schema_variant "unexpected index 'part'" "CREATE INDEX part ON tokens(token_id) WHERE token_id > 5"
schema_variant "unexpected table 'notes'" "CREATE TABLE notes(x)"
schema_variant "has unexpected column 'extra'" "ALTER TABLE routing ADD COLUMN extra INTEGER DEFAULT 0"
schema_variant "unexpected table 'sqlite_stat1'" "ANALYZE"
schema_variant "unexpected index 'renamed'" \
  "DROP INDEX runs_by_prompt; CREATE INDEX renamed ON runs(prompt_id)"
schema_variant "index 'timings_by_run' on table 'timings' is missing" "DROP INDEX timings_by_run"
schema_variant "table 'tokens' has 'display_text BLOB NOT NULL'" \
  "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = replace(sql, 'display_text TEXT', 'display_text BLOB') WHERE name = 'tokens'"
schema_variant "table 'prompts' has 'tag TEXT NOT NULL DEFAULT 'x''" \
  "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = replace(sql, 'DEFAULT ''''', 'DEFAULT ''x''') WHERE name = 'prompts'"
schema_variant "table 'prompts' is declared differently" \
  "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = replace(sql, 'text TEXT NOT NULL', 'text TEXT NOT NULL COLLATE NOCASE') WHERE name = 'prompts'"
schema_variant "table 'runs' has nothing as property 1 where moescope has 'foreign key" \
  "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = replace(replace(replace(sql, ' REFERENCES sessions(id)', ''), ' REFERENCES models(id)', ''), ' REFERENCES prompts(id)', '') WHERE name = 'runs'"
if sqlite3 :memory: "CREATE VIRTUAL TABLE t USING fts5(x)" 2> /dev/null; then
  schema_variant "this file was not written by moescope" "CREATE VIRTUAL TABLE search USING fts5(text)"
fi
schema_variant "contains a trigger ('later')" \
  "CREATE TRIGGER later BEFORE UPDATE ON runs BEGIN SELECT zeroblob(1000000000); END"

# --- Class 6: bad values the unit tests do not use. Every consumer of the run must refuse with
# the same line, naming the run and the table.
value_variant() {
  local table=$1 statement=$2 db reference="" line consumer
  variant=$((variant + 1))
  db=values$variant.db
  fresh "$db"
  apply "$db" "$statement" || return
  for consumer in "report --run 1" "compare --runs 1,2" "compare --tags a,b" "export --format csv --out x$variant" \
    "export --format json --out x$variant" "export --format chrome-trace --out x$variant" \
    "export --format sqlite --out x$variant" "export --format json --run 1 --out x$variant"; do
    # shellcheck disable=SC2086
    refused "class 6: $consumer after [$statement]" "run 1, table $table: " "$bin" $consumer --db "$db"
    line=${last_line#moescope: error: }
    [ -z "$reference" ] && reference=$line
    [ "$line" = "$reference" ] || finding "class 6: [$statement]: '$consumer' says '$line', report said '$reference'"
    [ ! -e "x$variant" ] || finding "class 6: '$consumer' left x$variant after refusing"
  done
}
first() { echo "(SELECT min($2) FROM $1 WHERE run_id = 1)"; }
value_variant routing "UPDATE routing SET expert_1 = -1 WHERE id = $(first routing id)"
value_variant routing "UPDATE routing SET layer = 200 WHERE id = $(first routing id)"
value_variant routing "UPDATE routing SET step = 'x' WHERE id = $(first routing id)"
value_variant routing "UPDATE routing SET scores = 'not a blob' WHERE id = $(first routing id)"
value_variant routing "UPDATE routing SET weight_0 = -1e999 WHERE id = $(first routing id)"
value_variant tokens "UPDATE tokens SET is_prompt = 2 WHERE run_id = 1 AND position = 0"
value_variant tokens "UPDATE tokens SET token_id = 1000000 WHERE run_id = 1 AND position = 1"
value_variant tokens "UPDATE tokens SET logprob = 1e999 WHERE run_id = 1 AND position = 1"
value_variant steps "UPDATE steps SET start_us = 'abc' WHERE run_id = 1 AND step = 0"
value_variant timings "UPDATE timings SET layer = -2 WHERE rowid = $(first timings rowid)"
value_variant expert_hits "UPDATE expert_hits SET hits = -7 WHERE run_id = 1 AND expert = (SELECT min(expert) FROM expert_hits WHERE run_id = 1)"
value_variant capacity_overflow "UPDATE capacity_overflow SET capacity = 'many' WHERE run_id = 1 AND expert = 0"
value_variant runs "UPDATE runs SET n_generated_tokens = -1 WHERE id = 1"
# A CPU run has no offload rows (schema 4); a planted one with more lookups than experts is refused too.
value_variant offload_steps "INSERT INTO offload_steps(run_id, step, layer, lookups, hits, prefetched, prefetch_hits, bytes_copied, copy_start_us, copy_us, stall_start_us, stall_us) VALUES(1, 0, $(first routing layer), 999, 0, 0, 0, 0, 0, 0, 0, 0)"
value_variant runs "UPDATE runs SET decode_us = 1e999 WHERE id = 1"
value_variant runs "UPDATE runs SET prompt_id = 999 WHERE id = 1"
value_variant runs "DELETE FROM models"
# The EP run (run 3) has all-to-all rows; its consumers are report and the exports.
for statement in "UPDATE all_to_all SET dst_rank = 9999 WHERE run_id = 3 AND src_rank = 0 AND dst_rank = 1" \
  "UPDATE all_to_all_steps SET n_ranks = 0 WHERE run_id = 3"; do
  variant=$((variant + 1))
  fresh "values$variant.db"
  apply "values$variant.db" "$statement" || continue
  refused "class 6: report --run 3 after [$statement]" "run 3, table all_to_all" "$bin" report --run 3 --db "values$variant.db"
  refused "class 6: chrome-trace after [$statement]" "run 3, table all_to_all" "$bin" export --format chrome-trace \
    --out "x$variant" --db "values$variant.db"
done

if [ "$findings" -ne 0 ]; then
  echo "sessions sweep: $findings finding(s)"
  exit 1
fi
echo "sessions sweep: no finding"
