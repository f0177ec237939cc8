"""plait: late-interaction (ColBERT) retrieval with a PyLate-compatible API."""


def _installed_version() -> str:
    """Return the version pip installed (pyproject's ``version`` is the one place it is written)."""
    from importlib import metadata

    try:
        return metadata.version("plait")
    except metadata.PackageNotFoundError:  # a source tree on sys.path, never installed: no metadata
        return "0+unknown"


__version__ = _installed_version()
