"""Log in, sign up and log out."""

from collections.abc import Awaitable, Callable

from email_validator import EmailNotValidError, validate_email
from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app, ui

from components import theme
from components.session_keeper import ENDED_NOTICE
from pages.session import safe_target, signed_in_user
from services import runtime
from services.identity import auth
from services.infra.errors import DomainError
from services.runtime import call


def _card(title: str) -> ui.card:
    ui.page_title(f"{title} · Sherwood")
    theme.apply()
    ui.query("body").classes("bg-gray-50")
    with ui.column().classes("w-full items-center pt-16 px-4"):
        theme.brand("text-3xl")
        card = ui.card().classes("sw-card w-full max-w-sm p-8 mt-6 gap-4")
    return card


def _field(label: str, testid: str, autocomplete: str, *, password: bool = False) -> ui.input:
    kind = " type=email" if testid == "email" else ""
    props = f'outlined{kind} autocomplete={autocomplete} data-testid="{testid}"'
    return ui.input(label, password=password).props(props).classes("w-full")


def _submit(label: str, action: Callable[[], Awaitable[None]], last_field: ui.input) -> None:
    """The form's button (and Enter in its last field): runs `action`, saying what went wrong under the form."""
    error = ui.label().classes("text-negative text-sm").props('data-testid="error"')
    error.visible = False

    async def run() -> None:
        error.visible = False
        button.props("loading")
        try:
            await action()
        except DomainError as exc:
            error.text, error.visible = exc.message, True
        finally:
            button.props(remove="loading")

    last_field.on("keydown.enter", run)
    button = ui.button(label, on_click=run).props('unelevated no-caps data-testid="submit"')
    button.classes("w-full rounded-full")


def _switch(question: str, link: str, target: str) -> None:
    with ui.row().classes("gap-1 text-sm justify-center w-full"):
        ui.label(question)
        ui.link(link, target)


async def _open_session(email: str, password: str, request: Request, target: str) -> None:
    """Log in with a new token; a token this browser held before is ended, never reused (no session fixation)."""
    current = runtime.current()
    result = await call(
        auth.login,
        current.cache,
        current.bus,
        email=email,
        password=password,
        client_address=_address(request),
        user_agent=request.headers.get("user-agent"),
    )
    previous = app.storage.user.get("token")
    app.storage.user["token"] = result.token
    if previous and previous != result.token:
        await call(auth.logout, current.cache, current.bus, previous)
    ui.navigate.to(safe_target(target))


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _signed_in_elsewhere(redirect_to: str) -> RedirectResponse | None:
    """A browser that is signed in already has nothing to do here: on to where it was going (the portfolio)."""
    return RedirectResponse(safe_target(redirect_to)) if await signed_in_user() is not None else None


async def login_page(request: Request, redirect_to: str = "/", ended: bool = False):
    if redirect := await _signed_in_elsewhere(redirect_to):
        return redirect
    with _card("Log in"):
        ui.label("Log in to Sherwood").classes("text-xl font-semibold")
        if ended:
            ui.label(ENDED_NOTICE).classes("text-sm text-orange-700").props('data-testid="session-ended"')
        email = _field("Email", "email", "username")
        password = _field("Password", "password", "current-password", password=True)

        async def log_in() -> None:
            if not email.value or not password.value:
                raise DomainError("VALIDATION_ERROR", "Enter your email and password.")
            await _open_session(email.value, password.value, request, redirect_to)

        _submit("Log in", log_in, password)
        _switch("New to Sherwood?", "Create an account", f"/signup?redirect_to={redirect_to}")


async def signup_page(request: Request, redirect_to: str = "/"):
    if redirect := await _signed_in_elsewhere(redirect_to):
        return redirect
    starting_cash = runtime.current().settings.starting_cash
    with _card("Sign up"):
        ui.label("Create your account").classes("text-xl font-semibold")
        ui.label(f"Start trading with ${starting_cash:,.2f} of paper money.").classes("text-gray-600 text-sm")
        name = _field("Name (optional)", "name", "name")
        email = _field("Email", "email", "email")
        password = _field("Password (8 characters or more)", "password", "new-password", password=True)

        async def sign_up() -> None:
            email.error = _email_problem(email.value or "")
            password.error = _password_problem(password.value or "")
            if email.error or password.error:
                return
            try:
                await call(
                    auth.register,
                    email=email.value,
                    password=password.value,
                    display_name=name.value,
                    starting_cash=starting_cash,
                )
            except DomainError as exc:
                if exc.code != "EMAIL_TAKEN":
                    raise
                email.error = exc.message
                return
            await _open_session(email.value, password.value, request, redirect_to)

        _submit("Sign up", sign_up, password)
        _switch("Already have an account?", "Log in", f"/login?redirect_to={redirect_to}")


# The API's rules, checked before a round trip so that each sentence shows under its own field.


def _email_problem(email: str) -> str | None:
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return "Enter a valid email address."
    return None


def _password_problem(password: str) -> str | None:
    return None if len(password) >= 8 else "Choose a password of at least 8 characters."


async def logout_page():
    token = app.storage.user.pop("token", None)
    if token:
        current = runtime.current()
        await call(auth.logout, current.cache, current.bus, token)
    return RedirectResponse("/login")
