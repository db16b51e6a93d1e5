#!/usr/bin/env bash
# Open MPI for ember.distributed's tests (they start ranks with mpirun; mpi4py comes from
# the test extra). Idempotent: does nothing where mpirun is already on PATH.
set -euo pipefail
if command -v mpirun >/dev/null 2>&1; then
  exit 0
fi
sudo=""
if [ "$(id -u)" != "0" ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends openmpi-bin libopenmpi-dev
