"""Building the provider objects for a run from their resolved configs, each by its type.

A plugin's provider is wrapped: whatever its own code raises becomes that cell's error (or,
while building, a config error naming the provider), never a traceback or a lost run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from replicate_eval.config.types import ProviderConfig
from replicate_eval.errors import CellError, ConfigError, ProviderError, RevalError
from replicate_eval.providers.base import Provider, ProviderResponse
from replicate_eval.providers.resources import RunResources
from replicate_eval.providers.types.registry import BUILT_IN, type_named


def build_providers(configs: Sequence[ProviderConfig], run: RunResources) -> dict[int, Provider]:
    """Providers keyed by their index in the config."""
    providers: dict[int, Provider] = {}
    for config in configs:
        provider_type = type_named(config.type_name)
        if provider_type in BUILT_IN:
            providers[config.index] = provider_type.build(config, run)
            continue
        try:
            built = provider_type.build(config, run)
        except RevalError:
            raise
        except Exception as exc:  # a plugin's code
            raise ConfigError(
                f"{config.where} (`{config.id}`): the provider plugin could not build it: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        timeout = config.timeout if config.timeout is not None else run.timeout
        providers[config.index] = GuardedProvider(built, config, timeout)
    return providers


class GuardedProvider:
    """A plugin's provider whose unexpected exceptions, exits and hangs (past the provider's
    or the run's timeout) are the cell's error."""

    def __init__(self, inner: Provider, config: ProviderConfig, timeout: float | None) -> None:
        self._inner = inner
        self._timeout = timeout
        self.id = config.id
        self.label = config.label

    def build_input(self, prompt: str) -> dict[str, Any]:
        try:
            return self._inner.build_input(prompt)
        except RevalError:
            raise
        except (Exception, SystemExit) as exc:
            raise CellError(f"the provider plugin's build_input raised {_named(exc)}") from None

    async def call(self, model_input: dict[str, Any]) -> ProviderResponse:
        started = time.perf_counter()
        # The plugin's call runs in this task, not one of its own (as asyncio.wait_for would
        # make on Python 3.10): a SystemExit in its code is raised here, not in the event loop.
        task = asyncio.current_task()
        timed_out = False

        def time_out() -> None:
            nonlocal timed_out
            timed_out = True
            if task is not None:
                task.cancel()

        timer = None
        if self._timeout is not None:
            timer = asyncio.get_running_loop().call_later(self._timeout, time_out)
        try:
            response = await self._inner.call(model_input)
        except asyncio.CancelledError:
            if not timed_out:
                raise  # the run is stopping
            uncancel = getattr(task, "uncancel", None)  # Python 3.11+: the cancel was ours
            if uncancel is not None:
                uncancel()
            raise ProviderError(
                f"the provider plugin did not answer within {self._timeout:g} s (the timeout)"
            ) from None
        except RevalError as exc:
            if isinstance(exc, ProviderError):
                raise
            raise ProviderError(str(exc)) from None
        except (Exception, SystemExit) as exc:
            raise ProviderError(f"the provider plugin raised {_named(exc)}") from None
        finally:
            if timer is not None:
                timer.cancel()
        if not isinstance(response, ProviderResponse) or not isinstance(response.output, str):
            elapsed = (time.perf_counter() - started) * 1000
            raise ProviderError(
                f"the provider plugin returned {type(response).__name__} after {elapsed:.0f} ms, "
                "not a ProviderResponse with text output"
            )
        return response


def _named(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
