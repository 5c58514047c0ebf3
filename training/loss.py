"""Cross-entropy with optional label smoothing, as the model zoo's ``CrossEntropySmooth``.

Smoothing spreads ``smooth_factor`` of each target's probability over the other classes,
which the origin story's ResNet-50 config turns on (``use_label_smooth``). With a factor
of 0 this is plain softmax cross-entropy, so one loss class serves both settings.
"""

from __future__ import annotations

import mindspore as ms
from mindspore import Tensor, nn, ops

__all__ = ["CrossEntropySmooth"]


class CrossEntropySmooth(nn.LossBase):
    """Softmax cross-entropy over integer labels, smoothed by ``smooth_factor``."""

    def __init__(self, *, class_num: int, smooth_factor: float = 0.0, reduction: str = "mean") -> None:
        super().__init__()
        self.onehot = ops.OneHot()
        self.class_num = class_num
        self.on_value = Tensor(1.0 - smooth_factor, ms.float32)
        self.off_value = Tensor(smooth_factor / (class_num - 1), ms.float32)
        self.ce = nn.SoftmaxCrossEntropyWithLogits(reduction=reduction)

    def construct(self, logits, label):
        target = self.onehot(label, self.class_num, self.on_value, self.off_value)
        return self.ce(logits, target)
