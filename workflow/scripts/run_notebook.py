# Not named notebook.py: nbconvert tries `import notebook`, which would find this script.
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

import nbformat
import papermill
from nbconvert import HTMLExporter

parameters = snakemake.params.parameters
print(f"running {snakemake.input.notebook} for {parameters['dataset']} on cases {', '.join(parameters['cases'])}")
papermill.execute_notebook(snakemake.input.notebook, snakemake.output.notebook, parameters=parameters,
                           cwd=str(Path.cwd()), log_output=True, progress_bar=False)
html, _ = HTMLExporter().from_notebook_node(nbformat.read(snakemake.output.notebook, as_version=4))
Path(snakemake.output.html).write_text(html)
