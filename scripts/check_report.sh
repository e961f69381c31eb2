#!/usr/bin/env bash
# Renders a report page (zerosearch report) in headless Chromium from Debian,
# saves a screenshot, and fails if the page logs a JavaScript error or a chart
# has nothing drawn in it. Installs chromium through apt when missing.
#
# Usage: scripts/check_report.sh REPORT.html SCREENSHOT.png
set -euo pipefail

report="$(realpath "$1")"
screenshot="$2"

if ! command -v chromium >/dev/null 2>&1; then
    echo "installing chromium (apt)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null
fi

flags=(--headless=new --no-sandbox --disable-gpu --hide-scrollbars --enable-logging=stderr --v=0)
log="$(mktemp)"
dom="$(mktemp)"
trap 'rm -f "$log" "$dom"' EXIT
timeout 120 chromium "${flags[@]}" --window-size=1280,4000 --screenshot="$screenshot" "file://$report" 2>"$log" >/dev/null
timeout 120 chromium "${flags[@]}" --dump-dom "file://$report" 2>>"$log" >"$dom"

if grep -E "Uncaught|CONSOLE\(.*(error|Error)" "$log"; then
    echo "error: the page logged JavaScript errors" >&2
    exit 1
fi

python3 - "$dom" "$screenshot" <<'PY'
import os, sys
from html.parser import HTMLParser

class Charts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.charts, self.depth, self.drawn = [], 0, 0
    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "svg":
            self.depth += 1
            if self.depth == 1:
                self.drawn = 0
        elif self.depth and tag in ("polyline", "path", "circle"):
            points = attrs.get("points") or attrs.get("d") or attrs.get("cx")
            if points and attrs.get("class", "") != "axis":
                self.drawn += 1
    def handle_endtag(self, tag):
        if tag == "svg":
            self.depth -= 1
            if self.depth == 0:
                self.charts.append(self.drawn)

charts = Charts()
charts.feed(open(sys.argv[1], encoding="utf-8").read())
empty = [i for i, drawn in enumerate(charts.charts) if drawn == 0]
size = os.path.getsize(sys.argv[2])
print(f"{len(charts.charts)} charts rendered, {len(empty)} empty; screenshot {sys.argv[2]} ({size} bytes)")
if not charts.charts or empty or size < 10_000:
    sys.exit("error: no charts, an empty chart, or a blank screenshot")
PY
