"""Reading a user's cash account."""

import uuid
from decimal import Decimal

from pydantic import BaseModel
from sqlmodel import Session

from models.account import Account, Position
from services.errors import DomainError


class Balances(BaseModel):
    cash: Decimal
    reserved_cash: Decimal

    @property
    def buying_power(self) -> Decimal:
        """Cash not reserved by resting buy orders."""
        return self.cash - self.reserved_cash


def balances(db: Session, user_id: uuid.UUID) -> Balances:
    account = db.get(Account, user_id)
    if account is None:
        raise DomainError("NOT_FOUND", "This user has no account.")
    return Balances(cash=account.cash, reserved_cash=account.reserved_cash)


class Holding(BaseModel):
    quantity: Decimal
    available: Decimal  # not reserved by resting sell orders


def holding(db: Session, user_id: uuid.UUID, symbol: str) -> Holding:
    position = db.get(Position, (user_id, symbol))
    if position is None:
        return Holding(quantity=Decimal(0), available=Decimal(0))
    return Holding(quantity=position.quantity, available=position.quantity - position.reserved_quantity)
