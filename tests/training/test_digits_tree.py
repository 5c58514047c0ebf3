"""The embedded dataset: scikit-learn's digits written once, deterministically, as ImageFolder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

from training.digits import write_digits
from training.imagefolder import scan_image_folder


def _digest(root: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(root.rglob("*.png")):
        sha.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
    return sha.hexdigest()


def test_all_digits_become_a_valid_ten_class_tree(tmp_path: Path) -> None:
    root = write_digits(tmp_path / "digits")
    folder = scan_image_folder(root)
    assert folder.classes == tuple(str(d) for d in range(10))
    assert folder.size == 1797
    with Image.open(root / "3" / "0003.png") as image:
        assert (image.size, image.mode) == ((8, 8), "L")
        pixels = np.asarray(image)
    expected = load_digits().images[3] * 255 / 16  # 0..16 ink scaled to 0..255
    np.testing.assert_allclose(pixels, expected, atol=0.5)
    assert [p.name for p in tmp_path.iterdir()] == ["digits"]  # no temporary folder left


def test_writing_is_deterministic_and_done_once(tmp_path: Path) -> None:
    first = write_digits(tmp_path / "a", per_class=5)
    second = write_digits(tmp_path / "b", per_class=5)
    assert _digest(first) == _digest(second)
    (first / "0" / "0000.png").unlink()
    assert write_digits(first, per_class=5) == first  # an existing tree is left alone
    assert not (first / "0" / "0000.png").exists()
