"""Provider types: one per provider id scheme (``replicate:``, ``replicate:image:``,
``replicate:deployment:``, ``cog:`` folders and servers, and plugins'), each owning how its id
is parsed, its options, what it can do and how it is built. ``registry`` maps ids to types."""
