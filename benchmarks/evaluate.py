"""The evaluation benchmark: a model on the held-out set, beside ground truth and the baselines.

    python benchmarks/evaluate.py --library .cache/library [--model PATH] [--clips 24] [--steps 16] [--out runs/eval]

The same as ``v2a eval`` (see ``v2a.evaluation.cli.eval_command`` for every option); prints
the table and writes ``results.json``, ``table.txt`` and ``spectrograms.png`` to ``--out``.
"""

from __future__ import annotations

import typer

from v2a.evaluation.cli import eval_command

if __name__ == "__main__":
    typer.run(eval_command)
