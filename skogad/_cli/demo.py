"""The bundled example: plant label noise in a dataset scikit-learn ships, find it."""

import time

# The datasets of scikit-learn's ``load_<name>``. Names, not loaders: the
# command line builds its parser from them, and parsing the arguments imports
# nothing heavy (a mistake exits at once, Ctrl-C is handled from the start).
DATASETS = ("breast_cancer", "digits", "wine")


def run_demo(dataset="digits", noise=0.2, contamination=0.2, seed=0, out=print):
    """Flip labels, flag them with skogad, compare test accuracy before/after.

    Returns a dict of the figures it prints.
    """
    import numpy as np
    import sklearn.datasets
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import precision_score, recall_score, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skogad._clean import CleanTrainingSet
    from skogad._detector import GradientOutlierDetector
    from skogad.noise import flip_labels

    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}.")
    X, y = getattr(sklearn.datasets, f"load_{dataset}")(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    y_noisy, flipped = flip_labels(y_train, noise, seed)
    out(
        f"{dataset}: {len(X_train)} training rows, {X.shape[1]} features, "
        f"{len(np.unique(y))} classes; flipped {flipped.sum()} training labels "
        f"({noise:.0%})."
    )

    start = time.perf_counter()
    detector = GradientOutlierDetector(contamination=contamination, random_state=seed)
    flags = detector.fit_predict(X_train, y_noisy) == -1
    seconds = time.perf_counter() - start
    figures = {
        "auroc": roc_auc_score(flipped, -detector.train_scores_),
        "precision": precision_score(flipped, flags),
        "recall": recall_score(flipped, flags),
        "seconds": seconds,
    }
    out(
        f"skogad flagged {flags.sum()} rows in {seconds:.1f} s: "
        f"precision {figures['precision']:.2f}, recall {figures['recall']:.2f}, "
        f"AUROC of the scores {figures['auroc']:.3f}."
    )

    def accuracy(model, X_fit, y_fit):
        return (
            make_pipeline(StandardScaler(), model)
            .fit(X_fit, y_fit)
            .score(X_test, y_test)
        )

    logreg = LogisticRegression(max_iter=2000)
    figures["accuracy_noisy"] = accuracy(logreg, X_train, y_noisy)
    # The detector already fitted (on the unscaled rows), not fitted again.
    cleaned = CleanTrainingSet(
        make_pipeline(StandardScaler(), logreg), detector=FrozenEstimator(detector)
    )
    figures["accuracy_cleaned"] = cleaned.fit(X_train, y_noisy).score(X_test, y_test)
    figures["accuracy_oracle"] = accuracy(logreg, X_train[~flipped], y_noisy[~flipped])
    out("Test accuracy of a logistic regression trained on")
    out(f"  the noisy labels:           {figures['accuracy_noisy']:.3f}")
    out(f"  the rows skogad kept:       {figures['accuracy_cleaned']:.3f}")
    out(f"  only the unflipped rows:    {figures['accuracy_oracle']:.3f}  (oracle)")
    return figures
