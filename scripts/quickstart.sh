#!/usr/bin/env bash
# Installs everything, makes the busybox image and brings examples/quickstart up.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
scripts/make-test-image
cd examples/quickstart
pycompose up -d --wait
pycompose ps
echo
echo "The web service answers on http://127.0.0.1:8080/ (try: wget -qO- http://127.0.0.1:8080/)"
echo "Follow the logs with:  cd examples/quickstart && pycompose logs -f"
echo "Stop it with:          cd examples/quickstart && pycompose down -v"
