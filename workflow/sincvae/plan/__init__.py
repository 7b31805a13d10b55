"""Planning and cost: the study as cases and runs from the config (planning), its table of
steps and jobs (jobs), their cost in reference epochs (cost) and its calibration on a finished
study (calibration, measured)."""
