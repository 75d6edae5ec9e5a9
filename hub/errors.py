"""Every error the hub raises on purpose, mapped to an HTTP answer in one place (``hub.app``).

HubError
├── SettingsError        a setting in the environment or .env cannot be used        (startup)
├── SchemaOutdated       the database schema is older than the code: hub migrate    (startup)
├── BadRequest           the body is not JSON, or a field has the wrong type        400
├── NotFound             no execution, workflow or file with that id                404
├── Conflict             the execution is in a state that does not allow this      409
├── PayloadTooLarge      a body is larger than HUB_MAX_BODY_MB (HUB_MAX_UPLOAD_MB)  413
├── UnsupportedMediaType a JSON route got a body that is not application/json       415
├── InvalidRequest       the request or workflow has problems, each with its path   422
├── FileStoreError       the file store (a folder or S3) refused or did not answer  503
│   └── MissingBlob      a recorded upload's bytes are not in the file store
├── LeaseLost            another worker owns the execution now (internal)
└── StorageUnavailable   the database did not answer; the write was not confirmed   503
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a request, at a path such as ``nodes[3].config.url``."""

    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class HubError(Exception):
    """Root of the hub's errors; ``status`` is the HTTP answer when one reaches a client."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SettingsError(HubError):
    """Raised when a setting cannot be used; the message names the variable."""


class SchemaOutdated(HubError):
    """Raised at start-up when the database's schema is older than the code; the message says to run
    ``hub migrate``."""


class BadRequest(HubError):
    """Raised when a request body is not what the endpoint reads at all (not JSON, not an object)."""

    status = 400


class NotFound(HubError):
    """Raised when an execution, workflow or file does not exist (or is not the organization's)."""

    status = 404


class Conflict(HubError):
    """Raised when an execution's state does not allow the call, such as cancelling a finished one."""

    status = 409


class PayloadTooLarge(HubError):
    """Raised when a request body or an upload is larger than the configured limit."""

    status = 413


class UnsupportedMediaType(HubError):
    """Raised when a route that reads JSON is sent a body with another Content-Type."""

    status = 415


class InvalidRequest(HubError):
    """Raised with every problem found in a request or workflow, so the client can fix them all at once."""

    status = 422

    def __init__(self, message: str, problems: Sequence[Problem]) -> None:
        super().__init__(message)
        self.problems = list(problems)


class FileStoreError(HubError):
    """Raised when the file store cannot keep or give back bytes; the message names the store, never a secret."""

    status = 503


class MissingBlob(FileStoreError):
    """Raised when the bytes under a key are not in the file store (deleted, or another store configured)."""

    status = 404


class LeaseLost(HubError):
    """Raised to a worker whose lease on an execution has passed to another worker; it must stop writing."""


class StorageUnavailable(HubError):
    """Raised when the database cannot be reached or the connection broke; a write it stopped was not confirmed."""

    status = 503
