"""ctk's settings from the environment: every ``CTK_*`` variable, typed, in one place.

Only the command line (:mod:`ctk.cli`) reads the environment, through
:class:`CtkSettings`; it passes typed values down to the library, which never
reads ``os.environ``. A Python user passes the same values explicitly (or builds
``CtkSettings()`` to read them the way the CLI does).

Variables:

* ``CTK_KG_STORE``: the default knowledge graph of ``ctk kg`` commands;
* ``CTK_NEO4J_USER``, ``CTK_NEO4J_PASSWORD``, ``CTK_NEO4J_DATABASE``: Neo4j login;
* ``CTK_NEO4J_ADMIN``: how to run ``neo4j-admin`` (a path or a command line) for ``ctk kg load``;
* ``CTK_OPENAI_BASE_URL``: the OpenAI-compatible API root of the teacher;
* ``CTK_OPENAI_API_KEY`` (else ``OPENAI_API_KEY``): its API key.

Secrets are :class:`~pydantic.SecretStr`: printing the settings never shows them.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["CtkSettings"]


class CtkSettings(BaseSettings):
    """Settings read from ``CTK_*`` environment variables (see the module docstring)."""

    model_config = SettingsConfigDict(env_prefix="CTK_", extra="ignore", populate_by_name=True)

    kg_store: str = "kg.db"
    neo4j_user: str | None = None
    neo4j_password: SecretStr | None = Field(default=None, repr=False)
    neo4j_database: str | None = None
    neo4j_admin: str | None = None
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = Field(
        default=None,
        repr=False,
        validation_alias=AliasChoices("CTK_OPENAI_API_KEY", "OPENAI_API_KEY"),
    )

    @field_validator(
        "neo4j_user",
        "neo4j_password",
        "neo4j_database",
        "neo4j_admin",
        "openai_base_url",
        "openai_api_key",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value
