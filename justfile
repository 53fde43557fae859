# Shortcuts only: every recipe is one plain cargo command you can run without `just`.

# Run the daemon on the bundled example (the seed's pipeline).
run:
    cargo build -p heka-guest-build && cargo run --release -p hekad -- -config=config/hekad.toml

# Every test (what CI runs, minus fmt/clippy).
test:
    cargo test --workspace

# What CI runs.
ci:
    bash .ci/run

# Micro-benchmarks (matcher, protobuf, sandbox).
bench:
    cargo bench --workspace

# The daemon benchmark: six scenarios on 2M generated lines (bench/RESULTS.md).
bench-daemon:
    cargo run --release -p hekad-bench -- run

# 100 crash/outage trials (docs/delivery.md).
trials:
    HEKA_TRIALS=100 cargo test -p heka-e2e --test e2e trials_long -- --ignored --nocapture
