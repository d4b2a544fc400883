"""The demo site as the benchmarks serve it: the demo's settings and URLs plus bench-only
reference views (bare endpoint, minimal durable references, tutorial-style handler)."""
