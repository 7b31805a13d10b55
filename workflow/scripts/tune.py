import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import optuna

from sincvae.problem.data import load_split
from sincvae.problem.exact import solve_split
from sincvae.problem.forward import ForwardMap
from sincvae.plan.planning import Run
from sincvae.learn.train import resolve_device
from sincvae.learn.tuning import OBJECTIVE, make_objective, open_study, run_search, study_name, trials_frame

optuna.logging.set_verbosity(optuna.logging.WARNING)  # not a line per scratch study
search, run = snakemake.params.search, Run.from_dict(snakemake.params.run)
dataset = snakemake.wildcards.dataset
(_, rows), = run.splits
fmap, validation = ForwardMap.from_config(snakemake.params.dataset), load_split(snakemake.input.validation)
# The scored validation rows' exact solutions, enumerated here (a second) rather than read from the
# solver's job: the search, the head of the longest chain, starts with the first training jobs.
x, y = (t.numpy()[:rows] for t in validation)
solutions = solve_split(fmap, y, snakemake.params.tolerance, known=x)
objective_args = (run, search["space"], fmap, load_split(snakemake.input.train), validation, solutions,
                  resolve_device(snakemake.params.device))
searched = {k: v for k, v in search.items() if k != "trials"}  # more trials extend the same study
name = study_name(dataset, {"search": searched, "run": snakemake.params.run, "map": snakemake.params.dataset},
                  [snakemake.input.train, snakemake.input.validation])
study = open_study(snakemake.params.journal, name)
print(f"objective {OBJECTIVE} on {rows} validation rows; batches of {search['workers']} trials, "
      f"{snakemake.threads} at once")
ran = run_search(study, make_objective, objective_args, search["space"], search["trials"], search["workers"],
                 snakemake.threads, search["seed"], search["startup_trials"])
print(f"ran {ran} trials")
# the processes it ran in: calibration reads the search's CPU seconds as its job's seconds times these
trials_frame(study).assign(study=name, processes=snakemake.threads).to_csv(snakemake.output[0], index=False)
