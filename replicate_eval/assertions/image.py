"""Checks on the images an image model made: their dimensions, format and number.

Dimension and format checks apply to every image of the cell. A cell without images cannot be
judged by them: that is an assertion problem (never turned into a pass by `not-`), whereas
`image-count` counts zero like any other number.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from replicate_eval.assertions.base import (
    AssertionProblem,
    AssertionSpec,
    CheckContext,
    InvalidAssertion,
    Outcome,
)
from replicate_eval.errors import CheckError
from replicate_eval.media import SavedImage
from replicate_eval.templating import may_be_template

DIMENSION_KEYS = ("width", "height", "min_width", "min_height", "max_width", "max_height")
FORMATS = ("png", "jpeg", "webp", "gif")
_FORMAT_ALIASES = {"jpg": "jpeg"}
COUNT_KEYS = ("min", "max")


def _whole_number(key: str, value: Any) -> int:
    """A whole number from the config (or from a rendered `<<var>>`, which is text)."""
    if isinstance(value, bool):
        raise CheckError(f"`{key}` must be a whole number, got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise CheckError(f"`{key}` must be a whole number, got {value!r}") from None
    if number < 0 or (isinstance(value, float) and value != number):
        raise CheckError(f"`{key}` must be a whole number >= 0, got {value!r}")
    return number


def _bounds(value: Any, keys: tuple[str, ...], example: str) -> None:
    """Check a mapping of limits at load time; templated values are checked once rendered."""
    if not isinstance(value, Mapping) or not value:
        raise InvalidAssertion("value", f"needs a mapping such as `{example}`")
    unknown = [str(key) for key in value if key not in keys]
    if unknown:
        allowed = ", ".join(f"`{key}`" for key in keys)
        raise InvalidAssertion("value", f"unknown key `{unknown[0]}`; use {allowed}")
    if any(isinstance(item, str) and may_be_template(item) for item in value.values()):
        return
    try:
        _numbers(value)
    except AssertionProblem as exc:
        raise InvalidAssertion("value", str(exc)) from None


# --- image-dimensions ------------------------------------------------------------------------
def prepare_dimensions(value: Any, base_dir: Path) -> None:
    _bounds(value, DIMENSION_KEYS, "{width: 1024, height: 1024}")


def image_dimensions(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    images = _images(ctx)
    limits = _numbers(value)
    for number, image in enumerate(images, start=1):
        for key, limit in limits.items():
            side = key.removeprefix("min_").removeprefix("max_")
            actual = image.width if side == "width" else image.height
            low, high = key.startswith("min_"), key.startswith("max_")
            if (
                (low and actual < limit)
                or (high and actual > limit)
                or (not low and not high and actual != limit)
            ):
                wanted = {True: "at least ", False: ""}[low] + ("at most " if high else "")
                return Outcome(
                    False,
                    f"{_which(number, image, images)} is {image.dimensions}: "
                    f"{side} {actual}, expected {wanted}{limit}",
                )
    sizes = sorted({image.dimensions for image in images})
    return Outcome(True, f"{_all(images)} {' / '.join(sizes)}, as expected ({_spec(limits)})")


# --- image-format ----------------------------------------------------------------------------
def _formats(names: list[str]) -> tuple[str, ...]:
    formats = []
    for name in names:
        normal = _FORMAT_ALIASES.get(name.lower().strip(), name.lower().strip())
        if normal not in FORMATS:
            raise CheckError(f"unknown image format `{name}`; use {', '.join(FORMATS)}")
        formats.append(normal)
    return tuple(formats)


def prepare_format(value: Any, base_dir: Path) -> None:
    if any(may_be_template(name) for name in value):
        return
    try:
        _formats(value)
    except CheckError as exc:
        raise InvalidAssertion("value", str(exc)) from None


def image_format(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    images = _images(ctx)
    try:
        allowed = _formats(value)
    except CheckError as exc:
        raise AssertionProblem(str(exc)) from None
    expected = " or ".join(allowed)
    for number, image in enumerate(images, start=1):
        if image.format not in allowed:
            return Outcome(
                False, f"{_which(number, image, images)} is {image.format}, expected {expected}"
            )
    found = sorted({image.format for image in images})
    return Outcome(True, f"{_all(images)} {' / '.join(found)} (expected {expected})")


# --- image-count -----------------------------------------------------------------------------
def prepare_count(value: Any, base_dir: Path) -> None:
    if isinstance(value, Mapping):
        _bounds(value, COUNT_KEYS, "{min: 1, max: 4}")
        return
    if not (isinstance(value, str) and may_be_template(value)):
        try:
            _whole_number("value", value)
        except CheckError as exc:
            raise InvalidAssertion(
                "value", f"{exc}; or give a mapping such as `{{min: 1, max: 4}}`"
            ) from None


def image_count(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    count = len(ctx.images)
    if isinstance(value, Mapping):
        limits = _numbers(value)
        low, high = limits.get("min", 0), limits.get("max")
        passed = count >= low and (high is None or count <= high)
        return Outcome(passed, f"{_images_word(count)} (expected {_spec(limits)})")
    try:
        wanted = _whole_number("value", value)
    except CheckError as exc:
        raise AssertionProblem(str(exc)) from None
    return Outcome(count == wanted, f"{_images_word(count)} (expected {wanted})")


def valid_images(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    """At least one image, each downloaded and read as a picture (promptfoo's Replicate image
    example asserts `is-valid-openai-image-format`, a type promptfoo itself does not define:
    reval reads it as this check)."""
    if not ctx.images:
        return Outcome(False, "the output has no images")
    formats = sorted({image.format for image in ctx.images})
    return Outcome(True, f"{_images_word(len(ctx.images))}, read as {', '.join(formats)}")


# --- helpers ---------------------------------------------------------------------------------
def _images(ctx: CheckContext) -> tuple[SavedImage, ...]:
    if not ctx.images:
        raise AssertionProblem(
            "the output has no images to check (image assertions apply to "
            "`replicate:image:` providers)"
        )
    return ctx.images


def _numbers(value: Mapping[str, Any]) -> dict[str, int]:
    """The limits as whole numbers, with every ``min`` at most its ``max``."""
    try:
        numbers = {key: _whole_number(key, item) for key, item in value.items()}
    except CheckError as exc:
        raise AssertionProblem(str(exc)) from None
    for key, low in numbers.items():
        if key.startswith("min"):
            high_key = "max" + key.removeprefix("min")
            high = numbers.get(high_key)
            if high is not None and low > high:
                raise AssertionProblem(f"`{key}` {low} is more than `{high_key}` {high}")
    return numbers


def _which(number: int, image: SavedImage, images: tuple[SavedImage, ...]) -> str:
    return f"image {number} ({image.file.name})" if len(images) > 1 else "the image"


def _all(images: tuple[SavedImage, ...]) -> str:
    return "the image is" if len(images) == 1 else f"all {len(images)} images are"


def _images_word(count: int) -> str:
    return f"{count} image" + ("" if count == 1 else "s")


def _spec(limits: Mapping[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in limits.items())
