"""The analysis wing: paired statistics, comparisons, levers, the EMA Workbench adapter."""
