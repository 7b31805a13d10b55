import sys
import time

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.problem.data import load_split
from sincvae.problem.exact import NoSolution, solutions_frame, solve_split
from sincvae.problem.forward import ForwardMap
from sincvae.score.scoring import targets_frame

# Every solution of each scored y, with its posterior weight, and the scored rows' x and y beside
# them: the tables every scoring job reads (torch-free, unlike the data files).
fmap = ForwardMap.from_config(snakemake.params.dataset)
frames, targets = [], []
for split, rows in snakemake.params.splits:
    x, y = (t.numpy() for t in load_split(snakemake.input[split]))
    x, y = x[:rows], y[:rows]
    started = time.perf_counter()
    try:
        solutions = solve_split(fmap, y, snakemake.params.tolerance, known=x)
    except NoSolution as err:
        raise NoSolution(f"{snakemake.input[split]}, split {split}: {err}") from None
    seconds = time.perf_counter() - started
    counts = pd.Series([len(lines) for lines, _ in solutions]).value_counts().sort_index()
    print(f"{split}: {len(y)} rows solved in {seconds:.2f} s ({len(y) / seconds:.0f} y/s); "
          f"solutions per y: {counts.to_dict()}")
    frames.append(solutions_frame(split, solutions))
    targets.append(targets_frame(split, x, y))
pd.concat(frames, ignore_index=True).to_parquet(snakemake.output.solutions, index=False)
if "targets" in snakemake.output.keys():  # the train split's solver (rule solve_train) scores no rows
    pd.concat(targets, ignore_index=True).to_parquet(snakemake.output.targets, index=False)
