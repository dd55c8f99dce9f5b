"""The platform's OpenAPI document is the contract; every client restating one of its limits
must agree with it.

Usage: check_clients.py target/openapi.json

The Thunderbird extension and the helper check an unlock code before anything is sealed, so
that the sender hears about a bad one while typing, and so does the Outlook add-in's task pane;
they restate the platform's bounds, and this check holds each restatement against the document.
"""

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# (where a client restates a limit, the pattern that finds it, the schema path it must equal)
RESTATED = [
    ("thunderbird-extension/src/unlockcode.js", r"export const UNLOCK_CODE_MIN = (\d+);",
     ("UnlockCode", "code", "minLength")),
    ("thunderbird-extension/src/unlockcode.js", r"export const UNLOCK_CODE_MAX = (\d+);",
     ("UnlockCode", "code", "maxLength")),
    ("outlook-addin/src/unlockcode.js", r"export const UNLOCK_CODE_MIN = (\d+);",
     ("UnlockCode", "code", "minLength")),
    ("outlook-addin/src/unlockcode.js", r"export const UNLOCK_CODE_MAX = (\d+);",
     ("UnlockCode", "code", "maxLength")),
]


def restated_limits():
    yield from RESTATED
    # The helper's range is one constant, `CHARS: … = MIN..=MAX`, wherever the send module
    # keeps it.
    for rs in sorted((ROOT / "helper/src").rglob("*.rs")):
        text = rs.read_text()
        m = re.search(r"const CHARS: std::ops::RangeInclusive<usize> = (\d+)\.\.=(\d+);", text)
        if m:
            rel = str(rs.relative_to(ROOT))
            yield rel, (m.group(1), ("UnlockCode", "code", "minLength")), None
            yield rel, (m.group(2), ("UnlockCode", "code", "maxLength")), None


def main():
    doc = json.loads(Path(sys.argv[1]).read_text())
    schemas = doc["components"]["schemas"]
    checked, wrong = 0, []
    for path, pattern, target in restated_limits():
        if isinstance(pattern, tuple):
            value, target = pattern
        else:
            m = re.search(pattern, (ROOT / path).read_text())
            if not m:
                wrong.append(f"{path}: no match for {pattern!r} (renamed? update this check)")
                continue
            value = m.group(1)
        schema, field, key = target
        want = schemas[schema]["properties"][field][key]
        checked += 1
        if int(value) != want:
            wrong.append(f"{path}: {schema}.{field} {key} is {value}, the platform says {want}")
    if checked < 6:
        wrong.append(f"only {checked} restated limits found; expected the extension's, the add-in's "
                     "and the helper's")
    for w in wrong:
        print(w, file=sys.stderr)
    print(f"contract: {checked} restated limits checked against the OpenAPI document, {len(wrong)} wrong")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
