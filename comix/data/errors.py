"""The one exception type of the data package.

Every reader, validator and writer raises :class:`DataError` for a problem with user data or a
dataset description, with a message that names the file and says what was found and what was
expected. It subclasses ``ValueError`` so callers that already catch ``ValueError`` keep working.
"""

from __future__ import annotations

from comix.errors import BadInputError


class DataError(BadInputError):
    """A data file or dataset description is missing, malformed or inconsistent."""
