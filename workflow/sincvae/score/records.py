"""The results files with one writer each. Metrics, one schema for every scorer: a trained
seed's lines, the exact solutions scored as a method, and someone's sample file each give a
record {dataset, case, method, stages: {stage: {split: summary}}} (scoring.score_lines'
summaries), written as metrics.json; a case's own metrics.json summarises its seeds' records
(summary.case_summary). The findings (findings.findings), computed once by rule findings as
results/findings.json, which the report renders. Torch-free."""

from __future__ import annotations

import json
from pathlib import Path


def scored(dataset: str, case: str, method: str, stages: dict[str, dict[str, dict]]) -> dict:
    """One sample set's record: its summaries per stage and split."""
    return {"dataset": dataset, "case": case, "method": method, "stages": stages}


def write(record: dict | list, path: str | Path) -> None:
    """A record (or a list of them) as JSON; numpy scalars as the numbers they are."""
    with open(path, "w") as f:
        json.dump(record, f, indent=2, default=lambda value: value.item())


def read(path: str | Path) -> dict:
    with open(path) as f:
        return json.load(f)
