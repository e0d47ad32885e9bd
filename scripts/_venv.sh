# Sourced by the scripts: make sure .venv exists and holds the project (fast when it does).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PICCOLO_CONF=server.piccolo_conf
VENV="$ROOT/.venv"
STAMP="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)-${DONGHANH_EXTRAS:-base}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if [ ! -f "$STAMP" ]; then
  echo "Installing Đồng Hành into .venv ..." >&2
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  if [ "${DONGHANH_EXTRAS:-base}" = test ]; then
    "$VENV/bin/python" -m pip install -q -e ".[test]" >&2
  else
    "$VENV/bin/python" -m pip install -q -e . >&2
  fi
  touch "$STAMP"
fi
PY="$VENV/bin/python"
