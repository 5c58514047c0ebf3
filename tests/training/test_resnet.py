"""The ResNet family: sizes match the paper's networks, and the width multiplier scales them."""

from __future__ import annotations

import mindspore as ms
import numpy as np
import pytest

from training.config import NET_NAMES
from training.resnet import NET_NAMES as BUILT
from training.resnet import resnet

pytestmark = pytest.mark.training  # needs MindSpore

# Trainable parameters of the torchvision/paper ImageNet models (1000 classes, width 1).
PAPER_SIZES = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032}


def _trainable(net: ms.nn.Cell) -> int:
    return sum(p.size for p in net.trainable_params())


def test_config_offers_exactly_the_networks_built() -> None:
    assert NET_NAMES == BUILT


@pytest.mark.parametrize("name", sorted(PAPER_SIZES))
def test_full_width_matches_the_paper(name: str) -> None:
    assert _trainable(resnet(name, class_num=1000)) == PAPER_SIZES[name]


def test_width_multiplier_scales_channels_and_names_follow_the_model_zoo() -> None:
    net = resnet("resnet50", class_num=9, width_multiplier=0.25)
    params = net.parameters_dict()
    assert params["conv1.weight"].shape == (16, 3, 7, 7)
    assert params["layer1.0.conv3.weight"].shape == (64, 16, 1, 1)  # bottleneck expands by 4
    assert params["layer1.0.down_sample_layer.0.weight"].shape == (64, 16, 1, 1)
    assert params["end_point.weight"].shape == (9, 512)


def test_forward_pass_gives_one_logit_per_class() -> None:
    net = resnet("resnet50", class_num=9, width_multiplier=0.125)
    net.set_train(False)
    logits = net(ms.Tensor(np.zeros((2, 3, 32, 32), np.float32)))
    assert logits.shape == (2, 9)
