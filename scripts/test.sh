#!/usr/bin/env bash
# Runs every test of the workspace, then the real SuperTokens backend SDKs against `tessera serve`,
# then the axum and actix-web demos in Debian's Chromium with the real SuperTokens frontend SDK.
# The PostgreSQL and MySQL suites run when TESSERA_TEST_POSTGRES_URL / TESSERA_TEST_MYSQL_URL are set
# and report themselves skipped otherwise (.ci/run sets both and forbids skipping).
# PROPTEST_CASES sets the rotation model test's schedule count (default 10000).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --all-features

# One pinned release of supertokens-node (14 to 24) and supertokens-python (0.14 to 0.31) per CDI
# generation, installed on first use, each through the same scenarios.
bash crates/tessera-server/tests/sdk/run.sh

# The admin page of `tessera serve` in Debian's Chromium (playwright-core 1.65.1, pinned).
bash crates/tessera-server/tests/admin-browser/run.sh

# Installs supertokens-web-js 0.16.0 and playwright-core 1.65.1 (pinned) on first use; needs
# /usr/bin/chromium (installed here with apt-get when missing and run as root).
bash crates/tessera-axum/examples/demo/browser-tests.sh
