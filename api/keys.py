"""`/api/keys`: a user's API keys: create (the secret is shown once), list, delete. Managing keys needs a session."""

import uuid

from fastapi import APIRouter, Response, status

from api.deps import CurrentUser, DbDep
from api.errors import documented
from models.api_key import ApiKeyCreate, ApiKeyCreated, ApiKeyList
from models.types import utcnow
from services import runtime
from services.infra.errors import DomainError
from services.trading import accounts, api_keys

router = APIRouter(prefix="/api/keys", tags=["keys"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=documented(400, 401, 403, 404, 409))
def create_key(body: ApiKeyCreate, user: CurrentUser, db: DbDep) -> ApiKeyCreated:
    """A new key pair acting on one of your accounts (`accountId`, else the default); the secret is shown only
    in this answer (at most 20 keys)."""
    account = accounts.owned(db, user_id=user.id, account_id=body.account_id, lock=True)
    key, secret = api_keys.create(db, user_id=user.id, account_id=account.id, name=body.name, now=utcnow())
    return ApiKeyCreated(key=key, secret=secret)


@router.get("", responses=documented(401, 403))
def list_keys(user: CurrentUser, db: DbDep) -> ApiKeyList:
    """Your live keys, newest first; never a secret. `lastUsedAt` may lag by up to a minute."""
    return ApiKeyList(keys=api_keys.list_keys(db, user.id))


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT, responses=documented(401, 403, 404))
def delete_key(key_id: str, user: CurrentUser, db: DbDep) -> Response:
    """Delete a key (by its `id`): it stops working on every instance at once and its sockets close."""
    rt = runtime.current()
    api_keys.delete(db, rt.cache, rt.bus, user_id=user.id, key=_key(key_id), now=utcnow())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _key(text: str) -> uuid.UUID:
    """An id that cannot name a key is answered like one that names nobody's."""
    try:
        return uuid.UUID(text)
    except ValueError:
        raise DomainError("KEY_NOT_FOUND", "There is no such API key.") from None
