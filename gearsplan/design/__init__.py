"""Layer 5, experiment design: which perturbations to run next (``suggest``), and the replay that proves the choice beats random."""
