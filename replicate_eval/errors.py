"""Every error reval raises on purpose.

    RevalError                  a problem the user can fix; ``str(error)`` is one paragraph
    ├── ConfigError             the YAML, a file it names, or an environment variable   (exit 2)
    │   ├── YamlError           config.yaml_source: a YAML file that cannot be parsed
    │   ├── Refused             config.yaml_loader: a YAML file refused whole (a limit, a tag)
    │   ├── UnreadableFile      config.text_files: a file that cannot be read as text
    │   ├── GlobTooWide         config.file_glob: a pattern that would walk too many entries
    │   ├── BadJson             config.json_values: a JSON test file reval does not accept
    │   ├── BadExpected         config.csv_expected: an ``__expected`` cell naming no assertion
    │   ├── ProviderProblems    config.providers: a provider entry's problems, all of them
    │   ├── InvalidProviderId   providers.types.base: an id no provider type takes, or refuses
    │   ├── PreflightFailed     api: inputs a model would refuse; nothing was run
    │   ├── CacheUnavailable    api: the response cache asked for cannot be opened
    │   └── InvalidAssertion    assertions.base: an assertion that is malformed in the config
    ├── UsageError              command-line options that do not fit together            (exit 2)
    │   └── UnknownRun          history.refs: a REF that names no run, or several
    ├── StoreError              history.store: the run store cannot be opened, read or written
    ├── CheckError              an assertion's value its check cannot use (a bad number, format)
    ├── AssertionProblem        assertions.base: a check could not judge the output (it fails)
    │   └── JudgeUnavailable    the model judging it could not be asked: the cell is an error
    ├── NotACache               cache_repair: a database reval did not write, set aside
    └── CellError               one cell could not produce an output; the run goes on
        ├── TemplateError       a prompt or assertion value could not be rendered
        ├── TransformFailed     transforms: the config's output transform failed
        └── ProviderError       the provider could not produce an output
            ├── PredictionError the prediction ran and ended failed, canceled or aborted
            ├── ApiError        Replicate answered with an HTTP error (problem details)
            ├── NetworkError    Replicate could not be reached
            └── DownloadError   providers.images: an output that could not be saved as an image

Most are caught where they are raised and become a ``ConfigError`` with a location, a failed
assertion or a cell's error. Not in the tree, on purpose (tests/structure/test_errors.py says
why): private signals that never leave their module, and ``usercode.worker.CheckProblem``,
defined in a process that imports nothing of reval's.

The core raises these and never prints; ``cli`` turns them into messages and exit codes. The
public ones are exported from the package root (``replicate_eval.ConfigError``...).
"""

from __future__ import annotations

from typing import Any


class RevalError(Exception):
    """Base class: the message is written for the person running reval."""


class ConfigError(RevalError):
    """The config file, a file it references, or an environment variable is wrong."""


class UsageError(RevalError):
    """Command-line options are wrong or contradict each other."""


class CheckError(RevalError):
    """An assertion's value is not one its check can use; the caller says which assertion."""


class CellError(RevalError):
    """One cell (test x prompt x provider) failed to produce an output."""


class TemplateError(CellError):
    """A template could not be rendered for a test, typically because a var is missing."""


class ProviderError(CellError):
    """A provider call failed. Carries what is known about the prediction, if one was made."""

    def __init__(
        self,
        message: str,
        *,
        prediction_id: str | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.prediction_id = prediction_id
        self.metrics = metrics or {}


class PredictionError(ProviderError):
    """The prediction reached a terminal status other than ``succeeded``."""

    def __init__(
        self,
        message: str,
        *,
        status: str,
        prediction_id: str | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, prediction_id=prediction_id, metrics=metrics)
        self.status = status


class ApiError(ProviderError):
    """Replicate answered with an HTTP error status."""

    # Statuses that will be the same for every call of a provider: after one, the provider's
    # remaining cells are reported with the same error instead of repeating the request.
    PROVIDER_WIDE = frozenset({401, 402, 403, 404})

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        prediction_id: str | None = None,
        detail: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, prediction_id=prediction_id)
        self.status = status
        self.detail = detail  # Replicate's own words, e.g. the rate a 429 names
        self.retry_after = retry_after  # seconds, from a 429's body or Retry-After header

    @property
    def provider_wide(self) -> bool:
        return self.status in self.PROVIDER_WIDE

    @property
    def transient(self) -> bool:
        """Worth trying again: the server failed, not the request."""
        return self.status is not None and self.status >= 500


class NetworkError(ProviderError):
    """The request did not get an HTTP answer (connection refused, timeout, DNS...)."""

    def __init__(
        self, message: str, *, before_sending: bool = False, prediction_id: str | None = None
    ) -> None:
        super().__init__(message, prediction_id=prediction_id)
        # True when the request certainly never reached the server (a refused connection).
        self.before_sending = before_sending
