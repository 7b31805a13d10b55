"""Hyperparameter search on the validation split: a grid's table and an Optuna TPE study.

The objective is the distance (Wasserstein-1) between a case's generated lines and the exact
solutions of the validation y, weighted by the posterior (distances.mean_distance), lower is better. It rewards
landing on solutions and spreading over all of them in proportion; coverage cannot rank the
original study's CVAE settings, since every one of them covers nothing (0.00 on both datasets), and the
forward residual alone rewards collapsing onto one easy line. The scoring split is never used.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import optuna
import pandas as pd
from optuna.storages.journal import JournalFileBackend, JournalStorage

if TYPE_CHECKING:
    import torch

    from sincvae.problem.forward import ForwardMap
    from sincvae.plan.ablations import Claim

OBJECTIVE = "validation_distance"
PRUNING_SAMPLES = 4  # lines per y for the per-epoch progress value


def objective_value(metrics: dict) -> float:
    """The search objective from a seed's metrics.json: raw-stage validation distance."""
    return metrics["stages"]["raw"]["validation"]["distance"]


def suggest(trial: optuna.Trial, space: dict) -> dict:
    """Case columns drawn from the search space: {name: {choices: [...]}} or {name: {low, high, log}}."""
    values = {}
    for name, spec in space.items():
        if "choices" in spec:
            values[name] = trial.suggest_categorical(name, spec["choices"])
        elif isinstance(spec["low"], int) and isinstance(spec["high"], int):
            values[name] = trial.suggest_int(name, spec["low"], spec["high"], log=spec.get("log", False))
        else:
            values[name] = trial.suggest_float(name, spec["low"], spec["high"], log=spec.get("log", False))
    return values


# torch is imported where trials run, so that the bookkeeping rules reading the study and the
# grid (best_setting, grid) start without it.
def generated_residual(model: torch.nn.Module, fmap: ForwardMap, y: torch.Tensor, generator: torch.Generator) -> float:
    """Mean |f(x̂) − y| of a few generated lines per y: cheap progress for pruning."""
    import torch

    model.eval()
    with torch.no_grad():
        lines = model.generate(y, PRUNING_SAMPLES, generator)
    model.train()
    return float((fmap(lines) - y[:, None]).abs().mean())


def make_objective(run, space: dict, fmap: ForwardMap, train: tuple, validation: tuple, solutions: list,
                   device: torch.device) -> Callable[[optuna.Trial], float]:
    """An Optuna objective: the search's Run (planning.Plan.search) with the trial's settings
    over its case, through the comparison's own evaluate.run_seeds; the generated residual on
    the scored validation rows is reported after every epoch (pruning); returns the validation
    distance of the raw lines to the exact solutions.

    train, validation: (x, y) splits; solutions: those of the run's scored validation rows.
    """
    import dataclasses

    import torch

    from sincvae.learn.evaluate import run_seeds
    from sincvae.score.distances import mean_distance

    (split, rows), = run.splits
    targets = {split: validation[1][:rows]}

    def objective(trial: optuna.Trial) -> float:
        trial_run = dataclasses.replace(run, case={**run.case, **suggest(trial, space)})
        pruning = torch.Generator(device).manual_seed(trial_run.seeds[0])

        def epoch_end(epoch: int, model: torch.nn.Module) -> None:
            trial.report(generated_residual(model, fmap, targets[split].to(device), pruning), epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {epoch}")

        (_, _, lines, _, _), = run_seeds(trial_run, fmap, targets, device, f"trial {trial.number}", train=train,
                                      validation=validation, log=lambda m: None, epoch_end=epoch_end)
        return mean_distance(lines[(split, "raw")], solutions)

    return objective


COMPLETE = optuna.trial.TrialState.COMPLETE
FINISHED = (COMPLETE, optuna.trial.TrialState.PRUNED)
SLOT = "slot"  # a trial's place in the search (user attribute): Optuna's numbers follow finishing order


def study_name(dataset: str, settings: dict, paths: list[str]) -> str:
    """The study's name in the journal: the dataset and a digest of everything a trial's value
    depends on except the number of trials (the search's space, base case, batches and seed,
    the evaluation settings, the objective) and of the data files' bytes. A change of any of
    them starts a new study; more trials extend the same one."""
    digest = hashlib.sha256(json.dumps({**settings, "objective": OBJECTIVE}, sort_keys=True, default=str).encode())
    for path in paths:
        digest.update(Path(path).read_bytes())
    return f"{dataset}-{digest.hexdigest()[:12]}"


def open_study(journal: str, name: str) -> optuna.Study:
    """The study in a journal file, created or loaded: it keeps the finished trials, so that a
    rerun goes on with them. Its sampler is not used: run_search asks each batch's trials."""
    return optuna.create_study(study_name=name, direction="minimize", load_if_exists=True,
                               storage=JournalStorage(JournalFileBackend(journal)))


def _scratch_study(earlier: list[optuna.trial.FrozenTrial], sampler_seed: int, startup_trials: int) -> optuna.Study:
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=sampler_seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=startup_trials, n_warmup_steps=1))
    study.add_trials(earlier)
    return study


def batch_params(earlier: list[optuna.trial.FrozenTrial], batch: int, workers: int, seed: int,
                 space: dict) -> list[dict]:
    """The settings of one batch's `workers` trials: TPE seeded with seed + batch and fitted to
    the trials of the earlier batches only, so they never depend on which trial finished first."""
    study = _scratch_study(earlier, seed + batch, 0)
    return [suggest(study.ask(), space) for _ in range(workers)]


_objective: Callable[[optuna.Trial], float] | None = None  # a search process's objective


def _start_process(make: Callable[..., Callable], args: tuple) -> None:
    global _objective
    _objective = make(*args)


def run_trial(earlier: list[optuna.trial.FrozenTrial], params: dict, space: dict, startup_trials: int,
              slot: int, objective: Callable[[optuna.Trial], float] | None = None) -> optuna.trial.FrozenTrial:
    """One trial with fixed settings, pruned against the earlier batches' trials only (MedianPruner)."""
    import torch

    torch.set_num_threads(1)  # one thread per trial whatever runs beside it: the same numbers
    study = _scratch_study(earlier, 0, startup_trials)
    study.enqueue_trial(params)
    trial = study.ask()
    try:
        study.tell(trial, (objective or _objective)(trial))
    except optuna.TrialPruned:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    finished = study.trials[-1]
    finished.set_user_attr(SLOT, slot)
    return finished


def run_search(study: optuna.Study, make_objective: Callable[..., Callable], objective_args: tuple, space: dict,
               trials: int, workers: int, processes: int, seed: int, startup_trials: int,
               log: Callable[[str], None] = print) -> int:
    """Run the search until `study` holds trials 0 .. trials-1, in batches of `workers`: each
    batch's settings come from the earlier batches (batch_params), its trials run in up to
    `processes` processes at once. The results do not depend on timing, `processes` or the
    machine's load. Finished trials of an earlier run are kept. Returns how many trials ran."""
    import multiprocessing

    done = {t.user_attrs[SLOT]: t for t in study.get_trials(states=FINISHED) if SLOT in t.user_attrs}
    log(f"study {study.study_name}: {len(done)} of {trials} trials finished")
    pool = None
    if processes > 1 and len(done) < trials:
        # fork: a spawned process would re-run the rule script that started the search. The parent
        # has run no parallel torch code yet, so the children inherit no busy thread pools.
        pool = multiprocessing.get_context("fork").Pool(min(processes, workers), _start_process,
                                                        (make_objective, objective_args))
    objective = None if pool else make_objective(*objective_args)
    ran = 0
    try:
        for start in range(0, trials, workers):
            slots = range(start, min(start + workers, trials))
            earlier = [done[slot] for slot in range(start)]
            params = batch_params(earlier, start // workers, workers, seed, space)
            todo = [(earlier, params[slot - start], space, startup_trials, slot) for slot in slots if slot not in done]
            results = pool.starmap(run_trial, todo) if pool else [run_trial(*args, objective) for args in todo]
            for finished in results:
                study.add_trial(finished)
                done[finished.user_attrs[SLOT]] = finished
                log(f"trial {finished.user_attrs[SLOT]} {finished.state.name}: {suggest_summary(finished.params)}"
                    + (f" -> {OBJECTIVE} {finished.value:.4g}" if finished.state == COMPLETE else ""))
            ran += len(results)
    finally:
        if pool:
            pool.close()
            pool.join()
    return ran


def suggest_summary(params: dict) -> str:
    return ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in params.items())


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per finished trial in search order: trial (its slot), state, objective (completed
    trials only: Optuna gives a pruned trial its last progress value, which is not the
    objective), parameters, best so far."""
    finished = sorted(study.get_trials(states=FINISHED), key=lambda t: t.user_attrs.get(SLOT, t.number))
    frame = pd.DataFrame([{"trial": t.user_attrs.get(SLOT, t.number), "state": t.state.name,
                           OBJECTIVE: t.value if t.state == COMPLETE else float("nan"), **t.params}
                          for t in finished])
    return frame.assign(best_so_far=frame[OBJECTIVE].cummin().ffill())


def importances(study: optuna.Study) -> dict[str, float]:
    """Parameter importances (Optuna's fANOVA) over the completed trials; empty if too few."""
    if sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials) < 2:
        return {}
    return {k: float(v) for k, v in optuna.importance.get_param_importances(study).items()}


def in_original_ranges(params: dict, claims: dict[str, Claim]) -> dict[str, bool | None]:
    """For each of the original study's claims (config `ablations.factors.*.claim`:
    ablations.claims), whether a setting lies in its recommended range (None: not searched)."""
    return {factor: (bool(claim.holds(params[factor])) if factor in params else None)
            for factor, claim in claims.items()}


def grid_frame(points: list[dict], metrics: list[dict]) -> pd.DataFrame:
    """The grid's table: each point's settings and its validation scores (raw stage), best first."""
    rows = [{**point, **{f"validation_{k}": v for k, v in m["stages"]["raw"]["validation"].items()},
             OBJECTIVE: objective_value(m)} for point, m in zip(points, metrics)]
    return pd.DataFrame(rows).sort_values(OBJECTIVE, kind="stable").reset_index(drop=True)


def best_case(frame: pd.DataFrame, space: dict) -> dict:
    """The best completed trial's settings as case columns (numpy scalars made plain)."""
    best = frame[frame["state"] == "COMPLETE"].sort_values(OBJECTIVE, kind="stable").iloc[0]
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in best[list(space)].items()}
