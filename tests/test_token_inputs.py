"""Token-id inputs (``input_dtype="int64"``): a small transformer over padded ids.

A randomly initialised two-layer ``transformers.BertModel`` (nothing is
downloaded) with mean pooling and a linear head, as a torch module that takes
a 2-D int64 tensor of padded token ids.
"""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from skorch import NeuralNetClassifier
from torch import nn

from skogad import GradientOutlierDetector
from skogad.noise import flip_labels
from tests._helpers import loop_gradients

transformers = pytest.importorskip("transformers")

# torch.func falls back to a loop for CPU scaled-dot-product attention
pytestmark = pytest.mark.filterwarnings("ignore:There is a performance drop")

VOCAB = 100
PAD = 0
LENGTH = 16
HIDDEN = 32
CE = nn.functional.cross_entropy


def tiny_bert(n_layers):
    """A small randomly initialised BERT encoder (nothing is downloaded)."""
    config = transformers.BertConfig(
        vocab_size=VOCAB,
        hidden_size=HIDDEN,
        num_hidden_layers=n_layers,
        num_attention_heads=2,
        intermediate_size=2 * HIDDEN,
        max_position_embeddings=LENGTH,
        pad_token_id=PAD,
    )
    return transformers.BertModel(config, add_pooling_layer=False)


class TinyBertClassifier(nn.Module):
    """A tiny random BERT encoder, mean pooling over non-pad tokens, a head."""

    def __init__(self, n_classes=2, freeze_encoder=False):
        super().__init__()
        self.encoder = tiny_bert(n_layers=2)
        self.head = nn.Linear(HIDDEN, n_classes)
        if freeze_encoder:
            self.encoder.requires_grad_(False)

    def forward(self, ids):
        keep = (ids != PAD).to(torch.float32)
        # a 4-D additive mask: the 2-D one is prepared with data-dependent
        # branches that torch.func.vmap cannot follow
        mask = ((1.0 - keep) * torch.finfo(torch.float32).min)[:, None, None, :]
        hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        pooled = (hidden * keep.unsqueeze(-1)).sum(1) / keep.sum(1, keepdim=True)
        return self.head(pooled)


def token_task(n, seed=0):
    """Padded ids of varying length; the label says which token group appears.

    Class 1 rows hold two or three tokens of 10..19, class 0 rows of 20..29;
    the other tokens are drawn from 30..99.
    """
    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n)
    X = np.full((n, LENGTH), PAD, dtype=np.int64)
    for i in range(n):
        length = rng.randint(4, LENGTH + 1)
        row = rng.randint(30, VOCAB, size=length)
        marks = rng.choice(length, rng.randint(2, 4), replace=False)
        row[marks] = rng.randint(10, 20, size=len(marks)) + 10 * (y[i] == 0)
        X[i, :length] = row
    return X, y


def token_net(**kwargs):
    params = {
        "criterion": nn.CrossEntropyLoss,
        "optimizer": torch.optim.AdamW,
        "lr": 3e-3,
        "batch_size": 32,
        "max_epochs": 30,
        "train_split": None,
        "verbose": 0,
        **kwargs,
    }
    return NeuralNetClassifier(TinyBertClassifier, **params)


def test_flags_flipped_labels_on_token_ids():
    X, y = token_task(400)
    y_noisy, flipped = flip_labels(y, 0.15, random_state=0)
    det = GradientOutlierDetector(
        net=token_net(),
        input_dtype="int64",
        params="all",
        scorer="l2",
        random_state=0,
        device="cpu",
    ).fit(X, y_noisy)
    net = det.nets_[0]
    # the net learned the task from the token ids (on the true labels)
    assert net.score(X, y) > 0.85
    auroc = roc_auc_score(flipped, -det.train_scores_)
    assert auroc > 0.85, auroc
    flags = det.predict(X, y_noisy) == -1
    assert flags[flipped].mean() > 3 * flags[~flipped].mean()


def test_gradients_match_a_per_sample_loop():
    X, y = token_task(24, seed=1)
    lengths = (X != PAD).sum(1)
    assert len(set(lengths.tolist())) > 5  # padded rows of many lengths
    det = GradientOutlierDetector(
        net=token_net(max_epochs=2),
        input_dtype="int64",
        params="all",
        timing="final",
        random_state=0,
        device="cpu",
    ).fit(X, y)
    G = det.gradients(X, y, params="all")
    module = det.nets_[0].module_
    names = det.param_names_
    expected = loop_gradients(module, CE, X, y, names).numpy()
    assert G.shape == expected.shape
    assert G.shape[1] == sum(p.numel() for p in module.parameters())
    np.testing.assert_allclose(G, expected, atol=1e-5)


def test_only_trainable_parameters_with_a_frozen_encoder():
    X, y = token_task(60)
    det = GradientOutlierDetector(
        net=token_net(module__freeze_encoder=True, max_epochs=2),
        input_dtype="int64",
        params="all",
        timing="final",
        random_state=0,
        device="cpu",
    ).fit(X, y)
    assert det.param_names_ == ["head.weight", "head.bias"]
    G = det.gradients(X, y, params="all")
    assert G.shape == (len(X), HIDDEN * 2 + 2)
    module, names = det.nets_[0].module_, det.param_names_
    expected = loop_gradients(module, CE, X[:6], y[:6], names).numpy()
    np.testing.assert_allclose(G[:6], expected, atol=1e-5)


def test_refuses_fractional_inputs_and_a_missing_net():
    X, y = token_task(40)
    det = GradientOutlierDetector(
        net=token_net(max_epochs=1), input_dtype="int64", timing="final"
    )
    with pytest.raises(ValueError, match="fractional"):
        det.fit(X + 0.5, y)
    with pytest.raises(ValueError, match="net"):
        GradientOutlierDetector(input_dtype="int64").fit(X, y)
    # integral floats are token ids all the same
    det.fit(X.astype(np.float64), y)
    with pytest.raises(ValueError, match="fractional"):
        det.score_samples(X + 0.25, y)


class HeadFirstClassifier(TinyBertClassifier):
    """The head registered before a frozen encoder: "last" must still be it."""

    def __init__(self, n_classes=2):
        nn.Module.__init__(self)
        self.head = nn.Linear(HIDDEN, n_classes)
        self.encoder = tiny_bert(n_layers=1)
        self.encoder.requires_grad_(False)


@pytest.mark.parametrize(
    ("params", "expected"),
    [("last", ["head.weight", "head.bias"]), ("output", ["head.bias"])],
)
def test_last_layer_is_the_last_trainable_one(params, expected):
    X, y = token_task(40)
    det = GradientOutlierDetector(
        net=NeuralNetClassifier(
            HeadFirstClassifier,
            criterion=nn.CrossEntropyLoss,
            max_epochs=1,
            train_split=None,
            verbose=0,
        ),
        input_dtype="int64",
        params=params,
        timing="final",
        random_state=0,
        device="cpu",
    ).fit(X, y)
    assert det.param_names_ == expected
