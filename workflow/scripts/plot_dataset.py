import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.problem.data import load_split
from sincvae.problem.exact import solutions_from_frame
from sincvae.problem.forward import ForwardMap
from sincvae.score.scoring import lines_from_frame
from sincvae.problem.lines import POINTS
from sincvae.show.plots import data_overview, image_panels, line_panels, loss_curves, residual_distributions, save_figure

cases, rows = snakemake.params.cases, snakemake.params.rows
fmap = ForwardMap.from_config(snakemake.params.dataset)
x, y = (t.numpy() for t in load_split(snakemake.input.scoring))
save_figure(data_overview(x, y), snakemake.output.data)

batches = snakemake.params.batches  # case -> how many run jobs' histories, in the order of the inputs
cases_of_batches = [c for c in snakemake.params.learned_cases for _ in range(batches[c])]
histories = pd.concat(pd.read_csv(p).assign(case=c) for c, p in zip(cases_of_batches, snakemake.input.histories))
histories["seed"] = "seed " + histories["seed"].astype(str)
save_figure(loss_curves(histories[histories["seed"] == "seed 0"]), snakemake.output.losses)
for case, path in zip(snakemake.params.learned_cases, snakemake.output.case_losses):
    save_figure(loss_curves(histories[histories["case"] == case], hue="seed"), path)

scores = pd.concat((pd.read_parquet(p).assign(case=c) for c, p in zip(cases, snakemake.input.scores)),
                   ignore_index=True)
save_figure(residual_distributions(scores[scores["split"] == "scoring"]), snakemake.output.residuals)

# Each method's own lines (the raw stage) of its first seed: what it learned, before refinement moves them.
raw = [("split", "==", "scoring"), ("stage", "==", "raw"), ("seed", "==", 0)]
generated = {c: lines_from_frame(pd.read_parquet(p, filters=raw), POINTS)[("scoring", "raw")][rows]
             for c, p in zip(snakemake.params.inspect_cases, snakemake.input.lines)}
solutions = solutions_from_frame(pd.read_parquet(snakemake.input.solutions), "scoring", max(rows) + 1)
save_figure(line_panels([solutions[r][0] for r in rows], generated, rows), snakemake.output.lines_x)
images = {c: fmap(g) for c, g in generated.items()}
save_figure(image_panels(y[rows], images, rows), snakemake.output.lines_y)
