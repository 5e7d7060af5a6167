#!/bin/sh
# Runs each fuzz target in turn, one job, for SECS seconds (default 600)
# each, using the binaries `cargo fuzz build` made (build first:
#   RUSTC_BOOTSTRAP=1 cargo fuzz build -s none -a -O
# ). libFuzzer's -jobs mode writes the run's log to fuzz-0.log; it is kept
# as logs/TARGET.log.
cd "$(dirname "$0")"
mkdir -p logs
SECS=${SECS:-600}
BIN=target/x86_64-unknown-linux-gnu/release
for t in ${TARGETS:-normalize frontmatter quote slug_url}; do
  mkdir -p "artifacts/$t"
  "$BIN/$t" -artifact_prefix="artifacts/$t/" -jobs=1 -workers=1 \
    -max_total_time="$SECS" -max_len=16384 -print_final_stats=1 "corpus/$t" \
    > "logs/$t.driver.log" 2>&1
  echo "$t exit $? at $(date -u +%H:%M:%S)" >> logs/summary.txt
  mv fuzz-0.log "logs/$t.log"
done
