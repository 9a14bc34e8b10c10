# The two commands of the README: `make run` and `make test`. The benchmarks print their figures.
.PHONY: run test test-scaleout test-faults lint bench-ws bench-orders bench-ui bench-alpaca screenshots

run:
	@scripts/setup.sh app
	.venv/bin/python app.py

test:
	@scripts/setup.sh test
	.venv/bin/ruff check .
	.venv/bin/lint-imports
	.venv/bin/python -m pytest -q

# Two instances behind nginx on one PostgreSQL and one Redis (also part of `make test`).
test-scaleout:
	@scripts/setup.sh test
	.venv/bin/python -m pytest -q tests/scaleout

# The fault tests alone (also part of `make test`): Redis stopped, PostgreSQL restarted, an instance SIGKILLed.
test-faults:
	@scripts/setup.sh test
	.venv/bin/python -m pytest -q tests/faults

lint:
	.venv/bin/ruff check .
	.venv/bin/lint-imports

bench-ws:
	@scripts/setup.sh test
	.venv/bin/python bench/ws_bench.py

bench-orders:
	@scripts/setup.sh test
	.venv/bin/python bench/orders_bench.py

bench-ui:
	@scripts/setup.sh test
	.venv/bin/python bench/ui_bench.py

bench-alpaca:
	@scripts/setup.sh test
	.venv/bin/python bench/alpaca_stream_bench.py

# The browser journeys save a screenshot of each page under test-artifacts/; the README shows a stock page.
screenshots:
	@scripts/setup.sh test
	.venv/bin/python -m pytest -q tests/e2e
	cp test-artifacts/gallery-stock.png docs/screenshot.png
	for name in discover league orders-dark portfolio-phone stock-phone; do \
		cp test-artifacts/gallery-$$name.png docs/screens/$$name.png; done
