"""Settings from the environment, read once by the composition root and passed down.

Nothing else reads ``os.environ``: tests and tools build :class:`Settings` directly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///./var/filingflow.db"
DEV_AUDIT_KEY = "filingflow-development-audit-key-do-not-use-in-production"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    audit_key: str = DEV_AUDIT_KEY
    database_url_from_env: bool = False

    @property
    def audit_key_is_default(self) -> bool:
        return self.audit_key == DEV_AUDIT_KEY

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        url = env.get("FILINGFLOW_DATABASE_URL", "").strip()
        return cls(
            database_url=url or DEFAULT_DATABASE_URL,
            audit_key=env.get("FILINGFLOW_AUDIT_KEY", "").strip() or DEV_AUDIT_KEY,
            database_url_from_env=bool(url),
        )
