"""A faithful fake of Replicate's HTTP API for reval's tests. See server.py."""

from tests.fake_replicate.files import File, image_file, picture, redirect
from tests.fake_replicate.models import (
    FakeModel,
    Reply,
    cog_schema,
    echo,
    flaky,
    flux_schnell_schema,
    image_model,
    llm_schema,
    sdxl_schema,
    tokens,
    version_id,
)
from tests.fake_replicate.server import DEFAULT_TOKEN, FakeReplicate, RecordedRequest

__all__ = [
    "DEFAULT_TOKEN",
    "FakeModel",
    "FakeReplicate",
    "File",
    "RecordedRequest",
    "Reply",
    "cog_schema",
    "echo",
    "flaky",
    "flux_schnell_schema",
    "image_file",
    "image_model",
    "llm_schema",
    "picture",
    "redirect",
    "sdxl_schema",
    "tokens",
    "version_id",
]
