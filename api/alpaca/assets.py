"""`GET /v2/assets` and `GET /v2/assets/{symbol_or_asset_id}`: Sherwood's listed symbols as US equities."""

from typing import Annotated

from fastapi import APIRouter, Query

from api.alpaca.errors import not_found
from api.alpaca.shapes import EXCHANGE, Asset, listing_by_id
from api.deps import CurrentCaller
from services.market import symbols

router = APIRouter()


@router.get("/v2/assets")
def list_assets(
    _caller: CurrentCaller,
    status: Annotated[str | None, Query()] = None,
    asset_class: Annotated[str | None, Query()] = None,
    exchange: Annotated[str | None, Query()] = None,
) -> list[Asset]:
    """Every listed symbol is an active, tradable, fractionable US equity; other filters match nothing."""
    if (status or "active").lower() != "active" or (asset_class or "us_equity").lower() != "us_equity":
        return []
    if exchange and exchange.upper() != EXCHANGE:
        return []
    return [Asset.of(listing) for listing in symbols.listings()]


@router.get("/v2/assets/{symbol_or_asset_id}")
def get_asset(symbol_or_asset_id: str, _caller: CurrentCaller) -> Asset:
    listing = symbols.get(symbol_or_asset_id) or listing_by_id(symbol_or_asset_id)
    if listing is None:
        raise not_found(f"asset not found for {symbol_or_asset_id}")
    return Asset.of(listing)
