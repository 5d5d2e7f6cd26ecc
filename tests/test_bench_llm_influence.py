"""The LLM data-attribution benchmark (benchmarks/bench_llm_influence.py), quick mode.

Runs the script once in a subprocess (a tiny random Llama with LoRA, no model
file) and checks what it writes: the headings and table headers, every cell a
number where one is due, the engine's gradients matching a backward loop, the
fine-tuning lowering the loss, the gradient methods finding each test
prompt's task far better than random, and (in `run_quick`) that nothing was
written to benchmarks/results/.
"""

import re

import pytest

from tests._helpers import (
    BENCHMARKS,
    number,
    run_quick,
    table_columns,
    table_rows,
)

pytestmark = pytest.mark.slow

HEADER = "| method | AUC | recall | gradients (s) | influence (s) |"
DOT = "gradient dot product (TracIn-like, DataInf's identity)"
COSINE = "gradient cosine (same training gradients)"
PROJECTED = "gradient cosine, projected to 2048"
OUTLIER = "outlier gradient (the paper's: an Isolation Forest per training task)"
HIDDEN = "hidden-state cosine (mean-pooled last layer)"
OWN_LOSS = "own training loss (lowest first, same for every test sample)"
RANDOM = "random"
METHODS = [DOT, COSINE, OUTLIER, PROJECTED, HIDDEN, OWN_LOSS, RANDOM]
TASKS = [
    "reverse",
    "uppercase",
    "no vowels",
    "sort",
    "double",
    "initials",
    "lengths",
    "swap ends",
    "dashes",
    "last letters",
]


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("llm_influence")


@pytest.fixture(scope="module")
def report(out):
    return run_quick("bench_llm_influence.py", out)


def mean_std(cell):
    mean, std = cell.split("±")
    return float(mean), float(std)


def results_table(report):
    """Method -> (AUC mean, AUC std, recall mean, recall std, grad s, inf s)."""
    return {
        method: (*mean_std(auc), *mean_std(recall), number(grad_s), number(inf_s))
        for method, auc, recall, grad_s, inf_s in table_rows(report, HEADER)
    }


def test_writes_its_quick_file_only(report, out):
    assert [p.name for p in out.iterdir()] == ["llm_influence_quick.md"]
    assert not (BENCHMARKS / "results" / "llm_influence_quick.md").exists()


def test_headings(report):
    for heading in [
        "# Data attribution on a LoRA-fine-tuned language model (DataInf's benchmark)",
        "## Results",
        "### AUC per task",
        "## How this differs from the paper",
        HEADER,
    ]:
        assert heading in report, heading
    assert "Command: `python benchmarks/bench_llm_influence.py --quick`" in report
    for package in ["skogad", "torch", "transformers", "peft", "skorch", "numpy"]:
        assert f"{package} " in report, package
    assert "LoRA: rank 8" in report and "q_proj, v_proj" in report
    assert "Llama-2-13B-chat" in report


def test_results_numbers(report):
    rows = results_table(report)
    assert list(rows) == METHODS
    for method, (auc, auc_std, recall, recall_std, grad_s, inf_s) in rows.items():
        # the scores differ from one test sample to the next
        assert auc_std > 0 and recall_std > 0, method
        # the gradient methods take the test samples' gradients: time
        assert inf_s > 0 or method in (HIDDEN, OWN_LOSS, RANDOM), method
        fitted = method in (DOT, OUTLIER, PROJECTED)
        assert (grad_s is not None) == fitted, method
        if fitted:
            assert grad_s > 0, method
    # a ranking that is the same for every test sample: AUC 0.5 over the
    # tasks on average (each task's share of the top is its recall)
    assert rows[OWN_LOSS][0] == pytest.approx(0.5, abs=0.01)
    assert rows[OWN_LOSS][2] == pytest.approx(0.1, abs=0.01)


def test_gradient_methods_find_the_task(report):
    rows = results_table(report)
    random_auc, random_recall = rows[RANDOM][0], rows[RANDOM][2]
    assert abs(random_auc - 0.5) < 0.05
    for method in (DOT, COSINE, PROJECTED):
        auc, _, recall, *_ = rows[method]
        # measured with seeds 0-3: AUC 0.66-0.76 (random 0.50-0.52), recall
        # 0.27-0.41 (random 0.10)
        assert auc > random_auc + 0.12, method
        assert recall > random_recall + 0.12, method
    assert rows[OUTLIER][0] > random_auc + 0.1
    # the projection to 2048 of 3,584 dimensions changes little
    assert abs(rows[PROJECTED][0] - rows[COSINE][0]) < 0.05


def test_per_task_table(report):
    columns = table_columns(report, "| task |")[1:]
    rows = {task: cells for task, *cells in table_rows(report, "| task |")}
    assert len(columns) == len(METHODS)
    assert list(rows) == TASKS
    for task, cells in rows.items():
        auc = dict(zip(columns, map(float, cells), strict=True))
        # the gradients tell most tasks apart from the others; random does not
        assert auc["cosine"] > auc["random"], task
        assert abs(auc["random"] - 0.5) < 0.2, task


def test_gradient_check_and_training(report):
    diff = re.search(
        r"differ from a backward pass per sample by at most (\S+) ", report
    )
    assert diff and float(diff.group(1)) < 1e-4
    loss = re.search(
        r"before → after: training (\S+) → (\S+), test (\S+) → (\S+);", report
    )
    assert loss
    train_before, train_after, test_before, test_after = map(float, loss.groups())
    assert train_after < 0.8 * train_before
    assert test_after < 0.8 * test_before
