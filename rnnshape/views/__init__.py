"""Pure views of a prediction: the equations (explain), the unrolled network (diagram), the PyTorch code.

They build plain data structures from a Prediction; renderers turn them into text. No torch, Rich or Typer.
"""
