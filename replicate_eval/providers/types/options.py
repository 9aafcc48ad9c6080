"""The options each provider type takes (pydantic models: validation, and the descriptions
``reval schema`` shows). Keys a model does not declare pass through as model inputs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from replicate_eval.config.schema import StrictModel


class PromptAffixes(StrictModel):
    prefix: str = Field(default="", description="text put before every rendered prompt")
    suffix: str = Field(default="", description="text put after every rendered prompt")


class ProviderOptions(BaseModel):
    """Options every provider takes. Unknown keys are model inputs, sent as is."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    apiKey: str | None = Field(
        default=None,
        description="this provider's Replicate API token (default: REPLICATE_API_TOKEN)",
    )
    prompt: PromptAffixes | None = Field(
        default=None, description="`prefix` and `suffix` wrapped around every prompt"
    )
    timeout: float | None = Field(
        default=None,
        gt=0,
        description="reval's, not the model's: seconds before reval cancels a prediction "
        "(overrides --timeout)",
    )
    prompt_input: str = Field(
        default="prompt",
        min_length=1,
        description="reval's: the model input that receives the prompt "
        "(replicate/hello-world calls it `text`)",
    )
    concurrency: int | None = Field(
        default=None,
        ge=1,
        description="reval's, for `cog:` servers: predictions they run at once (Cog's default "
        "is one)",
    )


# Options that configure reval, never sent to the model.
REVAL_OPTIONS = frozenset(ProviderOptions.model_fields)


# promptfoo's documented options of its Replicate text provider (site/docs/providers/replicate.md).
class ReplicateTextOptions(ProviderOptions):
    """Options of a ``replicate:`` text provider (promptfoo's list), typed."""

    temperature: float | None = Field(default=None, description="sampling temperature")
    max_length: int | None = Field(default=None, description="maximum output length in tokens")
    max_new_tokens: int | None = Field(default=None, description="maximum tokens to generate")
    top_p: float | None = Field(default=None, description="nucleus sampling: probability mass")
    top_k: int | None = Field(default=None, description="sample from the k likeliest tokens")
    repetition_penalty: float | None = Field(default=None, description="penalty for repeats")
    system_prompt: str | None = Field(default=None, description="the model's system prompt")
    stop_sequences: str | list[str] | None = Field(
        default=None, description="text that ends the output (comma-separated or a list)"
    )
    seed: int | None = Field(default=None, description="random seed, for repeatable outputs")


# promptfoo's documented SDXL options of its Replicate image provider.
class ReplicateImageOptions(ProviderOptions):
    """Options of a ``replicate:image:`` provider (promptfoo's SDXL list), typed.

    Unlike promptfoo, nothing has a default here: a model gets only the inputs the user set.
    """

    width: int | None = Field(default=None, description="image width in pixels")
    height: int | None = Field(default=None, description="image height in pixels")
    refine: str | None = Field(default=None, description="SDXL's refiner style")
    apply_watermark: bool | None = Field(default=None, description="SDXL's invisible watermark")
    num_inference_steps: int | None = Field(default=None, description="denoising steps")
