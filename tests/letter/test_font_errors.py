"""Fonts that cannot letter are refused at check time with the file, line and reason."""

from __future__ import annotations

from pathlib import Path

from support import run_cli

PROJECT = """title: Fonts
characters:
  mira:
    tokens: mira_cf
    voice: {font: fonts/Broken.ttf}
pages:
  - layout: splash
    panels:
      - prompt: a
        balloons:
          - {who: mira, text: Hello.}
          - {caption: true, text: Later., font: fonts/Outlines.otf}
"""


def test_unreadable_and_cff_fonts_are_located_errors(tmp_path: Path):
    (tmp_path / "fonts").mkdir()
    (tmp_path / "fonts" / "Broken.ttf").write_bytes(b"this is not a font")
    (tmp_path / "fonts" / "Outlines.otf").write_bytes(b"OTTO" + bytes(60))  # a CFF-flavoured OpenType header
    (tmp_path / "comic.yaml").write_text(PROJECT)
    result = run_cli("check", str(tmp_path), check=False)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(lines) == 2, lines
    assert lines[0].startswith("error: comic.yaml:5: characters.mira.voice.font: font fonts/Broken.ttf: cannot be used as a lettering font: ")
    assert lines[1].startswith("error: comic.yaml:12: pages[0].panels[0].balloons[1].font: font fonts/Outlines.otf: cannot be used as a lettering font: ")
    assert "convert it to TrueType" in lines[1]
