"""The people stages, one per module: ``faces`` (characters) and ``speakers`` (voices).
Importing this package registers them both."""

from people.stages import faces, speakers  # noqa: F401
