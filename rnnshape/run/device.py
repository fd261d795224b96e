"""What the device has free, for the memory guard (rnnshape.model.guard decides; this only asks)."""

from __future__ import annotations


def available_bytes(device: str) -> int | None:
    """Free memory on the device, or None where it cannot be told (then nothing is refused).

    CUDA: torch.cuda.mem_get_info. CPU: MemAvailable from /proc/meminfo (Linux), what the kernel can
    give without swapping.
    """
    if device == "meta":
        return None
    if device.startswith("cuda"):
        import torch

        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None
