"""Build the one C extension (the byte scanner of ``parsers``); all metadata is in pyproject.toml."""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [Extension("parsers._scan", ["parsers/_scan.pyx"], extra_compile_args=["-O3"])],
        language_level=3,
    )
)
