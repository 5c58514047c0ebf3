"""ImageFolder validation and splitting: bad trees fail before training, with the path named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from training.errors import ClassCountError, DatasetError, StrayEntryError
from training.imagefolder import check_class_num, scan_image_folder, split_by_ratio


@pytest.fixture
def tree(digits3: Path, tmp_path: Path) -> Path:
    """A private, editable copy of the 3-class digits tree."""
    return Path(shutil.copytree(digits3, tmp_path / "data"))


def test_scan_lists_sorted_classes_and_files(tree: Path) -> None:
    folder = scan_image_folder(tree)
    assert folder.classes == ("0", "1", "2")
    assert folder.size == 72
    assert all(list(names) == sorted(names) for names in folder.files)
    assert folder.class_indexing() == {"0": 0, "1": 1, "2": 2}


def test_notebook_checkpoint_folder_is_a_stray_entry(tree: Path) -> None:
    (tree / ".ipynb_checkpoints").mkdir()
    with pytest.raises(StrayEntryError) as info:
        scan_image_folder(tree)
    assert str(tree / ".ipynb_checkpoints") in str(info.value)
    assert "stray folder" in str(info.value)


@pytest.mark.parametrize("stray", ["notes.txt", "0/.DS_Store", "1/readme.md", "2/nested/"])
def test_stray_files_and_nested_folders_are_named(tree: Path, stray: str) -> None:
    path = tree / stray
    if stray.endswith("/"):
        path.mkdir()
    else:
        path.write_text("x", encoding="utf-8")
    with pytest.raises(StrayEntryError) as info:
        scan_image_folder(tree)
    assert str(path) in str(info.value)


def test_empty_class_folder_and_missing_root(tree: Path) -> None:
    (tree / "3").mkdir()
    with pytest.raises(DatasetError, match="class folder has no images"):
        scan_image_folder(tree)
    with pytest.raises(DatasetError, match="image folder not found"):
        scan_image_folder(tree / "absent")


def test_class_num_mismatch_names_the_folders(tree: Path) -> None:
    folder = scan_image_folder(tree)
    with pytest.raises(ClassCountError, match=r"class_num is 9 but .* has 3 class folders \(0, 1, 2\)"):
        check_class_num(folder, 9)
    check_class_num(folder, 3)


def test_split_folders_must_hold_the_same_classes(tree: Path, digits2: Path) -> None:
    with pytest.raises(ClassCountError, match="class folders differ"):
        check_class_num(scan_image_folder(tree), 3, other=scan_image_folder(digits2))


def test_ratio_split_is_stratified_disjoint_and_deterministic(tree: Path) -> None:
    folder = scan_image_folder(tree)
    train, val = split_by_ratio(folder, val_ratio=0.25, seed=0)
    assert sorted(train + val) == list(range(72))
    assert len(val) == 18
    assert [sum(i // 24 == label for i in val) for label in range(3)] == [6, 6, 6]
    assert (train, val) == split_by_ratio(folder, val_ratio=0.25, seed=0)
    assert val != split_by_ratio(folder, val_ratio=0.25, seed=1)[1]


@pytest.mark.training
def test_split_indices_address_the_same_images_in_mindspore(digits3: Path) -> None:
    """Indices computed here select, in ImageFolderDataset, the images of the expected class."""
    from training.pipeline import image_pipeline

    folder = scan_image_folder(digits3)
    _, val = split_by_ratio(folder, val_ratio=0.25, seed=0)
    data = image_pipeline(folder, val, train=False, image_size=8, batch_size=100, workers=1)
    labels = [int(x) for batch in data.create_tuple_iterator(output_numpy=True) for x in batch[1]]
    assert labels == [index // 24 for index in val]
