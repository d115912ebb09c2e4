"""The scenario wing: YAML reading with positions, the models and their checks, the registry of parameters, compiling, evidence, the schema."""
