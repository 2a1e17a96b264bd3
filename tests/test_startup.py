"""What starting v2a imports: the CLI's help and usage errors answer without torch, and loading the
shipped pipeline imports neither diffusers nor transformers (nor ``torch._dynamo``), whose imports
took longer than loading every weight."""

import subprocess
import sys

HEAVY = ("torch", "diffusers", "transformers", "torch._dynamo")


def loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return eval(result.stdout.strip().splitlines()[-1])


def test_help_and_usage_errors_import_no_torch():
    for argv in (["--help"], ["add-sound", "--help"], ["add-sound", "clip.mp4", "--steps", "0"]):
        code = f"from v2a.cli import main\nsys.argv = ['v2a', *{argv!r}]\ntry:\n    main()\nexcept SystemExit:\n    pass"
        assert loaded_after(code) == [], argv


def test_loading_the_shipped_pipeline_imports_neither_diffusers_nor_transformers():
    assert loaded_after("import v2a\nv2a.load_pipeline()") == ["torch"]
