"""fairseq's simple progress bar: a correction on top of the grammar, its 0-based batch index.

    | epoch 010  2000 / 8223 loss=1.27 (1.50), wps=962, wpb=908, bsz=32, lr=0.001, ...     (2018)
    | epoch 009:   1000 / 2737 loss=6.220, nll_loss=5.070, ..., num_updates=22897, lr=...   (2019)

The grammar reads these lines whole; what their text cannot say is the base of the
``cur / total`` counter. fairseq prints the ``enumerate`` index of the batch just done
(``progress_bar.simple_progress_bar``), so ``1000 / 2737`` is the 1,001st batch:
``transformer_epoch_summary_valid_issue514`` prints it beside ``num_updates=22897``, which is
8 x 2737 + 1001.  The epoch summary (``| epoch 010 | train loss 1.44 | ...``) and validation
lines (``| epoch 010 | valid on 'valid' subset ...``) have a ``|`` after the epoch and are left
to the grammar.
"""

from __future__ import annotations

from parsers.formats._regex import LOSS, NUM
from parsers.registry import LinePattern, LogFormat, register

FAIRSEQ = register(
    LogFormat(
        name="fairseq",
        description="fairseq simple progress: '| epoch 010  2000 / 8223 loss=1.27 ...' (0-based batch index)",
        patterns=(
            LinePattern(
                name="simple progress",
                table="steps",
                regex=(
                    r"^\|\s*epoch\s+(?P<epoch>\d+):?\s+(?P<step>\d+)\s*/\s*(?P<steps_per_epoch>\d+)\s+"
                    rf"loss=(?P<loss>{LOSS})"
                    rf"(?:.*?\bnum_updates=(?P<global_step>\d+))?(?:.*?\blr=(?P<lr>{NUM}))?"
                ),
                fields={
                    "epoch": "int",
                    "step": "int",
                    "steps_per_epoch": "int",
                    "loss": "float",
                    "global_step": "int",
                    "lr": "float",
                },
                priority=45,
            ),
        ),
        step_base=0,
        example="| epoch 010  2000 / 8223 loss=1.27 (1.50), wps=962, wpb=908, bsz=32, lr=0.001",
    )
)
