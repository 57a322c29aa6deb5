"""Staff: social workers who fill in applications with applicants, and administrators."""

from .views import init_app

__all__ = ["init_app"]
