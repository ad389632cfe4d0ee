"""Generated benchmark data, cached: the sample generator's four sources at N people, and the
event sources (visits, purchases, survey answers) the sample's sources.yaml declares."""

from __future__ import annotations

import time
from pathlib import Path

from mdm.sample import generate_sample
from mdm.sample.events import generate_events
from mdm.sample.generator import DEFAULT_SEED

SAMPLE_SOURCES = Path(__file__).parents[1] / "data" / "sample" / "sources.yaml"


def generated_sources(people: int, work: Path, seed: int = DEFAULT_SEED) -> Path:
    """sources.yaml of N generated people under work/ (generated once; seed 20261122 unless told)."""
    data = work / (f"people_{people}" if seed == DEFAULT_SEED else f"people_{people}_seed_{seed}")
    if not (data / "truth.csv").exists():
        started = time.perf_counter()
        counts = generate_sample(data, seed=seed, n_people=people)
        print(f"generated {sum(counts.values())} rows in {time.perf_counter() - started:.1f} s: {counts}")
    if not (data / "sources" / "visits.csv").exists():  # data cached before event sources existed too
        started = time.perf_counter()
        counts = generate_events(data, seed=seed)
        print(f"generated {sum(counts.values())} event rows in {time.perf_counter() - started:.1f} s: {counts}")
    sources = data / "sources.yaml"
    sources.write_text(SAMPLE_SOURCES.read_text())
    return sources
