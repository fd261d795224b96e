#!/usr/bin/env bash
# The CUDA checks, as one prepared script for a session lent a GPU machine (issue 3):
#   run(command="bash tests/benchmarks/gpu_check.sh", timeout_s=420)
# It uses the machine's own python3 and torch (no install: nothing can be fetched there) with the
# working tree on PYTHONPATH, and writes its logs under $OUT (or /tmp/gpu-check without one).
set -uo pipefail
out=${OUT:-/tmp/gpu-check}
mkdir -p "$out"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 COLUMNS=100
py=python3
{
  $py -c "import torch, typer, rich; print('torch', torch.__version__, 'cuda', torch.version.cuda,
  torch.cuda.get_device_name(0), 'typer', typer.__version__, 'rich', rich.__version__)"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
} 2>&1 | tee "$out/env.txt"
# 1. the CUDA tests, then the whole suite on this machine
timeout 240 $py -m pytest -q -m cuda tests 2>&1 | tee "$out/pytest-cuda.txt"
timeout 300 $py -m pytest -q -x tests/test_witness.py tests/test_timing_torch.py tests/test_cli_basic.py \
  2>&1 | tail -5 | tee "$out/pytest-core.txt"
# 2. what a user sees, and the numbers for the note
for args in "lstm --layers 4 --bidirectional --device cuda --backward --vs-loop" \
            "lstm --layers 4 --bidirectional --device cuda --dtype bfloat16" \
            "gru --hidden-size 1024 --layers 2 --seq-len 256 --batch 64 --device cuda --lengths $(seq -s, 256 -4 1)" \
            "lstm --hidden-size 2048 --layers 4 --seq-len 512 --batch 64 --device cuda --backward"; do
  echo "\$ rnnshape $args"
  timeout 120 $py -m rnnshape $args --no-live 2>&1
  timeout 120 $py -m rnnshape $args --json > "$out/$(echo "$args" | tr -c 'a-z0-9' '_' | cut -c1-60).json" 2>/dev/null
done 2>&1 | tee "$out/runs.txt"
# 3. rnnshape's forward median against torch.utils.benchmark run directly, on the GPU
timeout 120 $py tests/benchmarks/bench_timing.py --reps 3 --device cuda 2>&1 | tee "$out/bench_timing.txt" || true
