"""Users and their login sessions."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, StringConstraints
from pydantic import Field as PydanticField
from pydantic.alias_generators import to_camel
from sqlalchemy import Index, text
from sqlmodel import Field

from models.row import Row
from models.types import UTCDateTime, utcnow


class User(Row, table=True):
    __tablename__ = "users"
    # Emails are unique whatever their case; the service also stores them lower-cased.
    __table_args__ = (Index("uq_users_email_lower", text("lower(email)"), unique=True),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(max_length=320)
    display_name: str = Field(max_length=100)
    password_hash: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LoginSession(Row, table=True):
    """A login; only the SHA-256 of its token is stored, so a database leak hands out no sessions."""

    __tablename__ = "sessions"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    # The login's time, kept by every refresh of its token (a chain of refreshes ends auth.CHAIN_LIFETIME after it).
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    user_agent: str | None = Field(default=None, max_length=300)  # as the browser named itself at login
    client_address: str | None = Field(default=None, max_length=64)


# Text that is stored or looked up: no control characters (PostgreSQL cannot even hold a NUL in text).
PlainText = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]*$")]


class CamelModel(BaseModel):
    """Request and response shapes speak camelCase, as the contract does."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class UserCreate(CamelModel):
    email: EmailStr = PydanticField(max_length=320)
    password: str = PydanticField(min_length=8, max_length=1024)
    display_name: PlainText | None = PydanticField(None, max_length=100)


class LoginRequest(CamelModel):
    email: PlainText = PydanticField(max_length=320)
    password: str = PydanticField(max_length=1024)


class PasswordChange(CamelModel):
    current_password: str = PydanticField(max_length=1024)
    new_password: str = PydanticField(min_length=8, max_length=1024)


class SessionPublic(CamelModel):
    id: str
    created_at: datetime
    expires_at: datetime
    current: bool
    browser: str  # e.g. "Chrome on Linux", read from the User-Agent of the login
    address: str | None  # where the login came from


class SessionList(CamelModel):
    sessions: list[SessionPublic]


class UserPublic(CamelModel):
    id: uuid.UUID
    email: str
    display_name: str
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> "UserPublic":
        return cls(id=user.id, email=user.email, display_name=user.display_name, created_at=user.created_at)


class UserEnvelope(CamelModel):
    user: UserPublic


class LoginResult(CamelModel):
    token: str
    user: UserPublic
    expires_at: datetime
