"""REPLICATE_BASE_URL, checked before anything is asked of Replicate.

Apart from the SDK's session so that loading a config (``reval validate --no-preflight``) does
not import it; httpx, which parses the URL, is imported only when the variable is set.
"""

from __future__ import annotations


def base_url_problem(value: str) -> str | None:
    """Why ``value`` cannot be the API's base URL (REPLICATE_BASE_URL), or None; "" is unset."""
    if not value.strip():
        return None
    import httpx

    try:
        url = httpx.URL(value.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        return f"is not a URL ({exc})"
    if url.scheme not in ("http", "https"):
        return "needs http:// or https:// before the host"
    if not url.host:
        return "has no host name"
    try:
        port = url.port
    except (httpx.InvalidURL, ValueError) as exc:
        return f"has a bad port ({exc})"
    if port is not None and not 0 < port < 65536:
        return f"has a port out of range ({port})"
    return None
