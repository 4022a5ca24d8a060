"""Interpretation: conv filters as PSSM logos, attention maps, t-SNE of the representation, confusion plots.

These are the paper's Figures 6-8 and Table 2. Figures are written with matplotlib (PNG by default; SVG or
PDF by the file suffix).
"""
from __future__ import annotations

import io
import pathlib

import numpy as np

from protloc.data import encoding
from protloc.data.features import TOKENS
from protloc.data.sequences import STANDARD_RESIDUES
from protloc.models import zoo

ALIGNED_LENGTH = 1000
"""Width of attention rows: the truncation length, so both termini of every protein reach an edge."""


def effective_pssms(model) -> list[tuple[int, int, np.ndarray]]:
    """Each conv filter's effect of amino acid a at offset j: the encoding row of a dotted with the kernel.

    Returns:
        ``(width, filter index, matrix)`` for every filter, the matrix of shape ``(20, width)`` (rows in
        STANDARD_RESIDUES order); entry [a, j] is the pre-activation contribution of residue a at offset j.
    """
    bank = model.get_layer(zoo.CONV_BANK_LAYER)
    table = encoding.feature_table(model.get_layer(zoo.ENCODING_LAYER).blocks)[1:1 + len(STANDARD_RESIDUES)]
    result = []
    for convolution in bank.convolutions:
        # (width, features, filters); the encoding's features come first, extra per-residue inputs after them
        kernel = np.asarray(convolution.kernel)[:, :table.shape[1]]
        width = kernel.shape[0]
        contributions = np.einsum("af,jfk->kaj", table, kernel)
        result += [(width, k, contributions[k]) for k in range(kernel.shape[2])]
    return result


def logo_heights(pssm: np.ndarray) -> np.ndarray:
    """Logo letter heights ``(20, width)``: each column shifted to a minimum of 0, tallest column summing to 1.

    Exactly one residue occupies each position, so a per-column constant only shifts the filter's bias:
    shifting by the column minimum keeps the filter's preferences and makes heights non-negative.
    """
    shifted = pssm - pssm.min(axis=0, keepdims=True)
    tallest = shifted.sum(axis=0).max()
    return shifted / tallest if tallest > 0 else shifted


def align_termini(alpha: np.ndarray, length: int, width: int = ALIGNED_LENGTH) -> np.ndarray:
    """One attention row of ``width``: the first ceil(n/2) residues at the left edge, the last floor(n/2)
    at the right edge, the middle padded with zeros (n = number of residues the model saw)."""
    if length > width:
        raise ValueError(f"a protein of {length} residues does not fit an aligned row of {width}")
    row = np.zeros(width, dtype=np.float32)
    head = length - length // 2
    row[:head] = alpha[:head]
    if length - head:
        row[width - (length - head):] = alpha[head:length]
    return row


def representations(model, batches) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Fixed-length representation, labels and (attention models) per-protein alpha of ``(features, labels)``
    batches (:class:`protloc.data.pipeline.BucketedBatches`).

    Returns:
        ``(features (n, d), labels (n,), alphas)``; ``alphas`` holds one array of length = residues per
        protein, empty for models without attention.
    """
    sub = zoo.representation_model(model)
    outputs, labels, alphas = [], [], []
    for inputs, batch_labels in batches:
        output = sub.predict_on_batch(_inputs_of(sub, inputs))
        if isinstance(output, (list, tuple)):
            context, alpha = (np.asarray(o) for o in output)
            lengths = np.count_nonzero(np.asarray(inputs[TOKENS]), axis=1)
            alphas += [a[:n] for a, n in zip(alpha, lengths)]
            output = context
        outputs.append(np.asarray(output))
        labels.append(np.asarray(batch_labels))
    return np.concatenate(outputs), np.concatenate(labels), alphas


def _figure_path(out, name: str, fmt: str) -> pathlib.Path:
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return out / f"{name}.{fmt}"


DPI = 100
"""Figures are ``figsize * DPI`` pixels (no tight bounding box, so sizes are predictable)."""


PNG_COLOURS = 256
"""PNG figures are stored with a palette of this many colours (a third to a quarter of the bytes of full colour; the
plots' flat colours and anti-aliased edges keep their look)."""


def _save(figure, path) -> pathlib.Path:
    import matplotlib.pyplot as plt

    from protloc.utils import files

    figure.tight_layout()
    with files.atomic_path(path) as temporary:
        if path.suffix == ".png":
            from PIL import Image

            drawn = io.BytesIO()
            figure.savefig(drawn, format="png", dpi=DPI)
            with Image.open(drawn) as image:
                image.convert("RGB").quantize(PNG_COLOURS).save(temporary, format="png", optimize=True)
        else:
            figure.savefig(temporary, format=path.suffix[1:], dpi=DPI)
    plt.close(figure)
    return path


def filter_responses(model, batches) -> np.ndarray:
    """Mean over proteins of each conv filter's largest activation along the sequence, ``(total filters,)``,
    in the order of :func:`effective_pssms`."""
    import keras

    sub = keras.Model(model.input, model.get_layer(zoo.CONV_BANK_LAYER).output)
    peaks = [np.asarray(sub.predict_on_batch(_inputs_of(sub, features))).max(axis=1) for features, _ in batches]
    return np.concatenate(peaks).mean(axis=0)


def _inputs_of(model, features: dict) -> dict:
    """The entries of a batch's ``features`` that ``model`` takes."""
    return {name: features[name] for name in zoo.input_names(model)}


def _logo_grid(items, title: str, path: pathlib.Path) -> pathlib.Path:
    """Draws ``(caption, pssm (20, width))`` items as logos in a grid of up to 5 columns."""
    import logomaker
    import matplotlib.pyplot as plt
    import pandas as pd

    columns = min(5, len(items))
    rows = -(-len(items) // columns)
    widest = max(matrix.shape[1] for _, matrix in items)
    figure, axes = plt.subplots(rows, columns, figsize=(max(2.5, 0.35 * widest) * columns, 2.0 * rows + 0.6),
                                squeeze=False)
    for axis in axes.flat[len(items):]:
        axis.axis("off")
    for axis, (caption, matrix) in zip(axes.flat, items):
        width = matrix.shape[1]
        logomaker.Logo(pd.DataFrame(logo_heights(matrix).T, columns=list(STANDARD_RESIDUES)), ax=axis,
                       color_scheme="chemistry")
        axis.set_title(caption, fontsize=9)
        axis.set_xticks(range(width), [str(j - width // 2) for j in range(width)], fontsize=6)
        axis.set_ylim(0, 1)
    figure.suptitle(title)
    return _save(figure, path)


def plot_filters(model, out, fmt: str = "png", batches=None, top: int = 10) -> list[pathlib.Path]:
    """Every conv filter as a PSSM logo, one figure per width; with ``batches``, also a grid of the ``top``
    filters with the largest mean peak activation on them. Returns the files written."""
    pssms = effective_pssms(model)
    written = []
    for width in sorted({w for w, _, _ in pssms}):
        items = [(f"width {w}, filter {k}", m) for w, k, m in pssms if w == width]
        written.append(_logo_grid(items, f"Conv filters of width {width} as PSSM logos (offset from the centre; "
                                         f"tallest column = 1)", _figure_path(out, f"filters_width_{width}", fmt)))
    if batches is not None:
        responses = filter_responses(model, batches)
        best = np.argsort(-responses)[:top]
        items = [(f"width {pssms[i][0]}, filter {pssms[i][1]} (mean peak {responses[i]:.2f})", pssms[i][2])
                 for i in best]
        written.append(_logo_grid(items, "Filters that respond most on the data",
                                  _figure_path(out, "filters_top", fmt)))
    return written


def plot_attention(alphas, labels, class_names, out, fmt: str = "png") -> tuple[pathlib.Path, np.ndarray]:
    """Paper Fig. 6: one row per protein, termini aligned, rows grouped by true compartment.

    Returns the file and the ``(n, 1000)`` array drawn.
    """
    import matplotlib.pyplot as plt

    order = np.argsort(labels, kind="stable")
    matrix = np.stack([align_termini(alphas[i], len(alphas[i])) for i in order])
    figure, axis = plt.subplots(figsize=(10, 8))
    image = axis.imshow(matrix, aspect="auto", cmap="viridis", interpolation="nearest",
                        vmax=np.quantile(matrix[matrix > 0], 0.99) if (matrix > 0).any() else None)
    boundaries = np.cumsum(np.bincount(np.asarray(labels)[order], minlength=len(class_names)))
    starts = np.concatenate([[0], boundaries[:-1]])
    for end in boundaries[:-1]:
        axis.axhline(end - 0.5, color="white", linewidth=0.6)
    axis.set_yticks([(s + e) / 2 for s, e in zip(starts, boundaries)], class_names, fontsize=8)
    axis.set_xticks([0, 250, 500, 750, 999], ["N-term", "250", "middle", "-250", "C-term"])
    axis.set_xlabel("position (first half from the N-terminus, second half to the C-terminus)")
    figure.colorbar(image, ax=axis, label="attention weight")
    axis.set_title("Attention over sequence positions, grouped by true compartment")
    return _save(figure, _figure_path(out, "attention", fmt)), matrix


def terminal_attention(alphas, labels, class_names, window: int = 50) -> str:
    """Where attention sits, measured: per true class, the mean share of each protein's attention on its first
    and on its last ``window`` residues, beside the share a uniform alpha would give (window / n, at most 1).

    Args:
        alphas: one 1-D alpha array per protein (summing to 1 over the residues the model saw).
        labels: true class index per protein.
        class_names: names of the classes.
        window: residues counted at each terminus.

    Returns:
        a Markdown table, one row per class that has proteins.
    """
    labels = np.asarray(labels)
    head = np.array([alpha[:window].sum() for alpha in alphas])
    tail = np.array([alpha[-window:].sum() for alpha in alphas])
    uniform = np.array([min(window / len(alpha), 1.0) for alpha in alphas])
    lines = [f"| class | proteins | N-terminal {window} share | C-terminal {window} share | uniform share |",
             "|---|---:|---:|---:|---:|"]
    for index, name in enumerate(class_names):
        members = labels == index
        if members.any():
            lines.append(f"| {name} | {members.sum()} | {head[members].mean():.3f} | {tail[members].mean():.3f} | "
                         f"{uniform[members].mean():.3f} |")
    return "\n".join(lines) + "\n"


def plot_tsne(features, labels, class_names, out, fmt: str = "png", seed: int = 0) -> pathlib.Path:
    """Paper Fig. 7: t-SNE of the fixed-length representation, coloured by true compartment."""
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    perplexity = min(30.0, max(2.0, (len(features) - 1) / 3))
    points = TSNE(n_components=2, perplexity=perplexity, random_state=seed, init="pca").fit_transform(features)
    figure, axis = plt.subplots(figsize=(8, 7))
    colours = plt.get_cmap("tab20")
    for index, name in enumerate(class_names):
        chosen = np.asarray(labels) == index
        axis.scatter(points[chosen, 0], points[chosen, 1], s=6, color=colours(index), label=name)
    axis.legend(markerscale=3, fontsize=8, loc="best")
    axis.set_title("t-SNE of the fixed-length representation")
    axis.set_xticks([])
    axis.set_yticks([])
    return _save(figure, _figure_path(out, "tsne", fmt))


def plot_confusion(report: dict, out, fmt: str = "png") -> pathlib.Path:
    """Table 2 as a figure: counts, rows true and columns predicted compartment."""
    import matplotlib.pyplot as plt

    matrix = np.asarray(report["confusion_matrix"])
    names = report["class_names"]
    figure, axis = plt.subplots(figsize=(8, 7))
    image = axis.imshow(matrix, cmap="Blues")
    for (i, j), value in np.ndenumerate(matrix):
        axis.text(j, i, str(value), ha="center", va="center", fontsize=7,
                  color="white" if value > matrix.max() / 2 else "black")
    axis.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
    axis.set_yticks(range(len(names)), names, fontsize=8)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(f"Confusion matrix (accuracy {report['accuracy']:.3f}, n = {report['n']})")
    figure.colorbar(image, ax=axis, label="proteins")
    return _save(figure, _figure_path(out, "confusion", fmt))
