"""Hyperparameter search on the validation split: a grid's table and an Optuna TPE study.

The objective is the MMD between a case's generated lines and the exact solutions of the
validation y, weighted by the posterior (metrics.truth_scores), lower is better. It rewards
landing on solutions and spreading over all of them in proportion; coverage cannot rank the
seed's CVAE settings, since every one of them covers nothing (0.00 on both datasets), and the
forward residual alone rewards collapsing onto one easy line. The scoring split is never used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np
import optuna
import pandas as pd
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.study import MaxTrialsCallback

if TYPE_CHECKING:
    import torch

    from .forward import ForwardMap

OBJECTIVE = "validation_mmd"
PRUNING_SAMPLES = 4  # lines per y for the per-epoch progress value


def objective_value(metrics: dict) -> float:
    """The search objective from a seed's metrics.json: raw-stage validation MMD."""
    return metrics["stages"]["raw"]["validation"]["mmd"]


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


def make_objective(base: dict, space: dict, fmap: ForwardMap, train: tuple, validation: tuple, scored: tuple,
                   solutions: list, options: dict, device: torch.device,
                   log: Callable[[str], None] = print) -> Callable[[optuna.Trial], float]:
    """An Optuna objective: train the base case with the trial's settings on `train`, report the
    generated residual on `scored` after every epoch (pruning), return the validation MMD.

    validation: (x, y) for the training loop's losses; scored: the validation rows the exact
    solutions belong to.
    """
    import torch

    from .evaluate import evaluate_split
    from .train import TrainSettings, fit

    x_scored, y_scored = scored

    def objective(trial: optuna.Trial) -> float:
        case = {**base, **suggest(trial, space)}
        settings = TrainSettings.from_dict(case)
        generator = torch.Generator(device).manual_seed(settings.seed)

        def epoch_end(epoch: int, model: torch.nn.Module) -> None:
            trial.report(generated_residual(model, fmap, y_scored.to(device), generator), epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {epoch}")

        model, _ = fit(settings, fmap, train, validation, device, log=lambda m: None, epoch_end=epoch_end)
        stages, _ = evaluate_split(model.to(device).eval(), fmap, "validation", x_scored, y_scored, solutions,
                                   {**options, "refine": {**options["refine"], "steps": 0}}, generator)
        value = stages["raw"][2]["mmd"]
        log(f"trial {trial.number}: {suggest_summary(trial.params)} -> {OBJECTIVE} {value:.4g}")
        return value

    return objective


FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


def open_study(journal: str, name: str, sampler_seed: int, startup_trials: int) -> optuna.Study:
    """The study in a journal file, created or loaded: workers share it, a rerun goes on with it."""
    return optuna.create_study(
        study_name=name, direction="minimize", load_if_exists=True,
        storage=JournalStorage(JournalFileBackend(journal)),
        sampler=optuna.samplers.TPESampler(seed=sampler_seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=startup_trials, n_warmup_steps=1),
    )


def run_worker(study: optuna.Study, objective: Callable[[optuna.Trial], float], trials: int,
               log: Callable[[str], None] = print) -> int:
    """Run trials until the study has `trials` finished (completed or pruned) ones, counting
    those of earlier runs and other workers; a trial left running by a killed job does not
    count. Returns how many this call ran."""
    done = len(study.get_trials(states=FINISHED))
    log(f"study {study.study_name}: {done} of {trials} trials finished")
    if done >= trials:
        return 0
    before = len(study.trials)
    study.optimize(objective, n_trials=trials - done, callbacks=[MaxTrialsCallback(trials, states=FINISHED)])
    return len(study.trials) - before


def suggest_summary(params: dict) -> str:
    return ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in params.items())


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, objective (completed trials only: Optuna gives a pruned
    trial its last progress value, which is not the objective), parameters, best so far."""
    complete = optuna.trial.TrialState.COMPLETE
    frame = pd.DataFrame([{"trial": t.number, "state": t.state.name,
                           OBJECTIVE: t.value if t.state == complete else float("nan"), **t.params}
                          for t in study.trials])
    return frame.assign(best_so_far=frame[OBJECTIVE].cummin().ffill())


def importances(study: optuna.Study) -> dict[str, float]:
    """Parameter importances (Optuna's fANOVA) over the completed trials; empty if too few."""
    if sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials) < 2:
        return {}
    return {k: float(v) for k, v in optuna.importance.get_param_importances(study).items()}


def in_seed_ranges(params: dict) -> dict[str, bool | None]:
    """The seed's recommended ranges (latent > 100, beta > 1, 0.5 < wx < 0.7, 0.5 < wy < 0.65)."""
    checks = {"latent_dim": lambda v: v > 100, "beta": lambda v: v > 1,
              "wx": lambda v: 0.5 < v < 0.7, "wy": lambda v: 0.5 < v < 0.65}
    return {k: (bool(check(params[k])) if k in params else None) for k, check in checks.items()}


def grid_frame(points: list[dict], metrics: list[dict]) -> pd.DataFrame:
    """The grid's table: each point's settings and its validation scores (raw stage), best first."""
    rows = [{**point, **{f"validation_{k}": v for k, v in m["stages"]["raw"]["validation"].items()},
             OBJECTIVE: objective_value(m)} for point, m in zip(points, metrics)]
    return pd.DataFrame(rows).sort_values(OBJECTIVE, kind="stable").reset_index(drop=True)


def best_case(frame: pd.DataFrame, space: dict) -> dict:
    """The best completed trial's settings as case columns (numpy scalars made plain)."""
    best = frame[frame["state"] == "COMPLETE"].sort_values(OBJECTIVE, kind="stable").iloc[0]
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in best[list(space)].items()}
