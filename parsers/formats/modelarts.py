"""Huawei Cloud ModelArts platform lines that land in the same log as the training output.

    time="2023-08-28T00:41:45+08:00" level=info msg="auth file has been updated" ...
    [ModelArts Service Log]modelarts-pipe: total length: 23303
    [Modelarts Service Log]Training completed.

They are noise, never records, even when they mention epochs or "time ... ms".
The lines a training job prints inside ModelArts carry ordinary logging prefixes,
which every pattern tolerates because patterns are searched, not anchored.
"""

from __future__ import annotations

from parsers.registry import PRIORITY_NOISE, LinePattern, LogFormat, register

MODELARTS = register(
    LogFormat(
        name="modelarts",
        description="ModelArts platform lines (toolkit, service log, OBS copy), read as noise",
        patterns=(
            LinePattern(
                name="toolkit logfmt line",
                table="noise",
                regex=r'^\s*time="[^"]*"\s+level=\w+\s+msg=',
                priority=PRIORITY_NOISE,
            ),
            LinePattern(
                name="service log",
                table="noise",
                regex=r"\[Model[Aa]rts Service Log\]|^===>>>Copy Event or Checkpoint|\[TTP controller",
                priority=PRIORITY_NOISE,
            ),
        ),
        example='time="2023-08-28T00:41:45+08:00" level=info msg="auth file has been updated"',
    )
)
