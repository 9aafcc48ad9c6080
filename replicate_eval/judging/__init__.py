"""Model-graded assertions, in one place: which model judges (settings), the grader prompts
(prompts), reading what judges answer (answers), the checks themselves (checks) and calling the
judges during a run (calls)."""
