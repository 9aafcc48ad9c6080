"""Stopping a run from outside: Ctrl-C, SIGTERM and SIGHUP, while ``evaluate()`` runs on the
main thread. The first stops the run cleanly (results so far kept); a second stops at once."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

_T = TypeVar("_T")


async def with_stop_signals(
    work: Callable[[asyncio.Event], Awaitable[_T]],
    on_first: Callable[[], None],
    on_second: Callable[[], None],
) -> _T:
    """Run ``work`` with Ctrl-C handled: the first sets its stop event (and calls
    ``on_first``), a second calls ``on_second``. SIGTERM (a CI timeout, `kill`) and SIGHUP (a
    closed terminal) count too. Off the main thread no handler can be installed: none is."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_interrupt() -> None:
        if stop.is_set():
            on_second()
            return
        stop.set()
        on_first()

    numbers = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {number: signal.getsignal(number) for number in numbers}
    installed: list[signal.Signals] = []
    try:
        for number in numbers:
            loop.add_signal_handler(number, on_interrupt)
            installed.append(number)
    except (RuntimeError, ValueError):
        pass  # not the main thread (reval embedded in another program): no handlers
    try:
        return await work(stop)
    finally:
        for number in installed:
            loop.remove_signal_handler(number)
            # asyncio puts the defaults back: restore what the program had (the CLI's quiet
            # stop handlers, a notebook's own).
            handler = previous[number]
            if handler is not None:
                signal.signal(number, handler)


def second_interrupt() -> None:
    from replicate_eval.providers.cog.server import kill_all_now

    kill_all_now()  # no local model server outlives the program
    raise KeyboardInterrupt


def run_until_stopped(
    work: Callable[[asyncio.Event], Awaitable[_T]],
    on_first: Callable[[], None],
    on_second: Callable[[], None],
) -> _T:
    """``asyncio.run`` of ``with_stop_signals``, with the result kept out of the main task.

    asyncio.run's SIGINT handler is a partial holding the main task; the signal module, asked
    for the current handler, builds the repr of that partial, which shows the task's result.
    For a RunResult of 2,000 cells that repr took a quarter of a second (make bench).
    """
    outcome: list[_T] = []

    async def main() -> None:
        outcome.append(await with_stop_signals(work, on_first, on_second))

    asyncio.run(main())
    return outcome[0]
