"""Built-in formats: importing this package registers each of them.

Order matters only between patterns of equal priority; priorities in the
patterns themselves decide which pattern claims a line first.
"""

from parsers.formats import (  # noqa: F401
    common,
    fairseq,
    grammar,
    huggingface,
    logstats,
    megatron,
    mindformers,
    mindlab,
    mindspore,
    modelarts,
    modelzoo,
    pytorch,
    quickstart,
)
