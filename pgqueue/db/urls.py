"""Database URLs in the two spellings pgqueue's libraries want."""

from __future__ import annotations


def libpq_url(url: str) -> str:
    """psycopg wants `postgresql://`; SQLAlchemy users often write `postgresql+psycopg://`."""
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def sqlalchemy_url(url: str) -> str:
    """SQLAlchemy picks psycopg (v3) only when told; a bare URL would ask for psycopg2."""
    return "postgresql+psycopg://" + libpq_url(url)[len("postgresql://") :]
