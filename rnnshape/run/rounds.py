"""The timing engine: warm up, probe thread counts, then measure every statement in interleaved rounds.

One call times one or several configurations ("groups", each a dict of statements with "forward" first).
Rounds alternate the statements (A, B, C, A, B, C, ...) so that a change of load hits all of them alike;
sample i of every statement is round i, and per-round ratios are fair (issue 12). The clock, the thread
setter and the note sink are parameters: tests drive the whole engine on a fake clock, and nothing here
prints (a note goes to the ``note`` callback the caller gives, or nowhere). torch is imported only inside
functions.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace

from rnnshape.model.stats import SLOW_FACTOR, Probe, Stats, ThreadChoice, candidates, choose

# The policy: how many calls, how long, when to stop, when to measure again (pure Python; the numbers come
# from issue 12's measurements on a shared 2-core machine)

WARMUP_CALLS = 2  # the first forward of a process is several times slower than steady state
PROBE_CALLS = 5  # calls per thread count in the probe, in rounds
PROBE_BUDGET_S = 0.15  # ...fewer when the probe would take longer than this
PROBE_PASSES = 2  # the counts are probed in this many passes (1, 2, 1, 2), so a change of load hits both
MIN_ROUNDS = 20  # runs per statement the default --min-time aims at (the README's promise)
MEASURE_CAP_S = 1.0  # ...but a statement is not measured for longer than this, or --min-time when larger
LONG_CALL_S = 0.1  # a forward this slow is timed a couple of times only, and announced on stderr
RECHECK_BELOW_S = 1.0  # ...when a second call says so too, if the first took less than this (a stall?)
HEALTH_CALLS = 5  # calls of the small op per count before a long forward is tried on more threads
MIN_BLOCKS = 20  # blocks of calls are sized to fit this many into --min-time
MAX_OVERHEAD = 1e-3  # timer overhead allowed per block, relative to the block


def block_size(per_call: float, min_time: float, overhead: float) -> int:
    """Calls per block: grow by 10 while the timer's overhead is over MAX_OVERHEAD of the block, but never
    past min_time / MIN_BLOCKS (so a measurement holds enough blocks to have a spread).

    >>> block_size(1e-6, 0.05, 1e-6), block_size(2e-3, 0.05, 1e-6), block_size(1e-6, 0.019, 1e-6)
    (1000, 1, 100)
    """
    number = 1
    while overhead > MAX_OVERHEAD * number * per_call and 10 * number * per_call <= min_time / MIN_BLOCKS:
        if number * 10 > 2**31 - 1:  # Timer's own bound (its C++ interface takes an int)
            break
        number *= 10
    return number


def enough(rounds: int, spent: Sequence[float], min_time: float, *, long: bool) -> bool:
    """Stop measuring? Each statement has had --min-time and MIN_ROUNDS rounds (one round for a long
    forward), or one of them has had MEASURE_CAP_S (or --min-time when larger).

    >>> enough(20, [0.05, 0.2], 0.05, long=False), enough(19, [0.05, 0.2], 0.05, long=False)
    (True, False)
    >>> enough(5, [0.01, 1.0], 0.05, long=False), enough(1, [0.3], 0.05, long=True)
    (True, True)
    """
    if rounds >= (1 if long else MIN_ROUNDS) and min(spent) >= min_time:
        return True
    return rounds >= 1 and max(spent) >= max(min_time, MEASURE_CAP_S)


def probe_calls(per_call: float, counts: int, groups: int) -> int:
    """Calls per count in the probe: PROBE_CALLS, fewer for a slow forward, one for a long one.

    >>> probe_calls(2e-3, 2, 1), probe_calls(0.03, 2, 1), probe_calls(0.3, 2, 3)
    (5, 2, 1)
    """
    return max(1, min(PROBE_CALLS, int(PROBE_BUDGET_S / max(per_call * counts * groups, 1e-12))))


def troubled(s: Stats) -> bool:
    """Stalled alike, or on several threads with a spread over the median (some runs stalled, some not)."""
    return s.stalled or (s.threads > 1 and s.runs >= 3 and s.iqr > s.median)


def fallback(c: ThreadChoice) -> ThreadChoice:
    if c.threads == 1 or c.asked is not None:
        return c
    return ThreadChoice(1, c.default, c.asked, c.probes, fallback=True)


# The engine

@dataclass(frozen=True)
class Statement:
    """A statement to time; ``mode`` (a context manager factory) is entered around its calls, off the clock."""

    fn: Callable[[], object]
    mode: Callable[[], AbstractContextManager] = nullcontext


@dataclass(frozen=True)
class GroupTiming:
    choice: ThreadChoice
    stats: dict[str, Stats]
    remeasured: bool = False
    interrupted: bool = False  # Ctrl-C during the rounds: the stats hold the rounds completed before it


class RoundsInterrupted(KeyboardInterrupt):
    """Ctrl-C after at least one full round: ``partial`` holds what the caller makes of the rounds done."""

    def __init__(self, partial: list) -> None:
        super().__init__()
        self.partial = partial


@dataclass
class _Item:
    group: int
    key: str
    statement: Statement
    warm: list[float] = field(default_factory=list)
    samples: list[float] = field(default_factory=list)
    number: int = 1
    spent: float = 0.0


def time_groups(
    groups: Sequence[Mapping[str, Statement | Callable[[], object]]],
    *,
    asked: int | None,
    min_time: float,
    clock: Callable[[], float],
    default: int,
    cores: int | None,
    set_threads: Callable[[int], None],
    note: Callable[[str], None] | None = None,
    health: Callable[[int], float] | None = None,
) -> list[GroupTiming]:
    """Time every statement of every group; each group runs on its own probed (or asked) thread count.

    ``health(n)`` times a small parallel op on n threads: before a long forward is tried on more threads,
    counts on which it runs SLOW_FACTOR times slower than on one thread are skipped.
    """
    items = [_Item(g, key, s if isinstance(s, Statement) else Statement(s))
             for g, statements in enumerate(groups) for key, s in statements.items()]
    probe = _Probe(items, candidates(default, cores, asked), asked or 1, clock, set_threads)
    long = probe.warm_up(note, health)  # the groups whose forward takes LONG_CALL_S even on its best count
    choices = probe.choose(default, asked)
    overhead = _overhead(clock)
    for item in items:
        item.number = block_size(min(item.warm), min_time, overhead)
        if item.group in long:  # every call counts: the probe's, or the warm-up's when on the count chosen
            threads = choices[item.group].threads
            pooled = probe.probes[item.group].get(threads, []) if item.key == "forward" else []
            item.samples = list(pooled or (item.warm if threads == probe.warm_threads else []))
            item.spent = sum(item.samples)
    quick = [i for i in items if i.group not in long]
    interrupted = bool(quick) and _rounds(quick, choices, min_time, False, clock, set_threads)
    remeasured = False
    troubles = {i.group for i in quick if troubled(_stats(i, choices, probe.floor(i)))}
    # measure again (every quick statement, so rounds stay paired), the troubled groups on one thread; a
    # count asked for is honoured, not re-tried
    if troubles and not interrupted and any(choices[g].asked is None for g in troubles):
        remeasured = True
        choices = [fallback(c) if g in troubles else c for g, c in enumerate(choices)]
        first = [(i.samples, i.spent) for i in quick]
        for item in quick:
            item.samples, item.spent = [], 0.0
        interrupted = _rounds(quick, choices, min_time, False, clock, set_threads, stoppable=False)
        if interrupted:  # keep the first measurement, complete
            for item, (samples, spent) in zip(quick, first):
                item.samples, item.spent = samples, spent
    slow = [i for i in items if i.group in long]
    if slow and not interrupted:  # a long group's other statements may still need a call
        stoppable = not all(i.samples for i in slow)
        interrupted = _rounds(slow, choices, min_time, True, clock, set_threads, stoppable=stoppable)
    set_threads(default)
    out = []
    for g, choice in enumerate(choices):
        stats = {i.key: _stats(i, choices, probe.floor(i), interleaved=g not in long) for i in items if i.group == g}
        out.append(GroupTiming(choice, stats, remeasured and g not in long, interrupted))
    return out


class _Probe:
    """Warm-up and thread probe: per group, per count, the forward's per-call seconds."""

    def __init__(self, items: list[_Item], counts: tuple[int, ...], warm_threads: int, clock, set_threads) -> None:
        self.items, self.counts, self.clock, self.set_threads = items, counts, clock, set_threads
        # Warm up on one thread unless asked: one thread is never far off, while two threads on busy cores
        # stalled a 2 ms forward to 336 ms (issue 12), and a long forward cannot be stopped once started.
        self.warm_threads = warm_threads
        self.forwards = [i for i in items if i.key == "forward"]
        self.probes: list[dict[int, list[float]]] = [{n: [] for n in counts} for _ in self.forwards]
        self.skipped: dict[int, float] = {}
        self.long: set[int] = set()
        self.threads: int | None = None

    def call(self, item: _Item, threads: int) -> float:
        self.set_threads(threads)
        self.threads = threads  # the count the last call ran on
        with item.statement.mode():
            start = self.clock()
            item.statement.fn()
            return self.clock() - start

    def warm_up(self, note, health) -> set[int]:
        """Warm up and probe; the groups whose forward is long (then the calls made are its runs)."""
        for item in self.items:  # the first call
            item.warm.append(self.call(item, self.warm_threads))
        long = self._long(note, health)
        quick = [f for f in self.forwards if f.group not in long]
        for f in quick:
            self.probes[f.group] = {n: [] for n in self.counts}  # calls above were first calls on their count
        for item in self.items:
            while item.group not in long and len(item.warm) < WARMUP_CALLS:
                item.warm.append(self.call(item, self.warm_threads))
        if not quick:
            return long
        k = probe_calls(max(min(f.warm) for f in quick), len(self.counts), len(quick))
        passes = min(PROBE_PASSES, k)
        for r in range(passes):  # k calls in all per count, in passes that alternate their order (1, 2 | 2, 1):
            # a steady change of load hits every count alike, and each count is switched to once, not once a
            # pass; a switch to more threads is where a busy machine stalls (0.05 to 0.9 s here, issue 21)
            for f in quick:
                for n in self.counts if r % 2 == 0 else self.counts[::-1]:
                    seen = self.probes[f.group][n]
                    target = -(-k * (r + 1) // passes)
                    if len(seen) < target and n != self.threads:
                        self.call(f, n)  # after a switch, threads of the other count may still spin: absorb it
                    while len(seen) < target:
                        seen.append(self.call(f, n))
        return long

    def _long(self, note, health) -> set[int]:
        """A first call over LONG_CALL_S: look again (cheaply), announce, try the other counts once each."""
        slow = [f for f in self.forwards if f.warm[0] >= LONG_CALL_S]
        for f in slow:  # a slow first call may be a stall: look again, where that is cheap enough
            if self.warm_threads != 1 and 1 in self.counts:  # threads asked may stall: one thread never far off
                self.probes[f.group][1].append(self.call(f, 1))
            elif f.warm[0] < RECHECK_BELOW_S:
                f.warm.append(self.call(f, self.warm_threads))
        slow = [f for f in slow if min([*f.warm, *self.probes[f.group].get(1, [])]) >= LONG_CALL_S]
        if not slow:
            return set()
        if health is not None:  # do not try a long forward on counts that stall a small matmul
            self.skipped = _unhealthy(health, [n for n in self.counts if n not in (1, self.warm_threads)])
        others = [n for n in self.counts
                  if n not in self.skipped and n != self.warm_threads and not self.probes[slow[0].group][n]]
        _announce(note, self.items, slow, others)
        for f in slow:
            for n in self.counts:
                if n == self.warm_threads:
                    self.probes[f.group][n].extend(f.warm)
                elif n not in self.skipped and not self.probes[f.group][n]:
                    self.probes[f.group][n].append(self.call(f, n))
            self.probes[f.group] = {n: s for n, s in self.probes[f.group].items() if n not in self.skipped}
        # long when even the quickest count takes LONG_CALL_S; else it is measured as a quick one
        self.long = {f.group for f in slow
                     if min([*f.warm, *sum(self.probes[f.group].values(), [])]) >= LONG_CALL_S}
        return self.long

    def choose(self, default: int, asked: int | None) -> list[ThreadChoice]:
        choices = [choose([Probe(n, tuple(s)) for n, s in p.items()], default=default, asked=asked)
                   for p in self.probes]
        return [replace(c, skipped=tuple(self.skipped.items())) if g in self.long and self.skipped else c
                for g, c in enumerate(choices)]

    def floor(self, item: _Item) -> float:
        """The quickest call of the statement seen before measuring (any count)."""
        seen = item.warm + (sum(self.probes[item.group].values(), []) if item.key == "forward" else [])
        return min(seen)


def _rounds(items: list[_Item], choices: list[ThreadChoice], min_time: float, long: bool, clock, set_threads,
            stoppable: bool = True) -> bool:
    """Measure round after round until :func:`enough`; True when Ctrl-C ended it after a full round.

    Blocks are timed as torch.utils.benchmark.Timer times them: timeit.Timer (gc off) on the statement.
    """
    timers = [timeit.Timer(stmt="fn()", globals={"fn": item.statement.fn}, timer=clock) for item in items]
    rounds, current = 0, None
    before = [len(i.samples) for i in items]  # a long forward's probe call may already count as its first run
    if long and all(before) and enough(1, [i.spent for i in items], min_time, long=True):
        return False
    try:
        while True:
            for item, timer in zip(items, timers):
                threads = choices[item.group].threads
                set_threads(threads)
                with item.statement.mode():
                    if current not in (None, threads) and not long:
                        item.statement.fn()  # threads of the other count may still spin: absorb it off the clock
                    block = max(timer.timeit(item.number), 1e-9)  # Timer's own floor: no division by zero
                current = threads
                item.samples.append(block / item.number)
                item.spent += block
            rounds += 1
            if enough(rounds, [i.spent for i in items], min_time, long=long):
                return False
    except KeyboardInterrupt:
        if rounds == 0 and stoppable:
            raise
        for item, n in zip(items, before):  # drop the unfinished round: every statement keeps the same rounds
            del item.samples[n + rounds:]
        return True


def _unhealthy(health: Callable[[int], float], counts: Sequence[int]) -> dict[int, float]:
    """The counts on which the small op ran SLOW_FACTOR times slower than on one thread, with the factor."""
    def median(n: int) -> float:
        return sorted(health(n) for _ in range(HEALTH_CALLS))[HEALTH_CALLS // 2]

    one = median(1)
    out = {}
    for n in counts:
        slow = median(n) / one if one > 0 else 1.0
        if slow >= SLOW_FACTOR:
            out[n] = slow
    return out


def _stats(item: _Item, choices: list[ThreadChoice], floor_s: float, interleaved: bool = True) -> Stats:
    return Stats(samples=tuple(item.samples), calls_per_run=item.number, threads=choices[item.group].threads,
                 floor_s=floor_s, interleaved=interleaved)


def _overhead(clock: Callable[[], float]) -> float:
    """What reading the clock twice costs: the floor under any block."""
    best = float("inf")
    for _ in range(5):
        start = clock()
        best = min(best, clock() - start)
    return max(best, 0.0)


def _announce(note, items: list[_Item], slow: list[_Item], others: Sequence[int]) -> None:
    """Say what a long timing will cost before spending it, and how to skip it.

    What is left: each slow forward once on each other count, and the other statements once each.
    """
    fwd = max(min(f.warm) for f in slow)
    extra = sum(min(f.warm) for f in slow) * len(others) + sum(i.warm[0] for i in items if i.key != "forward")
    counts = " and ".join(map(str, others))
    tries = f"; it is tried once on {counts} thread{'s' if others != [1] else ''} too" if others else ""
    text = (f"one forward takes {fwd:.2g} s, so it is timed once or twice, not {MIN_ROUNDS} times{tries}"
            + (f" (about {extra:.2g} s more)" if extra else "")
            + "; --no-time skips timing, --min-time SECONDS measures longer")
    if note is not None:
        note(text)
