#!/usr/bin/env bash
# pyBKT 1.4.3 breaks on import with scikit-learn >= 1.5, so it lives in its own virtualenv, outside the workspace.
set -euo pipefail
VENV="${PYBKT_VENV:-$(cd "$(dirname "$0")/../.." && pwd)/.cache/pybkt-venv}"
if [ ! -x "$VENV/bin/python" ]; then
  uv venv --python 3.11 "$VENV"
fi
VIRTUAL_ENV="$VENV" uv pip install --python "$VENV/bin/python" pyBKT==1.4.3 "scikit-learn<1.5" "numpy<2" "pandas<2.3"
"$VENV/bin/python" -c "import pyBKT.models; print('pyBKT ready in $VENV')"
echo "$VENV/bin/python"
