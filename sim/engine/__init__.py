"""The engine wing: the rules (every equation), seeding and shocks, the kernel (the month, written once), the Mesa
model and its agents (the kernel at R = 1), run records."""
