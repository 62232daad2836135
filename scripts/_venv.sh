# Sourced by scripts/run and scripts/test: a .venv with the pinned packages, reused when up to date.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "NOUS needs Python 3.11 or newer ($PY is $("$PY" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  # none yet, or one left half-made by an interrupted first run: (re)create it
  echo "==> creating .venv"
  rm -rf .venv
  "$PY" -m venv .venv
fi
ensure_requirements() {  # $1: requirements file; installs only when it changed since the last install
  local req="$1" stamp=".venv/.installed-$(basename "$1")"
  local sum
  sum="$(cat "$req" requirements.txt | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
    echo "==> installing $req"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
    if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req" 2> >(grep -v "^WARNING: Location" >&2); then
      echo "installing $req failed" >&2
      exit 1
    fi
    echo "$sum" > "$stamp"
  fi
}
export PATH="$ROOT/.venv/bin:$PATH"
