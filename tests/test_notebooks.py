"""The committed notebooks follow the portable-outputs rule (CONTRIBUTING.md, "Portable outputs").

nbval compares a cell's stored output with a fresh run. These tests read the committed notebooks and
fail on what would make that comparison depend on the machine: training cells that are compared,
training results with no band check after them, floats printed at rounding-noise level, TensorFlow's
start-up log lines, figures that depend on MPLBACKEND.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from .conftest import load_script

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# a Keras model being trained: its results depend on the machine
TRAINING = re.compile(r"\.fit\(|fit_with_early_stopping\(|train_lstm\(")
# 7+ significant decimals, or an exponent at rounding-noise level (1e-6 and below)
NOISE_FLOAT = re.compile(r"\b\d\.\d{7,}|\de-(0[6-9]|[1-9]\d)\b")
LOG_LINES = re.compile(r"oneDNN custom operations|absl::InitializeLog|cpu_feature_guard|port\.cc:\d+|"
                       r"^[IWE]\d{4} \d\d:\d\d:\d\d", re.M)


def code_cells(path: Path) -> list:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def ignored(cell) -> bool:
    return any(line.strip() == "# NBVAL_IGNORE_OUTPUT" for line in cell.source.splitlines()) \
        or "nbval-ignore-output" in cell.metadata.get("tags", [])


def output_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if "text" in out:
            parts.append(out["text"])
        for key in ("text/plain", "text/html"):
            parts.append(out.get("data", {}).get(key, ""))
    return "".join(p if isinstance(p, str) else "".join(p) for p in parts)


def test_the_notebooks_are_found():
    assert len(NOTEBOOKS) == 12


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_has_one_parameters_cell_before_its_band_checks(path):
    """tools/seed_sweep.py sets SEED right after the cell tagged `parameters`: a notebook without one cannot be swept."""
    cells = code_cells(path)
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} cells tagged 'parameters' (want one)"
    banded = [i for i, c in enumerate(cells) if "expect_range(" in c.source]
    assert not banded or tagged[0] < banded[0]
    trains = any(TRAINING.search(c.source) for c in cells) and "keras" in "".join(c.source for c in cells)
    if banded and trains:  # swept: the sweep sets SEED after this cell
        assert re.search(r"^SEED = ", cells[tagged[0]].source, re.M), f"{path.name}: the sweep sets SEED; define it there"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_training_cells_are_not_compared_and_are_checked_by_the_next_cell(path):
    cells = code_cells(path)
    for i, cell in enumerate(cells):
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("def ", "#")))
        source = "\n".join(line for line in source.splitlines() if "Dummy" not in line)
        if not TRAINING.search(source) or "keras" not in "".join(c.source for c in cells):
            continue
        assert ignored(cell), f"{path.name}: a cell that trains a model is compared by nbval:\n{cell.source[:300]}"
        follower = cells[i + 1].source if i + 1 < len(cells) else ""
        assert "expect_range(" in follower, \
            f"{path.name}: the cell after a training cell must check its results with expect_range:\n{cell.source[:300]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_compared_outputs_print_no_rounding_noise(path):
    for cell in code_cells(path):
        if ignored(cell):
            continue
        text = re.sub(r"data:[\w/+-]+;base64,[A-Za-z0-9+/=]+", "", output_text(cell))
        hit = NOISE_FLOAT.search(text)
        assert hit is None, f"{path.name}: compared output prints {hit.group(0)!r}, which another machine may not:\n{cell.source[:300]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_tensorflow_start_up_lines_in_stored_outputs(path):
    for cell in code_cells(path):
        hit = LOG_LINES.search(output_text(cell))
        assert hit is None, f"{path.name}: a log line ({hit.group(0)!r}) reached a stored output:\n{cell.source[:300]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_terminal_escape_codes_in_stored_outputs(path):
    for cell in code_cells(path):
        assert "\x1b[" not in output_text(cell), f"{path.name}: terminal colour codes in a stored output:\n{cell.source[:300]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_outputs_are_what_a_reader_sees(path):
    """No progress-bar updates kept one after another (coalesce the streams after executing: CONTRIBUTING), no
    NumPy scalar reprs like `np.int64(22050)` (print `.tolist()`), no download chatter (issue 18), no empty
    `<pre>` that Keras's rich console displays beside a printed model summary (issue 30)."""
    for cell in code_cells(path):
        text = output_text(cell)
        for pattern, what in ((r"\r(?!\n)", "a progress bar's every update (coalesce the streams)"),
                              (r"np\.(?:int|float|bool|str)_?\d*\(", "a NumPy scalar repr"),
                              (r"Downloading data from", "download chatter"),
                              (r"<pre[^>]*>\s*</pre>", "an empty <pre> (Keras's rich console; drop the output)")):
            assert not re.search(pattern, text), f"{path.name}: {what} in a stored output:\n{cell.source[:300]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_figures_do_not_depend_on_mplbackend(path):
    cells = code_cells(path)
    first_plot = next((i for i, c in enumerate(cells) if "import matplotlib" in c.source or "plt." in c.source), None)
    if first_plot is None:
        return
    assert any("%matplotlib inline" in c.source for c in cells[: first_plot + 1]), \
        f"{path.name}: '%matplotlib inline' must come before the first figure (a runner may export MPLBACKEND=Agg)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_tensorflow_is_imported_quietly(path):
    for cell in code_cells(path):
        assert not re.search(r"^\s*import tensorflow\b", cell.source, re.M), \
            f"{path.name}: use `tf = import_tensorflow()` (helpers.config), which keeps TensorFlow's start-up lines out"
        assert "tf.__version__" not in cell.source or ignored(cell), \
            f"{path.name}: a compared cell prints the TensorFlow version, which differs between installs"


# Each notebook teaches its concept with the library calls in its own code cells (issue 15): a learner who
# opens the notebook sees `layers.Conv2D`, `EarlyStopping`, `TFRecordDataset`..., not a helper that hides them.
CONCEPT_CALLS = {
    "06": ["Pipeline(", "StratifiedGroupKFold(", "GridSearchCV("],
    "07": ["layers.LSTM(", "layers.Normalization(", ".adapt(", "EarlyStopping(", ".fit("],
    "08": ["layers.Conv2D(", "layers.Normalization(", "EarlyStopping(", ".map(", ".prefetch("],
    "09": ["tf.train.load_checkpoint(", ".set_weights(", "layers.Conv2D(", "LogisticRegression(", "cross_val_predict(",
           ".trainable = ", "TFRecordWriter(", "TFRecordDataset(", "tf.train.Example(", ".map(", ".cache(", ".shuffle(", ".batch(", ".prefetch("],
    "10": ["Client("],
    "11": ["widgets.FileUpload(", "CalibrationDisplay.from_predictions(", "StratifiedGroupKFold(", "cross_val_predict(",
           "minimize_scalar(", "mahalanobis(", "librosa.effects.pitch_shift("],
}


@pytest.mark.parametrize("number", sorted(CONCEPT_CALLS))
def test_each_concept_is_taught_with_library_calls_in_its_notebook(number):
    path = next(p for p in NOTEBOOKS if p.name.startswith(number))
    source = "\n".join(c.source for c in code_cells(path))
    missing = [call for call in CONCEPT_CALLS[number] if call not in source]
    assert not missing, f"{path.name}: its code cells never call {missing}; the concept must be written in the notebook"


# ---- the self-checking exercises and their learner copies (issue 18) ----
EXERCISE_NOTEBOOKS = ("01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11")
EXERCISE_HEADING = re.compile(r"^### Exercise (\d\d\.\d+)", re.M)


def tags(cell) -> list:
    return cell.metadata.get("tags", [])


@pytest.mark.parametrize("number", EXERCISE_NOTEBOOKS)
def test_each_exercise_has_a_prompt_a_learner_cell_a_check_and_a_collapsed_solution(number):
    """The committed notebook is the learner's copy: Run All answers no exercise, and no stored output gives one away."""
    from helpers.check import _EXERCISES

    path = next(p for p in NOTEBOOKS if p.name.startswith(number))
    cells = nbformat.read(path, as_version=4).cells
    keys = []
    for i, cell in enumerate(cells):
        match = EXERCISE_HEADING.search(cell.source) if cell.cell_type == "markdown" else None
        if not match:
            continue
        key = match.group(1)
        keys.append(key)
        learner, check, solution = cells[i + 1 : i + 4]
        assert tags(learner) == ["learner"] and len(learner.source.splitlines()) <= 2, f"{key}: learner cell"
        assert learner.source.startswith("answer = ...") or learner.source.rstrip().endswith("...  # your code here")
        assert check.source.startswith(f'check.exercise("{key}", ') and not tags(check), f"{key}: check cell"
        assert re.fullmatch(rf"Exercise {key}: no answer yet: put .+ in the cell above\nFalse", output_text(check)), \
            f"{key}: the stored check says {output_text(check)!r}, not 'no answer yet'"
        assert solution.cell_type == "markdown" and tags(solution) == ["solution"], f"{key}: solution block"
        assert solution.source.startswith("<details><summary>") and solution.source.rstrip().endswith("</details>")
        assert "```python\n" in solution.source, f"{key}: the solution's code is not a python block"
        assert "collapsed" in cell.source and "Solution" in cell.source, f"{key}: the prompt does not say where it is"
    assert 3 <= len(keys) <= 5 and all(k.startswith(number + ".") for k in keys), keys
    assert set(keys) == {k for k in _EXERCISES if k.startswith(number + ".")}
    assert not any(c.cell_type == "code" and "solution" in tags(c) for c in cells), "a solution Run All would run"
    assert not any("Exercise " in output_text(c) and ": right" in output_text(c) for c in cells if c.cell_type == "code")
    opening = cells[0].source
    assert "**Prerequisites:**" in opening and re.search(r"\*\*Time:\*\* about \d+ minutes", opening)
    assert "GLOSSARY.md" in opening


def test_make_test_checks_every_solution_and_make_student_drops_them():
    makefile = (NOTEBOOKS[0].parents[1] / "Makefile").read_text(encoding="utf-8")
    assert "TEST_ENV := COURSE_CHECK_SOLUTIONS=1" in makefile
    assert re.search(r"^\t\$\(TEST_ENV\) \$\(BIN\)/python -m pytest \$\(PYTEST_JOBS\) --nbval .*\$\(NOTEBOOKS\) tests$",
                     makefile, re.M)
    assert "$(TEST_ENV) $(BIN)/python tools/portable_profile.py" in makefile
    assert "--TagRemovePreprocessor.remove_cell_tags='[\"solution\"]'" in makefile
    assert "--output-dir build/student" in makefile and "ClearOutputPreprocessor.enabled=True" in makefile


def test_the_teacher_copy_puts_every_solution_back_before_its_check():
    module = load_script(NOTEBOOKS[0].parents[1] / "tools" / "teacher_copy.py")
    for number in EXERCISE_NOTEBOOKS:
        path = next(p for p in NOTEBOOKS if p.name.startswith(number))
        copy, moved = module.teacher_copy(nbformat.read(path, as_version=4))
        code = [c for c in copy.cells if c.cell_type == "code"]
        solutions = [i for i, c in enumerate(code) if "solution" in tags(c)]
        assert moved == len(solutions) >= 3
        for i in solutions:
            assert "learner" in tags(code[i - 1]) and code[i + 1].source.startswith("check.exercise(")
        assert not any(c.cell_type == "markdown" and "solution" in tags(c) for c in copy.cells)


def test_the_files_handed_out_first_exist():
    """LONGEST_FIRST names files by path: one renamed would silently lose its place (issue 31)."""
    from .conftest import LONGEST_FIRST

    root = Path(__file__).resolve().parents[1]
    assert len(LONGEST_FIRST) == len(set(LONGEST_FIRST)) >= 6
    missing = [name for name in LONGEST_FIRST if not (root / name).is_file()]
    assert not missing, f"tests/conftest.py's LONGEST_FIRST names files that do not exist: {missing}"
