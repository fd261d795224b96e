"""The model layer: what a configuration is and what follows from it alone (spec, rules, predictor, results).

Pure Python: nothing here imports torch, Rich or Typer, so every answer it gives is instant.
"""
