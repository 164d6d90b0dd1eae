#!/usr/bin/env bash
# Create benchmarks/.venv-localstripe from requirements-localstripe.txt. Idempotent: a venv
# whose recorded requirements hash matches the file is left alone.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-localstripe"
req="$here/requirements-localstripe.txt"
stamp="$venv/.requirements.sha256"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"

want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ -x "$venv/bin/localstripe" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "localstripe venv up to date: $venv"
    exit 0
fi

"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
"$venv/bin/localstripe" --help >/dev/null
echo "$want" >"$stamp"
echo "localstripe venv ready: $venv ($("$venv/bin/python" --version))"
