"""Log in, sign up and log out."""

from email_validator import EmailNotValidError, validate_email
from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app, ui

from components import theme
from pages.session import call, safe_target
from services import auth, runtime
from services.errors import DomainError


def _card(title: str) -> ui.card:
    ui.page_title(f"{title} · Sherwood")
    theme.apply()
    ui.query("body").classes("bg-gray-50")
    with ui.column().classes("w-full items-center pt-16 px-4"):
        theme.brand("text-3xl")
        card = ui.card().classes("sw-card w-full max-w-sm p-8 mt-6 gap-4")
    return card


async def _open_session(email: str, password: str, address: str, target: str) -> None:
    result = await call(auth.login, runtime.current().cache, email=email, password=password, client_address=address)
    app.storage.user["token"] = result.token
    ui.navigate.to(safe_target(target))


@ui.page("/login")
async def login_page(request: Request, redirect_to: str = "/"):
    address = request.client.host if request.client else "unknown"
    with _card("Log in"):
        ui.label("Log in to Sherwood").classes("text-xl font-semibold")
        email = (
            ui.input("Email").props('outlined type=email autocomplete=username data-testid="email"').classes("w-full")
        )
        password = (
            ui.input("Password", password=True)
            .props('outlined autocomplete=current-password data-testid="password"')
            .classes("w-full")
        )
        error = ui.label().classes("text-negative text-sm").props('data-testid="error"')
        error.visible = False

        async def submit():
            error.visible = False
            if not email.value or not password.value:
                error.text, error.visible = "Enter your email and password.", True
                return
            button.props("loading")
            try:
                await _open_session(email.value, password.value, address, redirect_to)
            except DomainError as exc:
                error.text, error.visible = exc.message, True
            finally:
                button.props(remove="loading")

        password.on("keydown.enter", submit)
        button = (
            ui.button("Log in", on_click=submit)
            .props('unelevated no-caps data-testid="submit"')
            .classes("w-full rounded-full")
        )
        with ui.row().classes("gap-1 text-sm justify-center w-full"):
            ui.label("New to Sherwood?")
            ui.link("Create an account", f"/signup?redirect_to={redirect_to}")


@ui.page("/signup")
async def signup_page(request: Request, redirect_to: str = "/"):
    address = request.client.host if request.client else "unknown"
    starting_cash = runtime.current().settings.starting_cash
    with _card("Sign up"):
        ui.label("Create your account").classes("text-xl font-semibold")
        ui.label(f"Start trading with ${starting_cash:,.2f} of paper money.").classes("text-gray-600 text-sm")
        name = ui.input("Name (optional)").props('outlined autocomplete=name data-testid="name"').classes("w-full")
        email = ui.input("Email").props('outlined type=email autocomplete=email data-testid="email"').classes("w-full")
        password = (
            ui.input("Password (8 characters or more)", password=True)
            .props('outlined autocomplete=new-password data-testid="password"')
            .classes("w-full")
        )
        error = ui.label().classes("text-negative text-sm").props('data-testid="error"')
        error.visible = False

        async def submit():
            error.visible = False
            problem = _signup_problem(email.value or "", password.value or "")
            if problem:
                error.text, error.visible = problem, True
                return
            button.props("loading")
            try:
                await call(
                    auth.register,
                    email=email.value,
                    password=password.value,
                    display_name=name.value,
                    starting_cash=starting_cash,
                )
                await _open_session(email.value, password.value, address, redirect_to)
            except DomainError as exc:
                error.text, error.visible = exc.message, True
            finally:
                button.props(remove="loading")

        password.on("keydown.enter", submit)
        button = (
            ui.button("Sign up", on_click=submit)
            .props('unelevated no-caps data-testid="submit"')
            .classes("w-full rounded-full")
        )
        with ui.row().classes("gap-1 text-sm justify-center w-full"):
            ui.label("Already have an account?")
            ui.link("Log in", f"/login?redirect_to={redirect_to}")


def _signup_problem(email: str, password: str) -> str | None:
    """The same rules as the API's, checked before a round trip to say what is wrong next to the form."""
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return "Enter a valid email address."
    if len(password) < 8:
        return "Choose a password of at least 8 characters."
    return None


@ui.page("/logout")
async def logout_page():
    token = app.storage.user.pop("token", None)
    if token:
        current = runtime.current()
        await call(auth.logout, current.cache, current.bus, token)
    return RedirectResponse("/login")
