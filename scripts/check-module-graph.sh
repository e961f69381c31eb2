#!/usr/bin/env bash
# Checks that Package.swift's module graph is the one the code uses and that
# it runs one way, along the data flow (docs/architecture.md):
#   - every internal module a target imports is a declared dependency, and
#     every declared dependency is imported somewhere in the target;
#   - a library target depends only on targets earlier in ORDER below.
# Exits 1 naming each violation. `make test` (and so CI) runs it first.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - <<'PYTHON'
import os, re, sys

# The data flow, bottom to top. A target may depend only on targets before it.
ORDER = ["CPrefetch", "CZlib", "CZstd", "TestSupport", "Support", "Engine", "Tokenizers", "Models", "Datasets", "Generation",
         "Search", "Agent", "RL", "World", "Training", "Evaluation", "Reports", "Runs", "RealRun", "Demo", "Benchmarks", "Fuzzing", "Serving",
         "Console", "DemoCLI", "ZeroSearchDemo", "ZeroSearchCLI"]

manifest = open("Package.swift").read()

def closing(text, start, opening, close):
    """Index just past the bracket that closes the one at `start`."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == opening:
            depth += 1
        elif text[i] == close:
            depth -= 1
            if depth == 0:
                return i + 1
    sys.exit(f"Package.swift: unbalanced {opening} at offset {start}")

targets = {}
for match in re.finditer(r"\.(target|executableTarget|testTarget|systemLibrary)\(", manifest):
    body = manifest[match.end() - 1:closing(manifest, match.end() - 1, "(", ")")]
    name = re.search(r'name:\s*"(\w+)"', body).group(1)
    deps = []
    found = re.search(r"dependencies:\s*\[", body)
    if found:
        listed = body[found.end() - 1:closing(body, found.end() - 1, "[", "]")]
        products = re.findall(r'\.product\(\s*name:\s*"(\w+)"', listed)
        plain = re.findall(r'"(\w+)"', re.sub(r"\.product\([^)]*\)", "", listed))
        deps = plain + products
    path = re.search(r'path:\s*"([^"]+)"', body)
    folder = path.group(1) if path else os.path.join("Tests" if match.group(1) == "testTarget" else "Sources", name)
    targets[name] = {"kind": match.group(1), "deps": deps, "folder": folder}

internal = {name for name, t in targets.items() if t["kind"] != "testTarget"}
errors = []
for name in sorted(internal - set(ORDER)):
    errors.append(f"{name}: not placed in ORDER (scripts/check-module-graph.sh)")

def imports(folder):
    found = set()
    for root, _, files in os.walk(folder):
        if "Fixtures" in root.split(os.sep):
            continue
        for file in files:
            if file.endswith(".swift"):
                for line in open(os.path.join(root, file), encoding="utf-8"):
                    m = re.match(r"\s*(?:@testable\s+|@_exported\s+)?import\s+(?:struct\s+|class\s+|enum\s+|func\s+)?(\w+)", line)
                    if m:
                        found.add(m.group(1))
    return found

for name, target in sorted(targets.items()):
    if target["kind"] == "systemLibrary" or not os.path.isdir(target["folder"]):
        continue
    used = imports(target["folder"])
    declared = set(target["deps"])
    # C targets are imported by module name only where their headers are used.
    for dep in sorted(declared - used):
        errors.append(f"{name}: declares {dep} but never imports it")
    for dep in sorted((used & internal) - declared - {name}):
        errors.append(f"{name}: imports {dep} without declaring it")
    if target["kind"] != "testTarget" and name in ORDER:
        for dep in sorted(declared & internal):
            if dep in ORDER and ORDER.index(dep) >= ORDER.index(name):
                errors.append(f"{name}: depends on {dep}, which comes later in the data flow")

if errors:
    print("module graph check failed:")
    for error in errors:
        print("  " + error)
    sys.exit(1)
print(f"module graph: {len(targets)} targets, every import declared, every dependency used and earlier in the data flow")
PYTHON
