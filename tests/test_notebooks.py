"""Every notebook runs top to bottom, headless, with small MCMC settings.

Each notebook has one cell tagged ``parameters`` (draws, chains, ...). The test inserts a
cell right after it that overrides those names with the values in ``FAST`` (only names the
notebook defines), executes the notebook from the ``notebooks/`` folder with nbclient, and
fails on any error. Notebooks are committed without outputs (a test checks that too).
"""

import ast
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))

#: Small settings that keep every notebook quick in CI.
FAST = {"DRAWS": 100, "TUNE": 100, "CHAINS": 2, "N_CUSTOMERS": 2000, "LAPLACE_DRAWS": 200}


def _defined_names(source: str) -> set[str]:
    return {
        target.id
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def _with_fast_parameters(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for position, cell in enumerate(notebook.cells):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            names = _defined_names(cell.source) & FAST.keys()
            override = "\n".join(f"{name} = {FAST[name]!r}" for name in sorted(names))
            notebook.cells.insert(position + 1, nbformat.v4.new_code_cell(override))
            return notebook
    raise AssertionError("the notebook has no cell tagged 'parameters'")


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path):
    notebook = _with_fast_parameters(nbformat.read(path, as_version=4))
    env_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    try:
        client = NotebookClient(
            notebook,
            timeout=600,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute()
    finally:
        if env_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env_backend
    figures = sum(
        1
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    )
    assert figures >= 1, f"{path.name} shows no figure"
