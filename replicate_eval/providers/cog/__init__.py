"""`cog:` providers: Cog model servers, started locally or already running."""
