#!/usr/bin/env bash
# Installs everything (scripts/install.sh) and runs the whole test suite, as root.
# The suite ends with a leak check of kernel objects (tests/conftest.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec python3 -m pytest -q -p no:cacheprovider "$@"
