"""MindSpore input pipelines over a validated ImageFolder tree.

``ImageFolderDataset`` is used rather than a generator because it reads the tree as the
model-zoo scripts do and works with numpy 2 (MindSpore's ``GeneratorDataset`` and
``NumpySlicesDataset`` do not). A ratio split selects samples with subset samplers over
the indices computed by :mod:`training.imagefolder`.
"""

from __future__ import annotations

import mindspore as ms
import mindspore.dataset as ds
from mindspore.dataset import transforms, vision

from training.imagefolder import ImageFolder

__all__ = ["image_pipeline"]

# ImageNet statistics on the 0-255 scale, as the model zoo normalises.
_MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255]
_STD = [0.229 * 255, 0.224 * 255, 0.225 * 255]


def image_pipeline(
    folder: ImageFolder,
    indices: list[int] | None,
    *,
    train: bool,
    image_size: int,
    batch_size: int,
    workers: int,
) -> ds.Dataset:
    """Decoded, resized, normalised CHW float batches with int32 labels.

    Training batches are shuffled (each epoch) and drop the remainder so every step has
    the same shape; validation keeps every sample in a fixed order.
    """
    sampler = None
    if indices is not None:
        sampler = ds.SubsetRandomSampler(indices) if train else ds.SubsetSampler(indices)
    data = ds.ImageFolderDataset(
        str(folder.root),
        class_indexing=folder.class_indexing(),
        sampler=sampler,
        shuffle=train if sampler is None else None,
        num_parallel_workers=workers,
    )
    image_ops = [
        vision.Decode(),
        vision.Resize((image_size, image_size)),
        vision.Normalize(mean=_MEAN, std=_STD),
        vision.HWC2CHW(),
    ]
    data = data.map(image_ops, input_columns="image", num_parallel_workers=workers)
    data = data.map(transforms.TypeCast(ms.int32), input_columns="label")
    return data.batch(batch_size, drop_remainder=train)
