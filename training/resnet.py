"""ResNet-18/34/50 for MindSpore, with a width multiplier so they train on a CPU.

Layout and parameter names follow the MindSpore model zoo's ``resnet.py`` (``conv1``,
``bn1``, ``layer1.0.conv1``, ``down_sample_layer``, ``end_point`` ...), because the origin
story's checkpoints came from those scripts and ``--pretrained`` matches by name and shape.
ResNet-50 uses the bottleneck block of the paper, with the stride on the 3x3 convolution
as the model zoo does. ``width_multiplier`` scales every channel count (0.25 turns the
64-channel stem into 16 channels), which is what makes a ResNet-18 train in a minute on
two CPU cores.

GRAPH_MODE compiles ``construct``; MindSpore requires its first parameter to be ``self``.
"""

from __future__ import annotations

from mindspore import nn, ops

__all__ = ["NET_NAMES", "ResNet", "resnet"]

# net_name -> (block kind, blocks per stage)
_LAYOUTS: dict[str, tuple[str, tuple[int, int, int, int]]] = {
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
}
NET_NAMES = tuple(_LAYOUTS)
_STAGE_WIDTHS = (64, 128, 256, 512)
_STAGE_STRIDES = (1, 2, 2, 2)
_EXPANSION = {"basic": 1, "bottleneck": 4}


def _conv(in_channel: int, out_channel: int, *, kernel: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(
        in_channel,
        out_channel,
        kernel_size=kernel,
        stride=stride,
        pad_mode="same",
        has_bias=False,
        weight_init="HeNormal",
    )


def _bn(channel: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channel, eps=1e-5, momentum=0.9)


class ResidualBlockBase(nn.Cell):
    """Two 3x3 convolutions: the block of ResNet-18/34 (model-zoo names ``bn1d``/``bn2d``)."""

    expansion = 1

    def __init__(self, in_channel: int, out_channel: int, *, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv(in_channel, out_channel, kernel=3, stride=stride)
        self.bn1d = _bn(out_channel)
        self.conv2 = _conv(out_channel, out_channel, kernel=3)
        self.bn2d = _bn(out_channel)
        self.relu = nn.ReLU()
        self.down_sample = stride != 1 or in_channel != out_channel
        self.down_sample_layer = _shortcut(in_channel, out_channel, stride=stride)

    def construct(self, x):
        identity = x
        out = self.relu(self.bn1d(self.conv1(x)))
        out = self.bn2d(self.conv2(out))
        if self.down_sample:
            identity = self.down_sample_layer(identity)
        return self.relu(out + identity)


class ResidualBlock(nn.Cell):
    """The bottleneck block of ResNet-50: 1x1 reduce, 3x3 (strided), 1x1 expand by 4."""

    expansion = 4

    def __init__(self, in_channel: int, out_channel: int, *, stride: int = 1) -> None:
        super().__init__()
        channel = out_channel // self.expansion
        self.conv1 = _conv(in_channel, channel, kernel=1)
        self.bn1 = _bn(channel)
        self.conv2 = _conv(channel, channel, kernel=3, stride=stride)
        self.bn2 = _bn(channel)
        self.conv3 = _conv(channel, out_channel, kernel=1)
        self.bn3 = _bn(out_channel)
        self.relu = nn.ReLU()
        self.down_sample = stride != 1 or in_channel != out_channel
        self.down_sample_layer = _shortcut(in_channel, out_channel, stride=stride)

    def construct(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.down_sample:
            identity = self.down_sample_layer(identity)
        return self.relu(out + identity)


def _shortcut(in_channel: int, out_channel: int, *, stride: int) -> nn.Cell | None:
    """A 1x1 projection when the block changes shape, else nothing (identity)."""
    if stride == 1 and in_channel == out_channel:
        return None
    return nn.SequentialCell([_conv(in_channel, out_channel, kernel=1, stride=stride), _bn(out_channel)])


class ResNet(nn.Cell):
    """Stem (7x7/2 conv, 3x3/2 max-pool), four stages, global average pool, dense head."""

    def __init__(
        self,
        *,
        block: str,
        layers: tuple[int, ...],
        class_num: int,
        width_multiplier: float = 1.0,
        in_channel: int = 3,
    ) -> None:
        super().__init__()
        block_cls = ResidualBlock if block == "bottleneck" else ResidualBlockBase
        widths = [_scaled(w, width_multiplier) for w in _STAGE_WIDTHS]
        self.conv1 = _conv(in_channel, widths[0], kernel=7, stride=2)
        self.bn1 = _bn(widths[0])
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, pad_mode="same")
        channels = widths[0]
        stages = []
        for width, count, stride in zip(widths, layers, _STAGE_STRIDES):
            out_channel = width * block_cls.expansion
            stages.append(_make_layer(block_cls, channels, out_channel, count=count, stride=stride))
            channels = out_channel
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.mean = ops.ReduceMean(keep_dims=True)
        self.flatten = nn.Flatten()
        self.end_point = nn.Dense(channels, class_num, has_bias=True)

    def construct(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.flatten(self.mean(x, (2, 3)))
        return self.end_point(x)


def _scaled(width: int, multiplier: float) -> int:
    return max(1, round(width * multiplier))


def _make_layer(
    block_cls: type, in_channel: int, out_channel: int, *, count: int, stride: int
) -> nn.SequentialCell:
    blocks = [block_cls(in_channel, out_channel, stride=stride)]
    blocks += [block_cls(out_channel, out_channel, stride=1) for _ in range(count - 1)]
    return nn.SequentialCell(blocks)


def resnet(net_name: str, *, class_num: int, width_multiplier: float = 1.0) -> ResNet:
    """Build ``resnet18``/``resnet34``/``resnet50`` by model-zoo name."""
    block, layers = _LAYOUTS[net_name]
    return ResNet(block=block, layers=layers, class_num=class_num, width_multiplier=width_multiplier)
