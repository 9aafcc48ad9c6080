"""The provider stage: turn a rendered prompt into a model input and get an output.

``types`` says which kind of provider an id names; ``build`` makes the run's provider objects;
``replicate`` and ``cog`` call the models."""
