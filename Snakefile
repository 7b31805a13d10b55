# sincvae: learn to invert sinusoidal maps of straight lines with a conditional VAE.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/machine.smk"
include: "workflow/rules/common.smk"
include: "workflow/rules/resources.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/tuning.smk"


# The whole study's cost, said before anything runs (results/plan.csv has every job's).
onstart:
    print(
        plan_line(planned_schedule(computing_cores()), JOBS, COSTS, MACHINE),
        file=sys.stderr,
    )


rule all:
    default_target: True
    input:
        paths.REPORT,
    localrule: True
