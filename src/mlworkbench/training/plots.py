"""Figures people would rather see than read: metric@k curves, model vs baseline."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def metric_curves(
    curves: dict[str, dict[str, list[float]]], title: str
) -> Figure:
    """One panel per metric; one line per model (e.g. {"als": {...}, "popularity": {...}})."""
    metrics = list(next(iter(curves.values())))
    figure, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.4), squeeze=False)
    for axis, metric in zip(axes[0], metrics, strict=True):
        for model, values in curves.items():
            ks = range(1, len(values[metric]) + 1)
            axis.plot(ks, values[metric], marker="o", markersize=3, label=model)
        axis.set_title(f"{metric}@k")
        axis.set_xlabel("k")
        axis.grid(alpha=0.3)
    axes[0][0].legend()
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def close(figure: Figure) -> None:
    plt.close(figure)


def metric_by_parameter(results, parameters: list[str], metric: str) -> Figure:
    """One panel per parameter: every trial's ``metric`` against that parameter's value."""
    figure, axes = plt.subplots(1, len(parameters), figsize=(4 * len(parameters), 3.4),
                                squeeze=False)
    for axis, name in zip(axes[0], parameters, strict=True):
        axis.scatter(results[name], results[metric], alpha=0.6)
        best = results.groupby(name)[metric].max().sort_index()
        axis.plot(best.index, best.to_numpy(), color="C1", label="best per value")
        axis.set_xlabel(name)
        axis.set_ylabel(metric)
        axis.grid(alpha=0.3)
    axes[0][0].legend()
    figure.suptitle(f"{metric} by hyperparameter")
    figure.tight_layout()
    return figure
