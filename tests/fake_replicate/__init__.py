"""A faithful fake of Replicate's HTTP API for reval's tests. See server.py."""

from tests.fake_replicate.models import FakeModel, Reply, echo, llm_schema, tokens, version_id
from tests.fake_replicate.server import DEFAULT_TOKEN, FakeReplicate, RecordedRequest

__all__ = [
    "DEFAULT_TOKEN",
    "FakeModel",
    "FakeReplicate",
    "RecordedRequest",
    "Reply",
    "echo",
    "llm_schema",
    "tokens",
    "version_id",
]
