import os
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd
import yaml

from sincvae import paths
from sincvae.decide.findings import claim_lines
from sincvae.score import records
from sincvae.show.report import (benchmark_summary, comparison_view, image, methods_view, power_views, provenance,
                                 render_report, run_facts, table_view, tuning_view)

params, inputs = snakemake.params, snakemake.input
config = params.config
comparison = pd.read_csv(inputs.comparison)
verdicts = pd.read_csv(inputs.verdicts) if inputs.get("verdicts") else None
validations = [records.read(path) for path in inputs.validation]
report_dir = os.path.dirname(snakemake.output[0])
origin = provenance(config, params.source)
ranking = pd.read_csv(inputs.ranking)
planned = records.read(inputs.plan_summary)
table, settings = comparison_view(comparison, ranking)
claims = [] if verdicts is None else [
    {"line": line, "figure": image(path)} for line, path in zip(claim_lines(verdicts), inputs.claim_figures)]
html = render_report(
    found=records.read(inputs.findings),
    run=run_facts(config, origin, verdicts),
    headline=image(inputs.headline) if inputs.get("headline") else None,
    best_figure=image(inputs.best),
    best_cases_figure=image(inputs.best_cases),
    claims=claims,
    verdicts=table_view(verdicts) if verdicts is not None else None,
    power=power_views(pd.read_csv(inputs.power)),
    comparison=table, settings=settings, methods=methods_view(comparison),
    compute_figure=image(inputs.compute),
    calibration_figures={name: image(path) for name, path in zip(paths.CALIBRATION_FIGURES, inputs.calibration)},
    datasets=list(params.datasets), validations=validations,
    validation=table_view(pd.DataFrame([
        {"dataset": v["dataset"], "split": split, "rows": s["rows"], "checks passed": len(s["checks_passed"]),
         "max |Y − f(X)|": s["max_abs_y_error"], "max line error": s["max_line_error"]}
        for v in validations for split, s in v["splits"].items()])),
    figures={d: {name: image(path) for name, path in figures.items()} for d, figures in params.figures.items()},
    notebooks={d: os.path.relpath(p, report_dir) for d, p in zip(params.datasets, params.notebooks)},
    tuning=[tuning_view(d, files) for d, files in params.tuning.items()],
    origin=table_view(pd.DataFrame([origin])),
    benchmarks=table_view(benchmark_summary(inputs.benchmarks, pd.read_csv(inputs.plan), planned["reference_epoch_s"])),
    planned=planned,
    config_text=yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
    docs=os.path.relpath(os.path.join(params.source, "docs"), report_dir),
)
with open(snakemake.output[0], "w") as out:
    out.write(html)
