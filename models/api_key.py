"""API keys: a key pair that lets a bot trade one of its user's accounts without the user's password or session."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints
from sqlalchemy import Index
from sqlmodel import Field

from models.row import Row
from models.types import UTCDateTime, utcnow
from models.user import CamelModel, PlainText


class ApiKey(Row, table=True):
    """Only a hash of the secret is stored; a revoked key keeps its row (and the time it died)."""

    __tablename__ = "api_keys"
    __table_args__ = (
        Index("uq_api_keys_key_id", "key_id", unique=True),
        Index("ix_api_keys_user", "user_id"),
        Index("ix_api_keys_account", "account_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    account_id: uuid.UUID = Field(foreign_key="accounts.id", ondelete="CASCADE")
    name: str = Field(max_length=50)
    key_id: str = Field(max_length=20)
    secret_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


KeyName = Annotated[PlainText, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


class ApiKeyCreate(CamelModel):
    name: KeyName
    account_id: uuid.UUID | None = None


class ApiKeyPublic(CamelModel):
    id: uuid.UUID
    name: str
    key_id: str
    account_id: uuid.UUID
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> "ApiKeyPublic":
        return cls.model_validate(key, from_attributes=True)


class ApiKeyCreated(CamelModel):
    key: ApiKeyPublic
    secret: str  # shown in this answer only


class ApiKeyList(CamelModel):
    keys: list[ApiKeyPublic]
