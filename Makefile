.PHONY: sandbox test setup bench
sandbox: ; bash scripts/sandbox.sh
test: ; bash scripts/test.sh
setup: ; bash scripts/setup.sh
bench: setup ; .venv/bin/python scripts/bench_engine.py
