"""`comicforge halftone` as users and outside tests call it."""

from pathlib import Path

from PIL import Image

from support import run_cli


def test_halftone_command_writes_a_1bit_png(tmp_path: Path):
    Image.linear_gradient("L").resize((300, 300)).save(tmp_path / "in.png")
    run_cli("halftone", str(tmp_path / "in.png"), str(tmp_path / "out.png"), "--dpi", "600", "--lpi", "65", "--angle", "45")
    with Image.open(tmp_path / "out.png") as out:
        assert out.mode == "1" and out.size == (300, 300)


def test_halftone_command_rejects_too_fine_a_screen(tmp_path: Path):
    Image.new("L", (10, 10), 128).save(tmp_path / "in.png")
    result = run_cli("halftone", str(tmp_path / "in.png"), str(tmp_path / "out.png"), "--dpi", "600", "--lpi", "300", "--angle", "45", check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: halftone.lpi: 300 is too fine for 600 dpi (must be below dpi/2 = 300)"
    assert not (tmp_path / "out.png").exists()
