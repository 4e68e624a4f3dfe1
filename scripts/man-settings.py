#!/usr/bin/env python3
"""man-settings.py - write the SETTINGS list of docs/engram.1 from README.md's Configuration
table, so the man page and the README cannot disagree.

    scripts/man-settings.py           rewrite docs/engram.1 between its SETTINGS markers
    scripts/man-settings.py --check   exit 1 (and say so) when docs/engram.1 is not current

The table rows are `| `NAME` | default | meaning |`; each becomes a .TP entry.
"""

import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
README = os.path.join(ROOT, "README.md")
MAN = os.path.join(ROOT, "docs", "engram.1")
BEGIN = '.\\" BEGIN SETTINGS (generated from README.md by scripts/man-settings.py)\n'
END = '.\\" END SETTINGS\n'

# Characters outside ASCII as roff escapes (groff -ww stays silent; any terminal renders them).
SPECIAL = {"→": "\\(->", "…": "...", "×": "\\(mu", "–": "\\(en", "—": "\\(em", "−": "\\-",
           "≥": "\\(>=", "≤": "\\(<=", "’": "'", "“": '"', "”": '"', "^": "\\(ha"}


def roff(text):
    """Markdown inline text (code spans, links) as roff text."""
    text = text.replace("\\", "\\e")
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    out = []
    for i, part in enumerate(text.split("`")):
        part = "".join(SPECIAL.get(c, c) for c in part)
        if any(ord(c) > 127 for c in part):
            raise SystemExit("man-settings: no roff escape for %r" % part)
        part = part.replace("-", "\\-") if i % 2 else part
        out.append("\\fB%s\\fR" % part if i % 2 else part)
    line = "".join(out)
    return "\\&" + line if line.startswith((".", "'")) else line


def rows():
    text = open(README, encoding="utf-8").read()
    m = re.search(r"^## Configuration\n(.*?)(?=^## )", text, re.S | re.M)
    if not m:
        raise SystemExit("man-settings: README.md has no '## Configuration' section")
    found = []
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if \
            line.startswith("| `") else None
        if cells and len(cells) >= 3:
            name = cells[0].strip("`")
            found.append((name, cells[1], " | ".join(cells[2:])))
    if not found:
        raise SystemExit("man-settings: no rows in README.md's Configuration table")
    return found


def settings_block():
    lines = [BEGIN]
    for name, default, meaning in rows():
        lines.append(".TP\n.B %s\n" % name.replace("-", "\\-"))
        lines.append("Default: %s.\n" % roff(default))
        lines.append(".br\n%s\n" % roff(meaning))
    lines.append(END)
    return "".join(lines)


def main(argv):
    page = open(MAN, encoding="utf-8").read()
    if BEGIN not in page or END not in page:
        raise SystemExit("man-settings: docs/engram.1 lacks the SETTINGS markers")
    head, rest = page.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = head + settings_block() + tail
    if argv[1:] == ["--check"]:
        if new != page:
            print("docs/engram.1 is out of date with README.md's Configuration table: "
                  "run scripts/man-settings.py", file=sys.stderr)
            return 1
        return 0
    if new != page:
        with open(MAN, "w", encoding="utf-8") as f:
            f.write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
