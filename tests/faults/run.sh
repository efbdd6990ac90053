#!/usr/bin/env bash
# The scripted fault tests (docs/OPERATIONS.md, "Under faults"), on a throwaway PostgreSQL and RabbitMQ of their own
# (ports 18130-18139 on 127.0.0.1); each prints what it counted. Run from the repository root:
#   bash tests/faults/run.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
exec .venv/bin/pytest -p no:cacheprovider -q -s --no-header -o addopts="-ra --strict-markers" \
    tests/faults/faults_postgres.py tests/faults/faults_broker.py tests/faults/faults_signals.py \
    tests/faults/faults_failover.py tests/faults/faults_database.py tests/faults/faults_budget.py \
    tests/faults/faults_endpoint.py "$@"
