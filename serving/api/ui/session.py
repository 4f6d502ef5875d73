"""The web page's login: a cookie that proves the API token was typed, without holding it.

When the workspace has an API token (``CRMID_API_TOKEN``), the page asks for it once
(``/ui/login``) and then keeps an HTTP-only, ``SameSite=Strict`` cookie whose value is an
HMAC-SHA256 keyed by the token. The token itself never goes into the cookie, a script on the page
cannot read the cookie, another site cannot make the browser send it, and changing the token
ends every session.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from pydantic import SecretStr

__all__ = ["COOKIE", "LOGIN_PATH", "safe_next", "session_value", "token_matches", "valid_session"]

#: the session cookie's name
COOKIE = "crmid_session"
#: where the page asks for the token
LOGIN_PATH = "/ui/login"
#: the page's own paths: the only places a login may send the browser on to
_HOME = "/ui"
#: what the HMAC signs: fixed, so the cookie depends on the token alone; versioned so that a
#: change of the scheme ends the sessions made by the old one
_MESSAGE = b"crmid web page session v1"


def session_value(token: SecretStr) -> str:
    """The cookie value for ``token``: HMAC-SHA256 of a fixed message, keyed by the token, in hex."""
    return hmac.new(token.get_secret_value().encode(), _MESSAGE, hashlib.sha256).hexdigest()


def valid_session(token: SecretStr | None, cookie: str | None) -> bool:
    """Whether ``cookie`` is the session of ``token``; always True when the service has no token."""
    if token is None:
        return True
    return hmac.compare_digest((cookie or "").encode(), session_value(token).encode())


def token_matches(token: SecretStr, given: str) -> bool:
    """Whether ``given`` is the token (compared in constant time)."""
    return hmac.compare_digest(given.encode(), token.get_secret_value().encode())


def safe_next(target: str | None) -> str:
    """Where to go after the login: ``target`` when it is a path of the page, else the page itself.

    Anything with a scheme or a host (``https://elsewhere``, ``//elsewhere``) is refused, so the
    login cannot be used to send someone off-site.
    """
    if not target:
        return _HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return _HOME
    if parts.path != _HOME and not parts.path.startswith(_HOME + "/"):
        return _HOME
    return target
