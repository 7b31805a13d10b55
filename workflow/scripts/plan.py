import json
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.budget import reference_epoch_seconds
from sincvae.plan.machine import describe_cpu

# The study's cost before it runs: every job's estimate (ref: reference epochs) and the whole
# study's simulated schedule on this run's cores (wall time, critical path), in minutes from the
# reference epoch measured here now.
jobs = pd.DataFrame(snakemake.params.jobs).astype({"mem_mb": "Int64"})  # empty: the profile's default
seconds = sorted(reference_epoch_seconds(seed) for seed in range(3))[1]
schedule = snakemake.params.schedule
jobs.assign(minutes_here=jobs["ref"] * seconds / 60).to_csv(snakemake.output.jobs, index=False)
summary = {"reference_epoch_s": seconds, "jobs": len(jobs), **schedule,
           "wall_minutes": schedule["wall_ref"] * seconds / 60, "rates_from": snakemake.params.rates_from,
           "machine": describe_cpu()}
with open(snakemake.output.summary, "w") as f:
    json.dump(summary, f, indent=2)
print(json.dumps(summary, indent=2))
