"""Schemathesis against /alpaca/openapi.json of a real server: generated valid and invalid input to every
operation, with a key pair, never gets a 5xx, and every error is in Alpaca's shape."""

import json
from urllib.parse import urlsplit

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

EXAMPLES_PER_OPERATION = 8


def alpacas_shape(response) -> None:
    # A generated `..` in a path may lead the client's URL out of /alpaca: what answers there is not ours to judge.
    if response.status_code >= 400 and urlsplit(response.request.url).path.startswith("/alpaca/"):
        body = json.loads(response.content or b"null")
        assert isinstance(body, dict) and isinstance(body.get("code"), int) and isinstance(body.get("message"), str)


def fuzz(operation, mode: GenerationMode, base_url: str, headers: dict[str, str]) -> str | None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking or explaining: a report names the input
    )
    def run(case) -> None:
        case.headers = {**(case.headers or {}), **headers}
        response = case.call(base_url=base_url)
        case.validate_response(response, checks=[checks.not_a_server_error])
        alpacas_shape(response)

    try:
        run()
    except Unsatisfiable:
        return None
    except (BaseExceptionGroup, AssertionError) as failure:
        return f"{operation.label} ({mode.value}): {failure}"
    return None


def test_no_input_breaks_the_alpaca_api(sherwood, trader):
    sherwood.quote("AAPL", "200.00", "200.10")
    schema = schemathesis.openapi.from_url(f"{sherwood.alpaca}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    failures = [
        report
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if (report := fuzz(operation, mode, sherwood.alpaca, trader.key))
    ]
    assert not failures, "\n\n".join(failures)
