#!/bin/sh
# heka-lpeg vs C LPeg on the same grammars and 100,000 generated nginx lines.
# Installs C LPeg when missing (Debian), then runs the comparison; figures go to
# bench/RESULTS.md ("LPeg").
set -e
cd "$(dirname "$0")/../.."
if ! command -v lua5.1 >/dev/null 2>&1; then
    apt-get update && apt-get install -y lua5.1 lua-lpeg || echo "could not install C LPeg: ours only"
fi
exec cargo bench -p heka-lpeg --bench lpeg_vs_c -- "${1:-100000}"
