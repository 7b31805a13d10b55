import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.score import records
from sincvae.decide.findings import findings
from sincvae.show.render import render_markdown
from sincvae.plan.planning import plan
from sincvae.show.report import provenance, run_facts

config = snakemake.params.config
verdicts = pd.read_csv(snakemake.input.verdicts) if snakemake.input.get("verdicts") else None
found = findings(pd.read_csv(snakemake.input.comparison), verdicts, pd.read_csv(snakemake.input.ranking),
                 config["reference_case"], config["report"].get("original_y_loss"), plan(config).labels())
text = render_markdown(found, run_facts(config, provenance(config, snakemake.params.source), verdicts))
with open(snakemake.output.markdown, "w") as out:
    out.write(text)
records.write(found, snakemake.output.data)
print(text)
