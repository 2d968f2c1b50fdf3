"""Training and testing: the loop, the evaluator, the EMA, the schedule, distributed set-up."""
