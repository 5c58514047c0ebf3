"""Megatron-LM iteration lines (also Megatron-DeepSpeed, and MindSpeed on Ascend).

     iteration      200/    1000 | consumed samples:          800 | elapsed time per iteration (ms): 430.0 |
     learning rate: 1.342E-04 | global batch size:     4 | lm loss: 7.399415E+00 | loss scale: 16384.0 |
     grad norm: 2.918 | number of skipped iterations:   0 | number of nan iterations:   0 |

The iteration counter is the run's global step.  When every iteration of a logging
interval was skipped (fp16 loss scale too high), the line carries no loss: it is no
step record, but those skipped iterations are loss-scale overflows; a line with a
loss and skipped iterations is a step record flagged ``overflow``.
"""

from __future__ import annotations

from parsers.formats._regex import LOSS, NUM
from parsers.registry import LinePattern, LogFormat, register

_ITERATION = r"\biteration\s+(?P<global_step>\d+)\s*/\s*(?:\d+|infinity)\s*\|"

MEGATRON = register(
    LogFormat(
        name="megatron",
        description="Megatron-LM / MindSpeed 'iteration N/M | ... | lm loss: ... |' lines",
        patterns=(
            LinePattern(
                name="iteration",
                table="steps",
                regex=(
                    rf"{_ITERATION}(?:.*?elapsed time per iteration \(ms\):\s*(?P<step_time_ms>{NUM}))?"
                    rf"(?:.*?learning rate:?\s*(?P<lr>{NUM}))?"
                    rf".*?\|\s*(?:lm )?loss:?\s*(?P<loss>{LOSS})\s*\|"
                    rf"(?:.*?loss scale:?\s*(?P<loss_scale>{NUM}))?"
                    r"(?:.*?number of skipped iterations:\s*(?P<overflow>\d+))?"
                ),
                fields={
                    "global_step": "int",
                    "step_time_ms": "float",
                    "lr": "float",
                    "loss": "float",
                    "loss_scale": "float",
                    "overflow": "nonzero",
                },
                priority=45,
            ),
            LinePattern(
                name="skipped iterations",
                table="events",
                regex=rf"{_ITERATION}.*number of skipped iterations:\s*0*[1-9]",
                constants={"kind": "overflow"},
                priority=46,
            ),
            LinePattern(
                name="nan iterations",
                table="events",
                regex=rf"{_ITERATION}.*number of nan iterations:\s*0*[1-9]",
                constants={"kind": "nan"},
                priority=46,
            ),
        ),
        example="iteration 200/ 1000 | elapsed time per iteration (ms): 430.0 | lm loss: 7.399415E+00 |",
    )
)
