"""reval: prompt evals for models hosted on Replicate.

The package follows the data: ``config`` (YAML → typed config) → ``plan`` (cells with rendered
prompts) → ``providers`` (predictions) → ``assertions`` (checks) → ``results`` → ``report``.
``runner`` drives the middle stages; ``cli`` is the only module that talks to the terminal.
"""

__version__ = "0.1.0"
