"""benchmarks/gpu_check.py runs end to end on the CPU with the debug model (on a GPU machine it
runs the same code with --device cuda)."""

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cpu_run_reports_agreement_precision_and_speed(gpu_check, tmp_path, capsys):
    rows = gpu_check.main(["--device", "cpu", "--model", "debug", "--dtypes", "float32,bfloat16", "--seconds", "1",
                           "--batch", "2", "--steps", "2", "--repeats", "1", "--clips", "2", "--no-compile",
                           "--json", str(tmp_path / "check.json")])
    fp32, bf16 = rows
    assert fp32["reference"] == "float32 on cpu" and fp32["max_abs"] == 0.0 and fp32["mr_stft"] == 0.0
    assert bf16["reference"] == "float32 (row above)" and bf16["max_abs"] > 0.0 and bf16["mr_stft"] > 0.0
    for row in rows:
        assert row["speed"]["latency_s"] > 0 and row["speed"]["clip_seconds_per_s"] > 0 and "compiled" not in row
    table = capsys.readouterr().out
    assert "| float32 | float32 on cpu | 0 | 0 |" in table and "| bfloat16 |" in table
    assert json.loads((tmp_path / "check.json").read_text())["rows"] == json.loads(json.dumps(rows))


def test_compiled_columns(gpu_check):
    """torch.compile wiring, with the 'eager' backend (no code generation) to stay quick."""
    (row,) = gpu_check.main(["--device", "cpu", "--model", "debug", "--dtypes", "float32", "--seconds", "1",
                             "--batch", "1", "--steps", "2", "--repeats", "1", "--clips", "1",
                             "--compile-backend", "eager"])
    assert row["compiled"]["latency_s"] > 0 and row["compiled"]["warmup_s"] > 0
