"""The HTTP service: ``create_app(settings)`` builds the FastAPI application.

Exports
-------
create_app
"""

from .main import create_app

__all__ = ["create_app"]
