import json
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.score import records
from sincvae.problem.data import load_split
from sincvae.problem.exact import solutions_from_frame
from sincvae.score.external import load_submission
from sincvae.problem.forward import ForwardMap
from sincvae.score.summary import case_summary
from sincvae.score.scoring import save_table, score_lines

# Someone's generated lines for the scoring split, scored as a method's raw stage.
w = snakemake.wildcards
fmap = ForwardMap.from_config(snakemake.params.dataset)
x, y = load_split(snakemake.input.scoring)
lines = load_submission(snakemake.input.submission, y)
print(f"{snakemake.input.submission}: {lines.shape[1]} lines for each of the {len(x)} scoring rows of {w.dataset}")
solutions = solutions_from_frame(pd.read_parquet(snakemake.input.solutions), "scoring", len(x))
scores, summary, rows = score_lines(fmap, "scoring", lines, x.numpy(), y.numpy(), solutions,
                                       snakemake.params.match_tolerance, snakemake.params.seed)
print(json.dumps(summary, indent=2))
save_table(scores.assign(stage="raw"), snakemake.output.scores)
rows.assign(stage="raw", dataset=w.dataset, case=w.case, seed=0).to_parquet(snakemake.output.rows, index=False)
metrics = records.scored(w.dataset, w.case, "external", {"raw": {"scoring": summary}})
records.write(case_summary({"case": w.case, "method": "external"}, [0], [metrics], [None]), snakemake.output.summary)
