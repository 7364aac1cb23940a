#!/usr/bin/env bash
# Runs every test of the workspace. The PostgreSQL and MySQL suites run when
# TESSERA_TEST_POSTGRES_URL / TESSERA_TEST_MYSQL_URL are set and report themselves skipped otherwise
# (.ci/run sets both). PROPTEST_CASES sets the model test's schedule count (default 10000).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --all-features
