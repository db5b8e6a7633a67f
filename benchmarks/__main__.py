"""Run every benchmark module in this folder and print its numbers."""

import importlib
import pkgutil
from pathlib import Path

for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name):
    if info.name.startswith("bench_"):
        print(f"== {info.name}")
        importlib.import_module(f"benchmarks.{info.name}").main()
