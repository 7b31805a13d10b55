import json
import os
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.report import benchmark_summary, provenance, render_report

validations = []
for path in snakemake.input.validation:
    with open(path) as f:
        validations.append(json.load(f))
report_dir = os.path.dirname(snakemake.output[0])
notebooks = {d: os.path.relpath(p, report_dir) for d, p in zip(snakemake.params.datasets, snakemake.params.notebooks)}
html = render_report(pd.read_csv(snakemake.input.comparison), validations, snakemake.params.datasets,
                     snakemake.params.figures, notebooks, snakemake.params.tuning, snakemake.input.compute,
                     snakemake.params.config,
                     provenance(snakemake.params.config, snakemake.params.source),
                     benchmark_summary(snakemake.input.benchmarks))
with open(snakemake.output[0], "w") as out:
    out.write(html)
