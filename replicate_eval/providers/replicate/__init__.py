"""Replicate providers: the SDK session, the prediction loop, and the text provider."""
