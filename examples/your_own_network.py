"""
Bring your own network: a skorch net, all its layers, a projection
==================================================================

Any skorch net (or torch module) can be analysed. Here a net with dropout
and batch normalisation is trained by the detector, gradients are taken
with respect to *all* its parameters and projected to 128 dimensions for an
Isolation Forest (memory stays n x 128 whatever the net's size); then a net
trained elsewhere is used as it is, wrapped in ``FrozenEstimator``.

Run: ``python examples/your_own_network.py [--quick]``
"""

# %%
import argparse

import torch
from sklearn.datasets import load_digits
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier
from torch import nn

from skogad import GradientOutlierDetector
from skogad.noise import flip_labels

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true", help="fewer epochs")
args = parser.parse_args()


class Net(nn.Module):
    def __init__(self, n_features=64, n_outputs=10, width=128):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(n_features, width),
            nn.BatchNorm1d(width),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(width, width),
            nn.ReLU(),
        )
        self.head = nn.Linear(width, n_outputs)

    def forward(self, X):
        return self.head(self.body(X))


X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X).astype("float32")
y_noisy, flipped = flip_labels(y, 0.15, random_state=0)
epochs = 5 if args.quick else 20

# %%
# The detector trains a clone of the net (stopping early on a held-out split,
# its default) and differentiates with respect to every parameter.
net = NeuralNetClassifier(
    Net, criterion=nn.CrossEntropyLoss, max_epochs=epochs, lr=0.05, verbose=0
)
det = GradientOutlierDetector(
    net, params="all", scorer="iforest", projection=128, random_state=0
)
det.fit(X, y_noisy)
n_params = sum(p.numel() for p in det.nets_[0].module_.parameters())
print(
    f"all {n_params} parameters, projected to 128 dimensions: AUROC "
    f"{roc_auc_score(flipped, -det.train_scores_):.3f}"
)

# %%
# A net you have already trained is used as is: FrozenEstimator keeps the
# detector from refitting it, and ``params`` picks the layers (here the head).
# The scores are then those of the net as you trained it: one trained until it
# has memorised its labels hides the flipped ones (see the README's "Choosing
# when to take the gradients").
torch.manual_seed(0)
trained = NeuralNetClassifier(
    Net, criterion=nn.CrossEntropyLoss, max_epochs=epochs, lr=0.05, verbose=0
).fit(X, y_noisy)
frozen = GradientOutlierDetector(FrozenEstimator(trained), params=["head"])
frozen.fit(X, y_noisy)
print(
    f"a net trained for {epochs} epochs, its head only: AUROC "
    f"{roc_auc_score(flipped, -frozen.train_scores_):.3f}"
)

# sphinx_gallery_thumbnail_path = "_static/thumbnails/your_own_network.png"
