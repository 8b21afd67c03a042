#!/usr/bin/env bash
# Installs exactly the Debian packages photoseek needs to build, test and benchmark.
# Idempotent: quiet and fast when everything is already present.
set -euo pipefail
pkgs=(
  build-essential pkg-config
  libjpeg62-turbo-dev libpng-dev libwebp-dev libgif-dev libheif-dev libexif-dev libtiff-dev
  libcjson-dev libutf8proc-dev libcurl4-openssl-dev libssl-dev libsqlite3-dev libmicrohttpd-dev
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libarchive-dev libxxhash-dev
  libopenblas-dev               # only the benchmark links it, as the sgemm ceiling
  libhnswlib-dev                # ... and hnswlib, the reference the HNSW graph is measured against
  clang libclang-rt-14-dev      # libFuzzer targets and sanitizer runtimes
  iso-codes                     # country names and their translations for places (issue 19)
  python3                       # the tests' local HTTP server for `model fetch`, and their checks
  sqlite3 imagemagick ffmpeg    # the end-to-end tests inspect libraries and generate photos and videos
  zip time                      # ... pack Takeout archives and measure memory
  libpq-dev                     # the PostgreSQL store (libpq)
  libtesseract-dev tesseract-ocr-eng tesseract-ocr-chi-sim  # text in photos (Tesseract 5, English + Chinese)
  fonts-dejavu-core fonts-noto-cjk  # ... the OCR tests render phrases in these fonts
  postgresql                    # psql, and a real PostgreSQL 15 server for the store's tests
  curl chromium wrk             # the server's API, browser and load tests (with Node.js, below)
)
# Node.js runs the browser test (playwright-core). A machine may already have its own Node.js with npm (as
# NodeSource's package); Debian's nodejs and npm are installed only when there is none.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
