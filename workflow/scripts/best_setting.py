import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd
import yaml

from sincvae.plan.ablations import claims
from sincvae.show.plots import save_figure, tuning_history
from sincvae.learn.tuning import OBJECTIVE, best_case, importances, in_original_ranges, open_study, trials_frame

tuning = snakemake.params.search
dataset = snakemake.wildcards.dataset
study = open_study(snakemake.params.journal, pd.read_csv(snakemake.input.search)["study"].iloc[0])
frame = trials_frame(study)
frame.to_csv(snakemake.output.trials, index=False)
setting = best_case(frame, tuning["space"])
weights = importances(study)
best = {
    "dataset": dataset,
    "base_case": tuning["base_case"],
    "objective": OBJECTIVE,
    "value": float(frame.loc[frame["state"] == "COMPLETE", OBJECTIVE].min()),
    "setting": setting,
    "trials": frame["state"].value_counts().to_dict(),
    "importances": weights,
    "in_original_ranges": in_original_ranges(setting, claims({"ablations": snakemake.params.ablations})),
}
with open(snakemake.output.best, "w") as out:
    yaml.safe_dump(best, out, sort_keys=False)
save_figure(tuning_history(frame, weights, OBJECTIVE), snakemake.output.history)
print(yaml.safe_dump(best, sort_keys=False))
