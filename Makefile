# The two commands of the README: `make run` and `make test`.
.PHONY: run test lint bench

run:
	@scripts/setup.sh app
	.venv/bin/python app.py

test:
	@scripts/setup.sh test
	.venv/bin/ruff check .
	.venv/bin/python -m pytest -q

lint:
	.venv/bin/ruff check .
