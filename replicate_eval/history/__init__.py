"""Run history (issue 17): comparing a run with an earlier one. Built in steps; today only the
statistics a diff uses to call a change in pass counts a regression."""
