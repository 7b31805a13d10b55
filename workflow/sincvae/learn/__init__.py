"""Learning: the methods (registry, methods/), training (train), drawing and refining lines
(evaluate, refine), the hyperparameter search (tuning) and throughput."""
