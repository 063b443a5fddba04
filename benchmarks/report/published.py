"""Published reference results, as data with citations: shown beside ours, never as ours.

Every figure here is *published, not measured here*. Citations are plain text (no URLs)
so that the HTML report stays free of external links.
"""

from __future__ import annotations

from dataclasses import dataclass

PUBLISHED_LABEL = "published, not measured here"

CITATIONS: dict[str, str] = {
    "medmnist_v2": (
        "Yang J., Shi R., Wei D., Liu Z., Zhao L., Ke B., Pfister H., Ni B. "
        "MedMNIST v2 - A large-scale lightweight benchmark for 2D and 3D biomedical image "
        "classification. Scientific Data 10:41 (2023), Table 3 (BreastMNIST, test split)."
    ),
    "golub_1999": (
        "Golub T.R., Slonim D.K., Tamayo P., et al. Molecular classification of cancer: class "
        "discovery and class prediction by gene expression monitoring. Science 286:531-537 (1999)."
    ),
    "uci_rnaseq": (
        "Accuracies reported for the UCI 'gene expression cancer RNA-Seq' data set (UCI Machine Learning "
        "Repository id 401; TCGA PANCAN subset, 801 samples x 20,531 genes, 5 tumour types) with SVM "
        "and ensemble classifiers "
        "under 5-fold cross-validation; a range over published studies, not a single primary source."
    ),
}


@dataclass(frozen=True)
class PublishedResult:
    """One published figure: a method's test accuracy / ROC-AUC under a stated setting.

    ``accuracy_high`` makes ``accuracy`` the low end of a range; ``result`` states a claim
    that is not a single accuracy (e.g. Golub's strong-prediction count) in words.
    """

    model: str
    setting: str  # input resolution, split or protocol the figure was obtained with
    citation: str  # key of CITATIONS
    accuracy: float | None = None
    accuracy_high: float | None = None
    roc_auc: float | None = None
    result: str = ""
    note: str = ""


_MEDMNIST_28 = "28x28 input, official test split (156 images)"
_MEDMNIST_224 = "28x28 images resized to 224x224, official test split (156 images)"
_MEDMNIST_NOTE = ("MedMNIST v2 binary ACC thresholds the positive-class score at 0.5 (the same as our "
                  "argmax of two class probabilities); AUC is ROC-AUC")

_BREASTMNIST: tuple[PublishedResult, ...] = (
    PublishedResult("ResNet-18 (28)", _MEDMNIST_28, "medmnist_v2", accuracy=0.863, roc_auc=0.901),
    PublishedResult("ResNet-18 (224)", _MEDMNIST_224, "medmnist_v2", accuracy=0.833, roc_auc=0.891),
    PublishedResult("ResNet-50 (28)", _MEDMNIST_28, "medmnist_v2", accuracy=0.812, roc_auc=0.857),
    PublishedResult("auto-sklearn", _MEDMNIST_28, "medmnist_v2", accuracy=0.803, roc_auc=0.836),
    PublishedResult("AutoKeras", _MEDMNIST_28, "medmnist_v2", accuracy=0.831, roc_auc=0.871),
    PublishedResult("Google AutoML Vision", _MEDMNIST_28, "medmnist_v2", accuracy=0.861, roc_auc=0.919),
)

PUBLISHED: dict[str, tuple[PublishedResult, ...]] = {
    "breastmnist": _BREASTMNIST,
    "golub": (
        PublishedResult(
            "weighted voting (50 informative genes)",
            "trained on the 38 initial samples, tested on the 34 independent samples",
            "golub_1999",
            result="strong predictions for 29 of 34 independent samples, all 29 correct; "
                   "the remaining 5 uncertain",
            note="not directly comparable: the 29/29 counts strong predictions only, while our "
                 "accuracy counts every one of the 34 test samples",
        ),
    ),
    "uci_rnaseq": (
        PublishedResult("SVM / ensemble classifiers", "5-fold cross-validation", "uci_rnaseq",
                        accuracy=0.996, accuracy_high=0.999),
    ),
}

# How to read a table (one note per data set rather than per row).
NOTES: dict[str, str] = {"breastmnist": _MEDMNIST_NOTE}

# Datasets that share another's published table, and what to say about the difference.
_ALIASES: dict[str, tuple[str, str]] = {
    f"breastmnist_{size}": (
        "breastmnist",
        f"this data set is BreastMNIST at {size}x{size}; the MedMNIST v2 figures were obtained on "
        "28x28 images (resized to 224x224 for the (224) models); the setting column says which",
    )
    for size in (64, 128, 224)
}


def published_for(dataset: str) -> tuple[tuple[PublishedResult, ...], str]:
    """Published results for ``dataset`` (empty when none) and a note on how to read them."""
    base, alias_note = _ALIASES.get(dataset, (dataset, ""))
    note = "; ".join(n for n in (alias_note, NOTES.get(base, "")) if n)
    return PUBLISHED.get(base, ()), note


def cited(results: tuple[PublishedResult, ...]) -> list[str]:
    """The citation texts used by ``results``, each once, in order."""
    keys = list(dict.fromkeys(r.citation for r in results))
    return [CITATIONS[k] for k in keys]
