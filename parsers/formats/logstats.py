"""The ``log.txt`` of facebookresearch's training scripts (DeiT, MAE, DINO, ConvNeXt, BEiT):
one JSON object per epoch, a correction on top of the grammar for its epoch base.

    {"train_lr": 8.16e-05, "train_loss": 3.2030, "epoch": 249, "n_parameters": 11590840}
    {"train_lr": 7.89e-05, "train_loss": 3.1955, "test_loss": 0.9325, "test_acc1": 78.836,
     "test_acc5": 94.466, "epoch": 250, "n_parameters": 11590840}

The grammar reads these lines whole (the epoch's mean training loss, the ``test_*`` evaluation
of the epochs that ran one); what their text cannot say is that ``epoch`` is the loop's
``range(start_epoch, epochs)`` index, counted from 0 (``main.py``'s ``log_stats``).  The
pattern is keyed to that dict's shape: ``train_lr`` first, ``epoch`` after the ``train_*`` and
``test_*`` figures.
"""

from __future__ import annotations

from parsers.formats._regex import LOSS, NUM
from parsers.registry import LinePattern, LogFormat, register

_TRAIN = rf'(?:,\s*"train_\w+":\s*{NUM})*'
_TEST = "".join(rf'(?:,\s*"test_{m}":\s*(?P<metric_test_{m}>{LOSS}))?' for m in ("loss", "acc1", "acc5"))

LOG_STATS = register(
    LogFormat(
        name="log_stats",
        description='facebookresearch log.txt (DeiT, MAE, DINO): {"train_lr": ..., "epoch": 0}, 0-based',
        patterns=(
            LinePattern(
                name="epoch stats",
                table="steps",
                also=("evals",),
                regex=(
                    rf'^\s*\{{"train_lr":\s*(?P<lr>{NUM}),\s*"train_loss":\s*(?P<loss>{LOSS}){_TRAIN}{_TEST}'
                    r',\s*"epoch":\s*(?P<epoch>\d+)\b'
                ),
                fields={
                    "lr": "float",
                    "loss": "float",
                    "metric_test_loss": "float",
                    "metric_test_acc1": "float",
                    "metric_test_acc5": "float",
                    "epoch": "int",
                },
                priority=45,
            ),
        ),
        epoch_base=0,
        example='{"train_lr": 8.16e-05, "train_loss": 3.2030, "epoch": 249, "n_parameters": 11590840}',
    )
)
