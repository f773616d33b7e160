"""The web UI's Content-Security-Policy, as CloudFront sends it in AWS (``infra/web.py``) and the
local gateway sends it (``local/static.py``).

A module of its own at the top level so that neither side imports the other: ``infra`` pulls in
the CDK, ``local`` the emulators.
"""

from __future__ import annotations

from collections.abc import Sequence


def content_security_policy(connect_origins: Sequence[str] = ()) -> str:
    """Scripts, styles and images only from the site; fetch() only to it and ``connect_origins``."""
    connect = " ".join(["'self'", *connect_origins])
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {connect}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "object-src 'none'",
        ]
    )
