"""Keep the README's examples real: each block marked `<!-- rnnshape: ARGS [| section NAME] -->` is the
output of that command. `python tests/readme_blocks.py [TEXT]` rewrites them (those whose command contains
TEXT) from the current code;
tests/test_readme.py checks the deterministic (--dry-run) ones on every test run.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(
    r"<!-- rnnshape: (?P<args>.*?)(?: \| (?P<mode>section|from) (?P<section>[\w ]+))? -->\n"
    r"```console\n(?P<body>.*?)```",
    re.S,
)
TITLES = ("Parameters", "Tensors", "Totals", "Timing")


def run(args: str) -> str:
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("FORCE_COLOR", None)
    proc = subprocess.run([sys.executable, "-m", "rnnshape", *shlex.split(args)], capture_output=True, text=True,
                          env=env,
                          timeout=300)
    out = proc.stdout if proc.stdout else proc.stderr
    return "\n".join(line.rstrip() for line in out.splitlines()).strip("\n") + "\n"


def section(text: str, name: str, to_end: bool = False) -> str:
    """The section titled NAME (up to the next title), or with to_end=True from that line to the end."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(name))
    end = len(lines) if to_end else next(
        (i for i in range(start + 1, len(lines)) if lines[i].startswith(TITLES)), len(lines))
    return "\n".join(lines[start:end]).strip("\n") + "\n"


def expected(args: str, name: str | None, mode: str | None = "section") -> str:
    out = run(args)
    return f"$ rnnshape {args}\n" + (section(out, name, mode == "from") if name else out)


def blocks(text: str):
    return list(BLOCK.finditer(text))


def main(match: str | None = None) -> None:
    """Rewrite every block, or with ``match`` only those whose command contains it (e.g. --dry-run)."""
    text = README.read_text(encoding="utf-8")
    for m in reversed(blocks(text)):
        if match and match not in m["args"]:
            continue
        new = expected(m["args"], m["section"], m["mode"])
        text = text[: m.start("body")] + new + text[m.end("body"):]
    README.write_text(text, encoding="utf-8")
    print(f"rewrote {len(blocks(text))} blocks")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
