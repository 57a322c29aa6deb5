#!/usr/bin/env bash
# Rebuild static/fonts/*.woff2: Noto Sans (Debian's fonts-noto-core, SIL OFL 1.1) cut down
# to Latin, Cyrillic with every Kazakh letter (ә ғ қ ң ө ұ ү һ і), punctuation and the tenge
# sign, so pages show Kazakh the same on every kiosk and phone without a request elsewhere.
# Needs: apt-get install fonts-noto-core; pip install 'fonttools[woff]' (in the dev extra).
set -euo pipefail
cd "$(dirname "$0")/.."
source=/usr/share/fonts/truetype/noto
unicodes="U+0020-007E,U+00A0-00FF,U+0400-045F,U+0490-0493,U+049A-049B,U+04A2-04A3,U+04AE-04B1"
unicodes+=",U+04BA-04BB,U+04D8-04D9,U+04E8-04E9,U+2010-2027,U+2030-203A,U+20B8,U+2116,U+2190-2193"
for weight in Regular Bold; do
  "${PYTHON:-.venv/bin/python}" -m fontTools.subset "$source/NotoSans-$weight.ttf" \
    --unicodes="$unicodes" --layout-features='kern,liga,ccmp,locl,mark,mkmk' \
    --flavor=woff2 --no-hinting --desubroutinize \
    --output-file="static/fonts/noto-sans-${weight,,}.woff2"
done
ls -l static/fonts/*.woff2
