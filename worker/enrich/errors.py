"""Why an input was rejected: a machine-readable reason and a human-readable detail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

INVALID_UTF8: Final = "invalid_utf8"
INVALID_JSON: Final = "invalid_json"
NOT_AN_OBJECT: Final = "not_an_object"
MISSING_BODY: Final = "missing_body"
BODY_NOT_STRING: Final = "body_not_string"
EMPTY_BODY: Final = "empty_body"
TOO_LARGE: Final = "too_large"
BAD_FIELD: Final = "bad_field"
# Used by the streaming shell when the core itself fails; the core never returns it.
INTERNAL_ERROR: Final = "internal_error"
# Also the shell's: an output over the output size limit, an article over its time budget.
OUTPUT_TOO_LARGE: Final = "output_too_large"
TIMEOUT: Final = "timeout"

REASONS: Final = (
    INVALID_UTF8,
    INVALID_JSON,
    NOT_AN_OBJECT,
    MISSING_BODY,
    BODY_NOT_STRING,
    EMPTY_BODY,
    TOO_LARGE,
    BAD_FIELD,
    INTERNAL_ERROR,
    OUTPUT_TOO_LARGE,
    TIMEOUT,
)


@dataclass(frozen=True, slots=True)
class Rejection:
    """An input the core will not enrich.

    Attributes:
        reason: one of :data:`REASONS`, stable for dashboards and dead-letter routing.
        detail: a short explanation for people, e.g. ``"byte 0xff at offset 12"``.
    """

    reason: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "detail": self.detail}
