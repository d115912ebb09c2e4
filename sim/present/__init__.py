"""The presentation wing: figures, explanations of a run, reports."""
