"""Memory on the device: what it has free (for the guard in rnnshape.model.memory, which decides; this
only asks), and the peak of one call, measured: on CUDA the allocator's own peak, on CPU the profiler's
allocation events.

CPU has no allocator statistics in torch, but every allocation of torch's CPU allocator is reported to the
profiler when ``profile_memory=True``: the peak is the highest running sum of those events over one call, on
top of what was already allocated (the module's parameters and buffers, and the inputs). The profiler of
torch.autograd (not torch.profiler.profile, whose first use imports torch._dynamo, about a second) costs a few
milliseconds plus some microseconds per op. tests/test_memory_torch.py holds it to an independent
measurement. torch is imported inside functions only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable


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


def peak_bytes(device: str, fn: Callable[[], object], resident: Iterable) -> int:
    """The peak bytes allocated on ``device`` while ``fn()`` runs, counting the ``resident`` tensors on CPU."""
    if device.startswith("cuda"):
        return cuda_peak(device, fn)
    return resident_bytes(resident) + cpu_transient_peak(fn)


def cuda_peak(device: str, fn: Callable[[], object]) -> int:
    """torch.cuda.max_memory_allocated over one call, after resetting the peak: everything resident counts."""
    import torch

    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    fn()
    torch.cuda.synchronize(device)
    return int(torch.cuda.max_memory_allocated(device))


def cpu_transient_peak(fn: Callable[[], object]) -> int:
    """The highest running sum of the CPU allocation events (frees are negative) during one ``fn()``.

    What ``fn`` returns is freed inside the window too: it does not outlive the call.
    """
    import os

    from torch.autograd.profiler import profile

    # Kineto logs every profiler start and stop on stderr below level 6; read when the profiler first starts.
    os.environ.setdefault("KINETO_LOG_LEVEL", "6")
    with profile(profile_memory=True) as prof:
        fn()
    events = [e for e in prof.kineto_results.events() if e.name() == "[memory]" and e.device_type().name == "CPU"]
    events.sort(key=lambda e: e.start_ns())
    running = peak = 0
    for e in events:
        running += e.nbytes()
        peak = max(peak, running)
    return peak


def resident_bytes(tensors: Iterable) -> int:
    """Bytes of the distinct storages behind ``tensors`` (a view shares its base's storage)."""
    seen: dict[int, int] = {}
    for t in tensors:
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
    return sum(seen.values())
