import subprocess
import sys


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bastion", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_demo_runs_bots_through_the_engine_signer_and_policy():
    result = run_cli("demo", timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "refused by the signer's policy" in out
    assert "max_deviation" in out
    assert "demo-dca opened deal 1" in out
    assert "demo-dca closed deal 1" in out
    assert "demo-kucoin-dca opened deal" in out
    assert "demo-kucoin-dca closed deal" in out
    assert "DCA on the KuCoin flavor: 0 deal(s)" not in out
    assert "Grid: " in out
    assert "Balances" in out
    assert "Leak check demo: 0 order(s) on the exchange that Bastion did not send, 0 unexplained" in out
    assert "Leak check demo-kucoin: 0 order(s) on the exchange that Bastion did not send, 0 unexplained" in out
    assert "Portfolio (bastion portfolio): " in out
    assert "simulator-kucoin " in out
    assert "Requests to unknown endpoints: 0" in out
    assert "Audit log intact" in out
    assert "Traceback" not in result.stderr


def test_version_and_help():
    assert run_cli("version").stdout.startswith("bastion ")
    help_text = run_cli("--help").stdout
    for command in ("exchange", "data", "demo", "version"):
        assert command in help_text


def test_user_mistake_is_one_clear_line_without_traceback():
    result = run_cli("exchange", "serve", "--keys-file", "/nonexistent/keys.json", "--port", "0", timeout=30)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "keys" in result.stderr.lower()


def test_a_usage_error_is_reported_without_a_traceback_and_exits_non_zero():
    # Regression: `import click` in main() failed (typer bundles click), so any unknown option
    # crashed with a traceback; and typer.Exit codes were dropped in non-standalone mode.
    result = run_cli("trade", "--no-such-option", timeout=30)
    assert result.returncode == 2
    assert "No such option" in result.stderr
    assert "Traceback" not in result.stderr
