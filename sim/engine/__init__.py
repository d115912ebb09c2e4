"""The engine wing: the rules (every equation), seeding and shocks, the engines, the Mesa agents and model, run records."""
