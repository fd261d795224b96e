"""Reading checkpoints: files (torch, safetensors) to named tensors, tensors to recurrent modules, and why a
configuration would not load. No Rich or Typer; torch only inside the functions that read torch files.
"""
