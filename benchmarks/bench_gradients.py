"""Per-sample gradients: skogad's engine against the lower bounds and the
alternatives, in speed, memory and (for projections) detection quality.

Three parts, each written to one Markdown file:

1. **Speed and memory.** For each model (a logistic head, a 3-layer MLP, a
   ~1M-parameter MLP) and each number of rows, one fresh worker process
   measures, on the same data: the lower bounds (one batched forward pass;
   one batched forward+backward of the mean loss, i.e. an epoch of training
   without the optimizer step, both in minibatches of 4096 rows); skogad's
   engine (closed forms for linear layers: norms, dense gradients, a random
   projection; and its ``torch.func`` path); what a user could use instead
   (``torch.func`` ``vmap(grad)`` written by hand, opacus ``GradSampleModule``,
   backpack ``BatchGrad``, where installed); and the naive loop of one backward
   pass per sample (on a subsample, its rate extrapolated). Each method's
   peak memory is the growth of the process's resident set above what it held
   before the method ran (the kernel's high-water mark, reset in between).
2. **Scale.** 1M rows x 50 features, 10 classes, through the public
   `GradientOutlierDetector` (last layer, Isolation Forest, ``projection=256``
   and exact) on a net trained for two epochs: time, peak memory, AUROC.
3. **Projection dimension.** Detection AUROC (Isolation Forest, 20% uniform
   label flips) of exact gradients against projections to k dimensions: the
   Kronecker projection of linear layers (what the detector uses for MLPs)
   and the count sketch (its ``torch.func`` path).

    python benchmarks/bench_gradients.py            # full run, ~6 minutes
    python benchmarks/bench_gradients.py --quick    # CI: small sizes, about a minute

opacus and backpack are compared where installed. Install them without their
dependencies (backpack's torchvision would replace the CPU torch with a
multi-GB CUDA build): ``pip install --no-deps opacus backpack-for-pytorch
einops unfoldNd``.
"""

import argparse
import json
import math
import subprocess
import sys
import time

import numpy as np
import torch
from _common import (
    DASH,
    detection,
    header,
    limit_threads,
    make_parser,
    mean_std,
    output_stem,
    parse_args,
    table,
    write_markdown,
)
from torch import nn

D_FEATURES = 50
N_CLASSES = 10
REF_BATCH = 4096
# Methods that write every per-sample gradient run only where n * p is at most
# this (about 12 GB of float32 written).
MAX_DENSE_VALUES = 3e9
# compared where installed, and then named in the results' header
OPTIONAL = ("opacus", "backpack")
MODELS = {
    "logistic": "Linear(50, 10): 510 parameters",
    "mlp3": "MLP 50-128-128-10 (ReLU): 24,330 parameters",
    "mlp1m": "MLP 50-1024-1024-10 (ReLU): 1,111,050 parameters",
}


def build_model(name):
    torch.manual_seed(0)
    d, c = D_FEATURES, N_CLASSES
    if name == "logistic":
        return nn.Sequential(nn.Linear(d, c))
    width = 128 if name == "mlp3" else 1024
    return nn.Sequential(
        nn.Linear(d, width),
        nn.ReLU(),
        nn.Linear(width, width),
        nn.ReLU(),
        nn.Linear(width, c),
    )


# ----------------------------------------------------------------- memory
def _status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def measure(fn, repeats):
    """Best wall time of ``fn`` over ``repeats`` runs (one if it is slow), and
    the peak growth of resident memory during the first run."""
    can_reset = _reset_peak()
    base = _status("VmRSS")
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    peak = _status("VmHWM") - base if can_reset else float("nan")
    best = first
    if first < 2.0:
        for _ in range(repeats - 1):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
    return best, peak


# ----------------------------------------------------------------- methods
def ref_forward(model, X, y):
    with torch.no_grad():
        for i in range(0, len(X), REF_BATCH):
            model(X[i : i + REF_BATCH])


def ref_forward_backward(model, X, y):
    loss = nn.CrossEntropyLoss()
    for i in range(0, len(X), REF_BATCH):
        model.zero_grad(set_to_none=True)
        loss(model(X[i : i + REF_BATCH]), y[i : i + REF_BATCH]).backward()


def skogad_method(params, output, projection=None, method="auto"):
    from skogad._gradients.engine import gradient_features, select_parameters

    def run(model, X, y):
        names = select_parameters(model, params)
        return gradient_features(
            model,
            nn.CrossEntropyLoss(),
            X,
            y,
            names,
            output=output,
            projection=projection,
            method=method,
        )

    return run


def vmap_by_hand(model, X, y, chunk=1024):
    from torch.func import functional_call, grad, vmap

    params = {k: v.detach() for k, v in model.named_parameters()}
    loss = nn.CrossEntropyLoss()

    def one(p, x, t):
        return loss(functional_call(model, p, (x[None],)), t[None])

    per_sample = vmap(grad(one), in_dims=(None, 0, 0))
    for i in range(0, len(X), chunk):
        per_sample(params, X[i : i + chunk], y[i : i + chunk])


def opacus_method(model, X, y, chunk=1024):
    from opacus import GradSampleModule

    gsm = GradSampleModule(model, batch_first=True, loss_reduction="sum")
    gsm.train()  # opacus records activations in train mode only (no dropout here)
    try:
        for i in range(0, len(X), chunk):
            gsm.zero_grad(set_to_none=True)
            out = gsm(X[i : i + chunk])
            nn.functional.cross_entropy(
                out, y[i : i + chunk], reduction="sum"
            ).backward()
            for p in model.parameters():
                p.grad_sample = None
    finally:
        gsm._close()
        model.eval()


def backpack_method(model, X, y, chunk=1024):
    import copy

    from backpack import backpack, extend
    from backpack.extensions import BatchGrad

    extended = extend(copy.deepcopy(model))
    loss = extend(nn.CrossEntropyLoss(reduction="sum"))
    for i in range(0, len(X), chunk):
        extended.zero_grad(set_to_none=True)
        with backpack(BatchGrad()):
            loss(extended(X[i : i + chunk]), y[i : i + chunk]).backward()


def per_sample_loop(model, X, y):
    loss = nn.CrossEntropyLoss()
    for i in range(len(X)):
        model.zero_grad(set_to_none=True)
        loss(model(X[i : i + 1]), y[i : i + 1]).backward()


def available(module):
    try:
        __import__(module)
        return True
    except Exception:
        return False


def methods_for(model_name, n, p, quick):
    """(label, function, rows it runs on, family) for one model and size."""
    dense_ok = n * p <= MAX_DENSE_VALUES
    rows = [
        ("forward (reference)", ref_forward, n, "ref"),
        ("forward+backward (reference)", ref_forward_backward, n, "ref"),
        ("skogad, last layer, L2 norms", skogad_method("last", "l2"), n, "skogad"),
        ("skogad, all layers, L2 norms", skogad_method("all", "l2"), n, "skogad"),
    ]
    if dense_ok:
        rows.append(
            ("skogad, all layers, dense", skogad_method("all", "matrix"), n, "skogad")
        )
    if p > 256:
        rows.append(
            (
                "skogad, all layers, projection k=256",
                skogad_method("all", "matrix", projection=256),
                n,
                "skogad",
            )
        )
    if dense_ok:
        rows.append(
            (
                "skogad torch.func path, all layers, L2 norms",
                skogad_method("all", "l2", method="vmap"),
                n,
                "skogad",
            )
        )
        rows.append(("torch.func vmap(grad) by hand", vmap_by_hand, n, "other"))
        if available("opacus"):
            rows.append(("opacus GradSampleModule", opacus_method, n, "other"))
        if available("backpack"):
            rows.append(("backpack BatchGrad", backpack_method, n, "other"))
    loop_rows = min(n, 200 if quick else (300 if model_name == "mlp1m" else 2000))
    rows.append(("per-sample loop (naive)", per_sample_loop, loop_rows, "other"))
    return rows


def worker(model_name, n, quick):
    import warnings

    warnings.filterwarnings("ignore")  # backpack's full-backward-hook notice
    model = build_model(model_name).eval()
    p = sum(q.numel() for q in model.parameters())
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, D_FEATURES, generator=g)
    y = torch.randint(0, N_CLASSES, (n,), generator=g)
    for label, fn, rows, family in methods_for(model_name, n, p, quick):
        # warm up (allocator, vmap tracing) on a few rows, then measure
        fn(model, X[: min(rows, 64)], y[: min(rows, 64)])
        seconds, peak = measure(lambda: fn(model, X[:rows], y[:rows]), repeats=3)
        row = {
            "model": model_name,
            "n": n,
            "p": p,
            "method": label,
            "family": family,
            "rows": rows,
            "seconds": seconds,
            "rate": rows / seconds,
            "peak": peak,
        }
        print(json.dumps(row), flush=True)


# ------------------------------------------------------------------- scale
def scale_run(n, k):
    from sklearn.datasets import make_classification
    from sklearn.frozen import FrozenEstimator
    from skorch import NeuralNetClassifier

    from skogad import GradientOutlierDetector, TabularMLP
    from skogad.noise import flip_labels

    X, y = make_classification(
        n,
        D_FEATURES,
        n_informative=20,
        n_classes=N_CLASSES,
        n_clusters_per_class=1,
        random_state=0,
    )
    X = X.astype(np.float32)
    y_noisy, noisy = flip_labels(y, 0.1, random_state=0)
    torch.manual_seed(0)
    start = time.perf_counter()
    net = NeuralNetClassifier(
        TabularMLP,
        module__n_features=D_FEATURES,
        module__n_outputs=N_CLASSES,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.AdamW,
        lr=1e-3,
        batch_size=1024,
        max_epochs=2,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
    ).fit(X, y_noisy)
    train_s = time.perf_counter() - start
    accuracy = float(np.mean(net.predict(X) == y))
    for projection in [k, None]:
        _reset_peak()
        base = _status("VmRSS")
        det = GradientOutlierDetector(
            FrozenEstimator(net),
            scorer="iforest",
            params="last",
            projection=projection,
            contamination=0.1,
            random_state=0,
        )
        start = time.perf_counter()
        det.fit(X, y_noisy)
        detect_s = time.perf_counter() - start
        peak = _status("VmHWM") - base
        n_last = sum(
            q.numel()
            for name, q in net.module_.named_parameters()
            if name in det.param_names_
        )
        row = {
            "n": n,
            "k": projection,
            "dims": det.scorers_[0].n_features_in_,
            "p_last": n_last,
            "train_s": train_s,
            "accuracy": accuracy,
            "detect_s": detect_s,
            "peak": peak,
            "data_bytes": X.nbytes,
            "auroc": detection(noisy, -det.train_scores_)["AUROC"],
        }
        print(json.dumps(row), flush=True)
        del det


# -------------------------------------------------------------- projection
def projection_auroc(quick):
    from sklearn.datasets import load_digits, make_classification
    from sklearn.ensemble import IsolationForest

    from skogad import GradientOutlierDetector
    from skogad._gradients.engine import gradient_features, select_parameters
    from skogad._nets import sample_loss_fn
    from skogad.noise import flip_labels

    data = {"digits 1797x64": load_digits(return_X_y=True)}
    if not quick:
        data["classif 5000x20, 5 classes"] = make_classification(
            5000, 20, n_informative=10, n_classes=5, random_state=0
        )
    ks = [16, 256] if quick else [16, 64, 256, 1024]
    seeds = [0] if quick else [0, 1, 2]
    rows = []
    for name, (X, y) in data.items():
        for seed in seeds:
            y_noisy, noisy = flip_labels(y, 0.2, random_state=seed)
            det = GradientOutlierDetector(random_state=seed).fit(X, y_noisy)
            net = det.nets_[0]
            # what the detector feeds its net: standardized features, label codes
            Xt = torch.from_numpy(det.scaler_.transform(X).astype(np.float32))
            yt = torch.from_numpy(np.searchsorted(det.classes_, y_noisy))
            for params in ["last", "all"]:
                names = select_parameters(net.module_, params)
                for kind, method in [
                    ("kronecker", "factors"),
                    ("count sketch", "vmap"),
                ]:
                    for k in [None, *ks]:
                        if k is None and kind == "count sketch":
                            continue
                        G = gradient_features(
                            net.module_,
                            sample_loss_fn(net),
                            Xt,
                            yt,
                            names,
                            projection=k,
                            seed=seed,
                            method=method,
                        ).numpy()
                        scores = (
                            IsolationForest(random_state=seed).fit(G).score_samples(G)
                        )
                        rows.append(
                            {
                                "data": name,
                                "params": params,
                                "kind": "exact" if k is None else kind,
                                "k": k,
                                "dims": G.shape[1],
                                "seed": seed,
                                "auroc": detection(noisy, -scores)["AUROC"],
                            }
                        )
    return rows


# ------------------------------------------------------------------ report
def fmt_rate(rate):
    return f"{rate:,.0f}" if rate >= 100 else f"{rate:.1f}"


def fmt_mib(nbytes):
    return "n/a" if not math.isfinite(nbytes) else f"{max(nbytes, 0) / 2**20:,.0f}"


def speed_tables(results, sizes):
    lines = []
    for model_name, description in MODELS.items():
        rows = [r for r in results if r["model"] == model_name]
        if not rows:
            continue
        methods = list(dict.fromkeys(r["method"] for r in rows))
        cells = [[m, *(speed_cell(rows, m, n) for n in sizes)] for m in methods]
        lines += [
            f"### {model_name}: {description}",
            "",
            "Each cell: samples/s · time as a multiple of the batched forward+backward "
            "(same process) · peak memory growth (MiB).",
            "",
            *table(["method", *(f"n={n:,}" for n in sizes)], cells),
            "",
        ]
    return lines


def speed_cell(rows, method, n):
    """``samples/s · ratio to forward+backward · MiB`` of one method at ``n``."""
    hit = [r for r in rows if r["n"] == n and r["method"] == method]
    ref = [r for r in rows if r["n"] == n and r["method"].startswith("forward+back")]
    if not hit or not ref:
        return DASH
    r = hit[0]
    ratio = ref[0]["rate"] / r["rate"]
    note = f" (on {r['rows']:,} rows)" if r["rows"] < n else ""
    return f"{fmt_rate(r['rate'])} · {ratio:.2f}x · {fmt_mib(r['peak'])}{note}"


def targets(results):
    """The issue's ratio targets, read off the measured rows."""

    def rate(model, n, method):
        hit = [
            r
            for r in results
            if r["model"] == model and r["n"] == n and r["method"].startswith(method)
        ]
        return hit[0]["rate"] if hit else None

    rows = []
    for model in ["logistic", "mlp3", "mlp1m"]:
        sizes = sorted({r["n"] for r in results if r["model"] == model})
        for n in sizes:
            fwd = rate(model, n, "forward (reference)")
            last = rate(model, n, "skogad, last layer, L2")
            if fwd and last:
                x = fwd / last
                target = "last layer + L2 scores ≤ 1.5x one forward"
                met = "yes" if x <= 1.5 else "no"
                rows.append([target, f"{model}, {n:,}", f"{x:.2f}x", met])
    for model in ["mlp3", "mlp1m"]:
        sizes = sorted({r["n"] for r in results if r["model"] == model})
        for n in sizes:
            fb = rate(model, n, "forward+backward")
            loop = rate(model, n, "per-sample loop")
            for label in ["skogad, all layers, dense", "skogad, all layers, L2"]:
                got = rate(model, n, label)
                if not (fb and got):
                    continue
                x = fb / got
                speedup = got / loop if loop else float("nan")
                ok = x <= 4 and speedup >= 20
                rows.append(
                    [
                        f"all layers ({label.split(', ')[-1]}) ≤ 4x forward+backward "
                        "and ≥ 20x the loop",
                        f"{model}, {n:,}",
                        f"{x:.2f}x, {speedup:,.0f}x the loop",
                        "yes" if ok else "no",
                    ]
                )
    return table(["target", "model, n", "measured", "met"], rows)


def projection_table(rows):
    keys = list(
        dict.fromkeys((r["data"], r["params"], r["kind"], r["k"]) for r in rows)
    )
    cells = []
    for data, params, kind, k in keys:
        hit = [
            r
            for r in rows
            if (r["data"], r["params"], r["kind"], r["k"]) == (data, params, kind, k)
        ]
        aurocs = [r["auroc"] for r in hit]
        cells.append(
            [data, params, kind, k or DASH, f"{hit[0]['dims']:,}", mean_std(aurocs)]
        )
    columns = ["data", "parameters", "projection", "k", "dims", "AUROC (mean ± std)"]
    return table(columns, cells)


def scale_table(scale):
    columns = [
        "rows",
        "projection k",
        f"scorer dims (of {scale[0]['p_last']:,} last-layer parameters)",
        "detector fit (s)",
        "peak memory growth (MiB)",
        "data (MiB)",
        "AUROC",
    ]
    rows = [
        [
            f"{s['n']:,}",
            s["k"] or "exact",
            f"{s['dims']:,}",
            f"{s['detect_s']:.1f}",
            fmt_mib(s["peak"]),
            fmt_mib(s["data_bytes"]),
            f"{s['auroc']:.3f}",
        ]
        for s in scale
    ]
    return table(columns, rows)


def spawn(*args):
    out = subprocess.run(
        [sys.executable, __file__, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{out.stderr[-3000:]}")
    return [
        json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")
    ]


def main(argv=None):
    parser = make_parser(__doc__, "small sizes for CI")
    parser.add_argument(
        "--worker", nargs=2, metavar=("MODEL", "N"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--scale", nargs=2, type=int, metavar=("N", "K"), help=argparse.SUPPRESS
    )
    args = parse_args(parser, argv)
    limit_threads(args)
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), args.quick)
        return
    if args.scale:
        scale_run(*args.scale)
        return

    quick = ["--quick"] if args.quick else []
    if args.quick:
        grid = {"logistic": [2000], "mlp3": [2000]}
        scale_n = 5_000
    else:
        grid = {
            "logistic": [1000, 10_000, 100_000, 1_000_000],
            "mlp3": [1000, 10_000, 100_000, 1_000_000],
            "mlp1m": [1000, 10_000, 100_000],
        }
        scale_n = 1_000_000
    started = time.perf_counter()
    results = []
    for model_name, sizes in grid.items():
        for n in sizes:
            print(f"[gradients] {model_name} n={n:,}", file=sys.stderr, flush=True)
            results += spawn("--worker", model_name, str(n), *quick)
    print("[gradients] scale run", file=sys.stderr, flush=True)
    scale = spawn("--scale", str(scale_n), "256", *quick)
    print("[gradients] projection AUROC", file=sys.stderr, flush=True)
    proj = projection_auroc(args.quick)
    elapsed = time.perf_counter() - started

    sizes = sorted({r["n"] for r in results})
    lines = [
        "# Per-sample gradients: speed, memory, projections",
        "",
        header(__file__, args.argv, optional=OPTIONAL, elapsed=elapsed),
        "",
        "Data: standard normal features (50), uniform labels (10 classes), float32. "
        "Every ratio is against the batched forward+backward of the mean loss "
        f"(minibatches of {REF_BATCH}) measured in the same worker process. "
        "Methods that write every per-sample gradient run only where "
        f"n x p ≤ {MAX_DENSE_VALUES:.0e}. The naive loop runs on a subsample; its "
        "rate is per sample.",
        "",
        "## Targets",
        "",
        *targets(results),
        "",
        "Reading the tables:",
        "",
        "- `skogad, ... dense` stores the whole n x p gradient matrix (what an "
        "estimator scorer needs without a projection); `torch.func by hand`, opacus "
        "and backpack compute each chunk's per-sample gradients and drop them. "
        "Storing costs 4·p bytes per row, so it is bound by memory bandwidth, not "
        "arithmetic: for the 3-layer MLP that is 97 KB per row against about 1.4 µs "
        "of forward+backward, which no store can match on this machine. Large "
        "first-time allocations are slower still on this virtual machine (fresh "
        "memory faults in at well under 1 GB/s), which is where the 100k-row and "
        "1M-parameter dense cells go. That is what `projection` and the norm "
        "scorers are for: both stay within a small multiple of forward+backward.",
        "- The per-sample loop of the 1M-parameter MLP is only about 11x its "
        "batched forward+backward (each sample's backward is already large matrix "
        "work), so no method can be 20x faster than it there; skogad's norms run "
        "faster than one batched forward+backward instead.",
        "- The logistic head's forward pass is one tiny matrix product (tens of "
        "millions of rows per second); the last-layer scores also read each row "
        "again for its norm and compute a softmax, so they take 2-6x its time "
        "(still faster than forward+backward at 10k rows and more).",
        "",
        "## Speed and memory",
        "",
        *speed_tables(results, sizes),
        "## Scale: 1M-row detector run" if not args.quick else "## Scale run",
        "",
        "`GradientOutlierDetector(FrozenEstimator(net), projection=k, "
        "contamination=0.1)` (last layer, Isolation Forest) on `make_classification"
        f"({scale[0]['n']:,}, 50, n_informative=20, n_classes=10)` with 10% uniform "
        "label flips; the net is the default MLP (50-100-100-10) trained 2 epochs "
        f"with skorch in {scale[0]['train_s']:.1f} s (accuracy on the true labels "
        f"{scale[0]['accuracy']:.3f}). Peak memory is the growth of the resident set "
        "during the detector's fit, with the data and the net already loaded.",
        "",
        *scale_table(scale),
        "",
        "## Detection AUROC against the projection dimension",
        "",
        "Default detector (early stopping) on 20% uniform label flips; the same "
        "trained net scored by Isolation Forest on exact gradients and on "
        "projections (`kronecker`: each linear layer's two factors projected, "
        "what the detector does for MLPs; `count sketch`: the torch.func path's "
        "projection). `dims` is the projected width (at most k).",
        "",
        *projection_table(proj),
        "",
    ]
    write_markdown(output_stem(args, "gradients").with_suffix(".md"), lines)


if __name__ == "__main__":
    main()
