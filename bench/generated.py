"""Generated benchmark data, cached: the sample generator's four sources at N people."""

from __future__ import annotations

import time
from pathlib import Path

from mdm.sample import generate_sample

SAMPLE_SOURCES = Path(__file__).parents[1] / "data" / "sample" / "sources.yaml"


def generated_sources(people: int, work: Path) -> Path:
    """sources.yaml of N generated people under work/ (generated once, seed 20261122)."""
    data = work / f"people_{people}"
    if not (data / "truth.csv").exists():
        started = time.perf_counter()
        counts = generate_sample(data, n_people=people)
        print(f"generated {sum(counts.values())} rows in {time.perf_counter() - started:.1f} s: {counts}")
    sources = data / "sources.yaml"
    sources.write_text(SAMPLE_SOURCES.read_text())
    return sources
