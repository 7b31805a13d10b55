import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.show.plots import best_cases, best_methods, save_figure
from sincvae.decide.ranking import ranking

# Which method is best: multiple comparisons with the best on the scoring split's rows, each
# stage apart, over all cases and within each class of what the methods know of the map.
rows = pd.concat(pd.read_parquet(path) for path in snakemake.input.rows)
settings = snakemake.params.ranking
table = ranking(rows[rows["split"] == "scoring"], settings["metric"], settings["alpha"], settings["margin"],
                snakemake.params.classes, settings["resamples"], settings["seed"], settings["bootstrap"])
table.to_csv(snakemake.output.table, index=False)
params = snakemake.params
save_figure(best_methods(table, params.classes, params.methods), snakemake.output.figure)
save_figure(best_cases(table, params.classes, params.labels), snakemake.output.cases_figure)
print(table.to_string())
