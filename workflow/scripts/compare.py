import json
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.report import comparison_row, exact_row


def read(path):
    with open(path) as f:
        return json.load(f)


exact = [exact_row(read(path)) for path in snakemake.input.exact]
cases = [read(path) for path in snakemake.input.metrics]
table = pd.DataFrame(exact + [comparison_row(case) for case in cases])
table = table.sort_values("dataset", kind="stable")  # the exact row first within each dataset
table.to_csv(snakemake.output.table, index=False)
pd.DataFrame([row for case in cases for row in case["per_seed"]]).to_csv(snakemake.output.seeds, index=False)
print(f"{len(table)} rows written to {snakemake.output.table}")
