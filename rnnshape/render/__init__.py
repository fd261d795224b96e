"""Renderers: Rich tables, JSON, CSV, Markdown, charts, SVG/HTML export and the live display.

Each reads a result (Report, Comparison, Sweep, Inspection, views) and formats it; none runs torch, the
predictor or the CLI. Only this package (and the CLI's output seam) imports Rich.
"""
