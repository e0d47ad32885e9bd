"""Benchmark tooling behind `scripts/generate-data` and `scripts/bench`: a reproducible dataset
generator (`generate`), an async HTTP load generator (`load`) and the bench runner (`run`)."""
