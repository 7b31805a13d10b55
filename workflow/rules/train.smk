rule train:
    input:
        unpack(tuned_setting),
        unpack(continued_state),
        train="data/{dataset}/train_dataset.pt",
        validation="data/{dataset}/validation_dataset.pt",
        checked="results/{dataset}/data_validation.json",
    output:
        model="results/{dataset}/{case}/seed{seed}/model.pt",
        history="results/{dataset}/{case}/seed{seed}/history.csv",
    log:
        "logs/train/{dataset}/{case}/seed{seed}.log",
    benchmark:
        "benchmarks/train/{dataset}/{case}/seed{seed}.tsv"
    wildcard_constraints:
        case=one_of(TRAINED_CASES),
    conda:
        "../../envs/sincvae.yaml"
    threads: config["threads"]
    resources:
        mem_mb=1500,  # measured peak 0.5 GB at 20,000 rows
        runtime=train_runtime,
        gpu=GPUS_PER_JOB,
    params:
        case=case_params,
        dataset=dataset_params,
        device=config["device"],
    script:
        "../scripts/train.py"


# A run that a longer epochs level continues also keeps its full training state (weights,
# optimiser, random streams) until that level has started from it.
use rule train as train_continued with:
    output:
        model="results/{dataset}/{case}/seed{seed}/model.pt",
        history="results/{dataset}/{case}/seed{seed}/history.csv",
        state=temp("results/{dataset}/{case}/seed{seed}/state.pt"),
    wildcard_constraints:
        case=one_of(CONTINUED_CASES),
