"""Price alerts: set one (above or below a price) and see, or delete, the ones you have."""

from nicegui import ui
from pydantic import ValidationError

from components.numbers import money
from components.tables import stacked
from models.alert import AlertCreate
from models.types import utcnow
from models.user import UserPublic
from services import runtime
from services.alerts import alerts
from services.infra.errors import DomainError
from services.market import symbols
from services.runtime import call

COLUMNS = [
    {"name": "symbol", "label": "Symbol", "field": "symbol", "align": "left"},
    {"name": "when", "label": "Alert when", "field": "when", "align": "left"},
    {"name": "status", "label": "Status", "field": "status", "align": "left"},
    {"name": "action", "label": "", "field": "action", "align": "right"},
]


class AlertsList:
    def __init__(self, user: UserPublic, *, symbol: str | None = None):
        self.user, self.symbol = user, symbol
        self.table = stacked(ui.table(columns=COLUMNS, rows=[], row_key="id")).classes("w-full")
        self.table.props('flat dense data-testid="alerts" no-data-label="No alerts set."')
        self.table.add_slot("no-data", '<span class="text-gray-500">No alerts set.</span>')
        self.table.add_slot(
            "body-cell-action",
            """<q-td :props="props" :data-label="props.col.label">
                 <q-btn flat dense no-caps color="grey-7" label="Delete"
                 :data-testid="'delete-alert-' + props.row.symbol" @click="() => $parent.$emit('remove', props.row)" />
               </q-td>""",
        )
        self.table.on("remove", self._remove)

    async def refresh(self) -> None:
        found = await call(alerts.list_alerts, self.user.id)
        self.table.rows = [
            {
                "id": str(a.id),
                "symbol": a.symbol,
                "when": f"Price {a.condition} {money(a.price)}",
                "status": "Triggered" if a.status == "triggered" else "Active",
            }
            for a in found
            if self.symbol in (None, a.symbol)
        ]

    async def _remove(self, event) -> None:
        try:
            await call(alerts.delete, runtime.current().bus, user_id=self.user.id, alert_id=event.args["id"])
        except DomainError as exc:
            ui.notify(exc.message, type="negative")
        await self.refresh()


class AlertForm:
    def __init__(self, user: UserPublic, alerts_list: AlertsList, *, symbol: str | None = None):
        self.user, self.alerts_list = user, alerts_list
        with ui.card().classes("sw-card w-full p-4 gap-2").props('data-testid="alert-form"'):
            ui.label("Set a price alert").classes("font-semibold")
            if symbol is None:
                options = {x.symbol: f"{x.symbol} · {x.name}" for x in symbols.listings()}
                self.symbol = ui.select(options, with_input=True, label="Symbol").props(
                    'dense outlined behavior=menu data-testid="alert-symbol"'
                )
                self.symbol.classes("w-full")
            else:
                self.symbol = ui.input(value=symbol).props("type=hidden")
                self.symbol.visible = False
            self.condition = ui.toggle({"above": "Rises above", "below": "Falls below"}, value="above").props(
                'dense no-caps data-testid="alert-condition"'
            )
            self.price = ui.input("Price").props('dense outlined inputmode=decimal data-testid="alert-price"')
            self.price.classes("w-full")
            self.price.on("keydown.enter", self._create)
            ui.button("Create alert", on_click=self._create).props('unelevated no-caps data-testid="create-alert"')

    async def _create(self) -> None:
        self.price.error = None
        try:
            request = AlertCreate(
                symbol=self.symbol.value or "", condition=self.condition.value, price=(self.price.value or "").strip()
            )
            await call(alerts.create, runtime.current().bus, user_id=self.user.id, request=request, now=utcnow())
        except ValidationError as exc:
            field = str(exc.errors()[0]["loc"][0]) if exc.errors()[0]["loc"] else "price"
            message = (
                "Enter a price above zero, in cents (4 places below $1)." if field == "price" else "Pick a symbol."
            )
            self.price.error = message
            return
        except DomainError as exc:
            self.price.error = exc.message
            return
        ui.notify(f"Alert set: {request.symbol} {request.condition} {money(request.price)}", type="positive")
        self.price.value = ""
        await self.alerts_list.refresh()
