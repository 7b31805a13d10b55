import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import optuna
import pandas as pd

from sincvae.data import load_split
from sincvae.exact import solutions_from_frame
from sincvae.forward import ForwardMap
from sincvae.train import resolve_device
from sincvae.tuning import OBJECTIVE, make_objective, open_study, run_search, study_name, trials_frame

optuna.logging.set_verbosity(optuna.logging.WARNING)  # not a line per scratch study
tuning, options = snakemake.params.tuning, snakemake.params.generate
dataset = snakemake.wildcards.dataset
validation = load_split(snakemake.input.validation)
rows = snakemake.params.validation_rows
solutions = solutions_from_frame(pd.read_parquet(snakemake.input.solutions), "validation", rows)
objective_args = (snakemake.params.base, tuning["space"], ForwardMap.from_config(snakemake.params.dataset),
                  load_split(snakemake.input.train), validation, tuple(t[:rows] for t in validation), solutions,
                  options, resolve_device(snakemake.params.device))
search = {key: value for key, value in tuning.items() if key not in ("trials", "grid")}
scored = {"samples": options["samples"], "validation_rows": rows}
name = study_name(dataset, {"search": search, "base": snakemake.params.base, "evaluate": scored,
                            "map": snakemake.params.dataset},
                  [snakemake.input.train, snakemake.input.validation, snakemake.input.solutions])
study = open_study(snakemake.params.journal, name)
print(f"objective {OBJECTIVE} on {rows} validation rows; batches of {tuning['workers']} trials, "
      f"{snakemake.threads} at once")
ran = run_search(study, make_objective, objective_args, tuning["space"], tuning["trials"], tuning["workers"],
                 snakemake.threads, tuning["seed"], tuning["startup_trials"])
print(f"ran {ran} trials")
trials_frame(study).assign(study=name).to_csv(snakemake.output[0], index=False)
