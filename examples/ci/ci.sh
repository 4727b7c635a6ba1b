#!/usr/bin/env bash
# What a CI job runs: bring the stack up and wait for it, run the tests, always tear down.
set -u
cd "$(dirname "$0")"
trap 'pycompose down -v -t 1' EXIT
pycompose up -d --wait || exit 1
pycompose run --rm -T tests
