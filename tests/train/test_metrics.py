"""Metrics against scikit-learn's independent implementations."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, cohen_kappa_score, jaccard_score, recall_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from comix.train.metrics import confusion_matrix, segmentation_metrics


def test_metrics_match_sklearn_on_labelled_pixels():
    rng = np.random.default_rng(0)
    reference = rng.integers(0, 6, size=(37, 41))  # 0 = unlabelled, classes 1..5
    predicted = np.where(
        rng.random(reference.shape) < 0.7, reference, rng.integers(1, 6, reference.shape)
    )
    predicted[reference == 0] = rng.integers(1, 6, size=(reference == 0).sum())
    m = segmentation_metrics(reference, predicted, num_classes=5)
    keep = reference != 0
    ref, pred = reference[keep], predicted[keep]
    assert m.pixels == keep.sum()
    assert m.overall_accuracy == pytest.approx(accuracy_score(ref, pred))
    assert m.average_accuracy == pytest.approx(recall_score(ref, pred, average="macro"))
    assert m.kappa == pytest.approx(cohen_kappa_score(ref, pred))
    assert m.mean_iou == pytest.approx(jaccard_score(ref, pred, average="macro"))
    np.testing.assert_allclose(m.per_class_accuracy, recall_score(ref, pred, average=None))
    np.testing.assert_array_equal(
        confusion_matrix(reference, predicted, 5),
        sk_confusion_matrix(ref, pred, labels=[1, 2, 3, 4, 5]),
    )


def test_absent_class_is_nan_and_left_out_of_means():
    reference = np.array([1, 1, 2, 2, 0])
    predicted = np.array([1, 2, 2, 2, 3])
    m = segmentation_metrics(reference, predicted, num_classes=3)
    assert np.isnan(m.per_class_accuracy[2])
    assert m.average_accuracy == pytest.approx((0.5 + 1.0) / 2)


def test_out_of_range_prediction_is_refused():
    with pytest.raises(
        ValueError, match=r"prediction has class values outside 1..3: got min 1, max 4"
    ):
        segmentation_metrics(np.array([1, 2]), np.array([1, 4]), num_classes=3)


def test_no_labelled_pixels_is_refused():
    with pytest.raises(ValueError, match="no labelled pixels"):
        segmentation_metrics(np.zeros((3, 3), int), np.ones((3, 3), int), num_classes=2)
