# Sourced by the browser test scripts: makes sure Debian's Chromium is at /usr/bin/chromium
# (installing it with apt-get when run as root), or stops the script saying what is missing.
# The browser tests never use a downloaded browser.
if [[ ! -x /usr/bin/chromium && "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
  echo "== installing Debian's chromium"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
if [[ ! -x /usr/bin/chromium ]]; then
  echo "FAILED: /usr/bin/chromium is missing: apt-get install chromium" >&2
  exit 1
fi
