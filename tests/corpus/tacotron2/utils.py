# Source: https://github.com/NVIDIA/tacotron2/blob/185cd24e046cc1304b4f8e564734d2498c6e2e6f/utils.py
# License: BSD-3-Clause (NVIDIA/tacotron2 LICENSE). Copied as its authors wrote it; trimmed: load_wav_to_torch
# (scipy, audio files); changed: get_mask_from_lengths allocates on the lengths' device instead of torch.cuda, so it
# runs on a CPU (marked in the line).
# rnnshape test corpus: see tests/corpus/README.md.

import torch


def get_mask_from_lengths(lengths):
    max_len = torch.max(lengths).item()
    ids = torch.arange(0, max_len, device=lengths.device)  # rnnshape corpus: was out=torch.cuda.LongTensor(max_len)
    mask = (ids < lengths.unsqueeze(1)).bool()
    return mask


def load_filepaths_and_text(filename, split="|"):
    with open(filename, encoding='utf-8') as f:
        filepaths_and_text = [line.strip().split(split) for line in f]
    return filepaths_and_text


def to_gpu(x):
    x = x.contiguous()

    if torch.cuda.is_available():
        x = x.cuda(non_blocking=True)
    return torch.autograd.Variable(x)
