"""Train a genre classifier on 3 s GTZAN segments: ``python -m machinery.train``.

``python -m machinery.train lstm|cnn|transfer --out FILE.keras [--data-dir DIR] [--epochs N] [--seed S]`` trains on
every GTZAN clip in the data directory, prints the held-out accuracy and writes one ``.keras`` file for
:mod:`machinery.predict`. Every kind runs :func:`machinery.segments.segment_dataset`, the 60/15/25 clip split,
:func:`fit_model` (``Normalization`` adapted on the training segments inside the model, ``EarlyStopping``),
:func:`helpers.evaluation.evaluate` and :func:`machinery.modelio.save_model`. Notebooks 07 and 08 write these steps
in their own cells. ``transfer`` fits a logistic regression on the embeddings of musicnn's pretrained MSD_musicnn
tagger (:mod:`machinery.musicnn`; notebook 09 teaches the recipe on MSD_vgg) of 2.992 s patches at 16 kHz, each scaled
to -20 dBFS, with copies of each training clip changed as a learner's recordings differ (noise, band limit, pitch,
tempo, MP3: :data:`machinery.segments.AUGMENTATIONS`, issue 29), and saves tagger + regression (as Keras layers) as
one model, with the statistics that :func:`machinery.predict.is_unsure` needs.
Exit status: 0 when fine, 1 when training failed (e.g. no data), 2 for usage errors, 130 on Ctrl-C.
"""
from __future__ import annotations

if __name__ == "__main__":  # first: Ctrl-C while the imports below load is one line
    __import__("machinery").on_interrupt("interrupted; nothing was written")

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from helpers.audio import DEFAULT_SR
from helpers.config import import_tensorflow, seed_everything
from helpers.datasets import gtzan_clips
from helpers.errors import CourseError
from helpers.evaluation import evaluate, group_train_val_test_split
from helpers.models import (CNN_SPEC, MFCC_SPEC, TEST_SIZE, TRANSFER_SPEC, VAL_SIZE, build_cnn, build_lstm,
                            mahalanobis, model_input)
from helpers.pretrained import PATCH_SECONDS, MUSICNN_SR

from . import on_interrupt
from .clips import CLIP_RECORD, changed_clips
from .modelio import save_model
from .musicnn import load_musicnn, musicnn_embedding_model
from .segments import AUGMENTED, add_augmented_copies, segment_dataset
from .store import cached, digest

__all__ = ["KINDS", "FAMILIAR_COPIES", "familiar_recordings", "fit_model", "tagger_embeddings", "transfer_head", "unsure_statistics", "main"]

_DEFAULT_EPOCHS, _DEFAULT_SEED = 40, 42
#: Model kinds: (feature spec, builder, sample rate, segment seconds). ``transfer``: logistic regression on musicnn's
#: embeddings (:func:`fit_model`), no network to build.
KINDS = {"lstm": (MFCC_SPEC, build_lstm, DEFAULT_SR, 3.0), "cnn": (CNN_SPEC, build_cnn, DEFAULT_SR, 3.0),
         "transfer": (TRANSFER_SPEC, None, MUSICNN_SR, PATCH_SECONDS)}
#: The training copies (:func:`add_augmented_copies`) that the unsure statistics count as familiar besides the clips:
#: the band-limited ones. A phone or a low sample rate cuts the top of any music without making it less music, and
#: the model, trained on such copies, is right on it about as often as on the clips; counted as unfamiliar, they made
#: a third of the telephone-band GTZAN clips "unsure". Noisy, pitch, tempo and MP3 copies stay out: with them, pink
#: noise, babble and a noisy reading looked familiar too (``benchmarks/unsure.py``, issue 29).
FAMILIAR_COPIES = ("band",)


def _require_classes(groups: Sequence, labels: Sequence, *, min_groups: int = 3, names: Sequence | None = None) -> None:
    """Refuse data that a classifier cannot learn from and be tested on, before any training.

    ``groups`` and ``labels`` give every row's clip and class; ``names[label]`` (optional) names a class in
    the message. Raises :class:`CourseError` with fewer than two classes, or naming the classes with fewer
    than ``min_groups`` clips (3: one each for training, validation and test).

    Examples
    --------
    >>> _require_classes(["a", "b", "c", "d", "e", "f"], [0, 0, 0, 1, 1, 1])
    >>> _require_classes(["a", "b", "c"], [0, 0, 0])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    helpers.errors.CourseError: only one genre (0) in the data: ...
    """
    per_class = pd.Series(np.asarray(labels)).groupby(np.asarray(groups), sort=False).first().value_counts()
    show = (lambda c: names[c]) if names is not None else (lambda c: c)
    if len(per_class) < 2:
        only = show(per_class.index[0]) if len(per_class) else "none"
        raise CourseError(f"only one genre ({only}) in the data: a classifier needs at least two genres to learn from")
    few = per_class[per_class < min_groups]
    if len(few):
        listed = ", ".join(f"{show(c)} ({n})" for c, n in few.items())
        raise CourseError(f"too few clips for a train/validation/test split: {listed}; "
                          f"each genre needs at least {min_groups} clips")


def fit_model(kind: str, X: np.ndarray, y: np.ndarray, parts: dict[str, np.ndarray], *, epochs: int = _DEFAULT_EPOCHS,
              seed: int = _DEFAULT_SEED, patience: int = 5, batch_size: int = 32,
              data_root: str | os.PathLike | None = None, groups: np.ndarray | None = None) -> tuple[Any, dict[str, list]]:
    """Build the model of ``kind`` with a Normalization layer adapted on the training rows, and fit it.

    ``Normalization(axis=-1)`` learns a mean and variance per MFCC (one for the CNN's channel) from
    ``X[parts["train"]]`` only; ``fit`` stops after ``patience`` epochs without a lower validation loss
    and keeps the best epoch's weights. ``transfer`` instead fits notebook 09's ``StandardScaler`` +
    ``LogisticRegression(C=0.1)`` (values that do not vary left out) on the frozen tagger's embeddings (weights
    from ``data_root``, default the data directory) of the training, validation and ``parts["augmented"]`` rows
    (:func:`add_augmented_copies`), and
    returns tagger + those two as Keras layers; given ``groups`` (the clip of every row), ``history["unsure"]``
    holds :func:`unsure_statistics` of the training and validation clips (and of the copies of
    :data:`FAMILIAR_COPIES`), with which :mod:`machinery.predict`
    tells when a recording is unlike them. The tagger's embeddings are cached (:func:`machinery.store.cached`), keyed
    by the embedding model's layers and weights and the patches' content, so the same fit again (another run of a
    notebook) skips the tagger. Returns ``(model, history)``: per-epoch ``loss``, ``accuracy``, ``val_loss``,
    ``val_accuracy``, and ``best_epoch`` (1-based, one item).

    Examples
    --------
    >>> model, history = fit_model("lstm", np.zeros((12, 130, 13)), np.arange(12) % 2, {"train": np.arange(8),
    ...                            "val": np.arange(8, 12)}, epochs=1)
    >>> history["best_epoch"]
    [1]
    """
    import keras

    import_tensorflow()  # before seeding: seed_everything then also makes TensorFlow deterministic
    seed_everything(seed)
    X, y = model_input(X, kind), np.asarray(y)
    if kind == "transfer":
        return _fit_transfer(X, y, parts, data_root, groups)
    norm = keras.layers.Normalization(axis=-1, name="normalise")
    norm.adapt(X[parts["train"]])
    model = KINDS[kind][1](X.shape[1:], int(y.max()) + 1, norm=norm)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    hist = model.fit(X[parts["train"]], y[parts["train"]], validation_data=(X[parts["val"]], y[parts["val"]]),
                     epochs=epochs, batch_size=batch_size, callbacks=[stop], verbose=0)
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    history["best_epoch"] = [int(np.argmin(history["val_loss"])) + 1]
    return model, history


def unsure_statistics(Z: np.ndarray, groups: np.ndarray, *, origins: np.ndarray | None = None, quantile: float = 0.95,
                      folds: int = 5, seed: int = _DEFAULT_SEED) -> dict[str, Any]:
    """How far from the training clips a recording may lie: a shrunk Gaussian of recordings' mean embeddings.

    ``Z``: standardised embeddings, one row per patch; ``groups``: each row's recording (a clip, or a changed copy of
    one); ``origins``: each row's clip (a copy's original; default ``groups``). The recordings' mean rows get a
    mean and a Ledoit-Wolf covariance (``sklearn.covariance.LedoitWolf``: ``s * mu * I + (1 - s) * S``), kept as
    ``center``, ``scale`` (``s * mu``) and ``components``, rows ``v_i * sqrt(l_i / (a (a + l_i)))`` for each
    eigenvector ``v_i`` of ``(1 - s) * S`` with eigenvalue ``l_i``, so that the squared Mahalanobis distance of
    ``x`` is ``|x - center|^2 / scale - |components @ (x - center)|^2``. ``threshold``: the ``quantile`` of the
    distances of clips held out of the fit (``folds``-fold cross-validation by clip: a clip and its copies are held
    out together; only clips themselves count), so that about ``1 - quantile`` of clips like the training clips
    lie beyond it; ``false_alarms``: that share, measured; ``clips``: how many clips (copies not counted).

    Examples
    --------
    >>> Z = np.random.default_rng(0).standard_normal((40, 8))
    >>> stats = unsure_statistics(Z, np.arange(40) // 2)
    >>> np.shape(stats["components"])[1], stats["quantile"], stats["clips"]
    (8, 0.95, 20)
    >>> clip = (np.arange(40) // 4).astype(str)  # 10 clips, each with a copy: "0", "0~band", "1", ...
    >>> copies = unsure_statistics(Z, np.where(np.arange(40) % 4 < 2, clip, np.char.add(clip, "~band")), origins=clip)
    >>> copies["clips"], copies["false_alarms"] <= 0.1
    (10, True)
    """
    from sklearn.covariance import LedoitWolf
    from sklearn.model_selection import KFold

    ids, first, groups = np.unique(np.asarray(groups), return_index=True, return_inverse=True)
    M = np.stack([np.mean(Z[groups == i], axis=0) for i in range(len(ids))]).astype(np.float64)
    origin = ids if origins is None else np.asarray(origins)[first]  # each recording's clip
    clips, clip_of = np.unique(origin, return_inverse=True)
    original = ids == origin  # the clips themselves, not their copies

    def fit(A: np.ndarray) -> dict[str, Any]:
        lw = LedoitWolf().fit(A)
        _, sv, vt = np.linalg.svd(A - A.mean(axis=0), full_matrices=False)
        s, lam = lw.shrinkage_, (1 - lw.shrinkage_) * sv ** 2 / len(A)
        a = s * np.sum(sv ** 2) / len(A) / A.shape[1]
        return {"center": A.mean(axis=0), "scale": float(a), "components": vt * np.sqrt(lam / (a * (a + lam)))[:, None]}

    held = np.zeros(len(M))
    for rest, out in KFold(min(folds, len(clips)), shuffle=True, random_state=seed).split(clips):
        fitted, scored = np.isin(clip_of, rest), np.isin(clip_of, out)
        held[scored] = mahalanobis(M[scored], fit(M[fitted]))
    threshold = float(np.quantile(held[original], quantile))
    return {**fit(M), "threshold": threshold, "quantile": quantile, "clips": int(original.sum()),
            "false_alarms": float(np.mean(held[original] > threshold))}


def tagger_embeddings(base: Any, patches: np.ndarray) -> np.ndarray:
    """``base.predict(patches)`` for the tagger's embedding model, cached (:func:`machinery.store.cached`): keyed
    by the model's layers (``to_json``) and weights and the patches' bytes, so the same patches again skip the
    tagger, and any change of input, weights or network computes them afresh.

    Examples
    --------
    >>> base = musicnn_embedding_model(load_musicnn())  # doctest: +SKIP
    >>> tagger_embeddings(base, np.zeros((2, 187, 96), np.float32)).shape  # doctest: +SKIP
    (2, 1506)
    """
    key = {"model": digest(base.to_json()), "weights": digest(*base.get_weights()), "patches": digest(patches)}
    return cached("embeddings", key, lambda: {"E": base.predict(patches, batch_size=64, verbose=0)})["E"]


def familiar_recordings(clips: Sequence, copied_from: Sequence, kinds: Sequence, *,
                        familiar: Sequence[str] = FAMILIAR_COPIES) -> tuple[np.ndarray, np.ndarray]:
    """The ``groups`` and ``origins`` of :func:`transfer_head` for rows that are clean patches (their clips,
    ``clips``) followed by changed copies (copied from ``copied_from``, changed by ``kinds``): a copy of a kind in
    ``familiar`` (:data:`FAMILIAR_COPIES`) is the recording ``"<clip>~<kind>"``, any other copy ``""`` (not counted).

    Examples
    --------
    >>> familiar_recordings(["a", "a", "b"], ["a", "b"], ["band", "noise"])
    (array(['a', 'a', 'b', 'a~band', ''], dtype=object), array(['a', 'a', 'b', 'a', 'b'], dtype=object))
    """
    of, kind = np.asarray(copied_from, dtype=object), np.asarray(kinds, dtype=object)
    names = np.where(np.isin(kind, list(familiar)), of + "~" + kind, "")
    return (np.concatenate([np.asarray(clips, dtype=object), names]),
            np.concatenate([np.asarray(clips, dtype=object), of]))


def transfer_head(embeddings: np.ndarray, labels: np.ndarray, *, n_classes: int, groups: np.ndarray | None = None,
                  origins: np.ndarray | None = None) -> dict[str, Any]:
    """Fit the transfer model's head on a tagger's embeddings, one row per patch: ``VarianceThreshold(1e-8)``,
    ``StandardScaler`` and ``LogisticRegression(C=0.1)``.

    About 1,080 of MSD_musicnn's 1,506 pooled values hardly change on music (units that stay off, or that differ only
    in float32 rounding; their standard deviation is below 1e-4). The ``VarianceThreshold`` leaves them out of the fit:
    scaled to unit variance, rounding noise would become features, and another CPU's rounding another answer.

    Returns ``pipe`` (the fitted pipeline), ``mean`` and ``variance`` per value (a variance of 1 where a value is left
    out, so that ``(x - mean) / sqrt(variance)`` is what the Keras model's ``normalise`` layer gives) and, given
    ``groups`` (each row's recording: a clip, a copy of one, or ``""`` for rows left out) and ``origins`` (each row's
    clip; default ``groups``), ``unsure``: :func:`unsure_statistics` of the rows named, standardised, with
    ``min_top_probability`` (twice chance, at most 0.5). Which copies to name is the caller's choice
    (:data:`FAMILIAR_COPIES`): a noisy copy is not what the model should call familiar.

    Examples
    --------
    >>> E = np.random.default_rng(0).standard_normal((60, 5)) + np.repeat(np.eye(3, 5) * 4, 20, axis=0)
    >>> head = transfer_head(E, np.repeat([0, 1, 2], 20), n_classes=3, groups=(np.arange(60) // 4).astype(str))
    >>> head["pipe"].score(E, np.repeat([0, 1, 2], 20)), head["unsure"]["min_top_probability"], head["unsure"]["clips"]
    (1.0, 0.5, 15)
    """
    from sklearn.feature_selection import VarianceThreshold
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(VarianceThreshold(1e-8), StandardScaler(),
                         LogisticRegression(C=0.1, max_iter=3000)).fit(embeddings, labels)
    kept, scaler = pipe[0].get_support(), pipe[1]
    mean, variance = embeddings.mean(axis=0), np.ones(len(kept))
    mean[kept], variance[kept] = scaler.mean_, scaler.var_
    head = {"pipe": pipe, "mean": mean, "variance": variance}
    if groups is not None:
        named = np.asarray(groups) != ""
        z = (embeddings[named] - mean) / np.sqrt(variance)
        stats = unsure_statistics(z, np.asarray(groups)[named], origins=None if origins is None else np.asarray(origins)[named])
        head["unsure"] = {**stats, "min_top_probability": min(0.5, 2 / n_classes)}
    return head


def _fit_transfer(X: np.ndarray, y: np.ndarray, parts: dict[str, np.ndarray], data_root: Any,
                  groups: np.ndarray | None) -> tuple[Any, dict]:
    """Notebook 09's recipe (embeddings + logistic regression, :func:`transfer_head`) as one Keras model: the fitted
    scaler and classifier are copied into a ``Normalization`` and a softmax ``Dense`` layer on the frozen tagger's
    embeddings. The values that the head leaves out keep a weight of zero."""
    import keras
    from sklearn.metrics import accuracy_score, log_loss

    base = musicnn_embedding_model(load_musicnn(root=data_root))
    rows = np.concatenate([parts["train"], parts["val"], parts.get("augmented", [])]).astype(int)  # the validation clips train too
    if missing := sorted(set(range(n := int(y.max()) + 1)) - set(y[rows].tolist())):
        raise CourseError(f"the training clips lack genre(s) {missing}")
    # every clean patch, the test clips' too (nothing is fitted on them), and the copies: two cache entries, the first
    # the one that notebook 11 reads back for its cross-validation on all clips
    n_clean = len(X) - len(parts.get("augmented", []))
    embeddings = tagger_embeddings(base, X[:n_clean])
    if n_clean < len(X):
        embeddings = np.concatenate([embeddings, tagger_embeddings(base, X[n_clean:])])
    embeddings = embeddings[rows]
    names = origins = None
    if groups is not None:
        clean = len(parts["train"]) + len(parts["val"])
        unknown = np.full(len(rows) - clean, "")  # copies that do not say what they are: not counted
        names, origins = familiar_recordings(np.asarray(groups)[rows[:clean]], parts.get("augmented_clip_id", unknown),
                                             parts.get("augmented_kind", unknown))
    fitted = transfer_head(embeddings, y[rows], n_classes=n, groups=names, origins=origins)
    pipe, mean, variance = fitted["pipe"], fitted["mean"], fitted["variance"]
    kept, clf = pipe[0].get_support(), pipe[-1]
    coef, bias = np.zeros((len(clf.coef_), len(kept))), clf.intercept_
    coef[:, kept] = clf.coef_
    if n == 2:  # a binary regression has one weight row: softmax over (-z/2, z/2) gives its sigmoid
        coef, bias = np.vstack([-coef, coef]) / 2, np.r_[-bias, bias] / 2
    norm = keras.layers.Normalization(axis=-1, mean=mean, variance=variance, name="normalise")
    head = keras.layers.Dense(n, activation="softmax", name="genre")
    model = keras.Model(base.input, head(norm(base.output)), name="msd_musicnn_transfer")
    head.set_weights([coef.T.astype(np.float32), bias.astype(np.float32)])
    proba = pipe.predict_proba(embeddings)  # what the model gives (tests/test_cli.py), without a second pass
    loss, acc = log_loss(y[rows], proba, labels=range(n)), accuracy_score(y[rows], proba.argmax(axis=1))
    history = {"loss": [loss], "accuracy": [acc], "val_loss": [loss], "val_accuracy": [acc], "best_epoch": [1]}
    if "unsure" in fitted:
        history["unsure"] = [fitted["unsure"]]
    return model, history


def _run(args: argparse.Namespace) -> int:
    """Train one model kind on the GTZAN clips in ``args.data_dir`` and save it (the command line's work)."""
    clips = gtzan_clips(args.data_dir)
    if changed := changed_clips(clips):  # content, not names: a clip replaced under its name is not GTZAN's
        named = [f"{c} {why}" for c, why in changed.items()]
        print(f"warning: {len(changed)} GTZAN clip(s) differ from the course's record ({CLIP_RECORD.name}): "
              + "; ".join(named[:3] + [f"and {len(named) - 3} more"] * (len(named) > 3)), file=sys.stderr)
    spec, _, sr, seconds = KINDS[args.model]
    ds = segment_dataset(clips, spec, sr=sr, segment_seconds=seconds, progress=sys.stderr.isatty())
    print(f"data: {len(clips)} GTZAN clips -> {len(ds['y'])} segments of {ds['segment_seconds']:g} s, "
          f"{len(ds['genres'])} genres; skipped {len(ds['skipped'])} clip(s)")
    print("".join(f"  skipped {line}\n" for line in ds["skipped"]), end="")
    _require_classes(ds["clip_id"], ds["y"], names=ds["genres"])
    tr, va, te = group_train_val_test_split(ds["clip_id"], labels=ds["y"], val_size=VAL_SIZE, test_size=TEST_SIZE, seed=args.seed)
    split = (f"random split by clip, stratified by genre, 60/15/25 (seed {args.seed}): "
             f"{len(set(ds['clip_id'][tr]))}/{len(set(ds['clip_id'][va]))}/{len(set(ds['clip_id'][te]))} clips")
    X, y, parts = (add_augmented_copies(ds, clips, {"train": tr, "val": va}, seed=args.seed) if args.model == "transfer"
                   else (ds["X"], ds["y"], {"train": tr, "val": va}))
    model, history = fit_model(args.model, X, y, parts, epochs=args.epochs, seed=args.seed, data_root=args.data_dir,
                               groups=np.concatenate([ds["clip_id"], np.full(len(X) - len(ds["X"]), "")]))
    test = evaluate(model, model_input(ds["X"][te], args.model), ds["y"][te], ds["clip_id"][te])
    path = save_model(model, args.out, {
        "kind": args.model, "genres": [str(g) for g in ds["genres"]], "sample_rate": ds["sample_rate"],
        "segment_seconds": ds["segment_seconds"], "feature_spec": ds["spec"], "split": split, "seed": args.seed,
        "epochs_run": len(history["loss"]), "best_epoch": history["best_epoch"][0],
        **({"unsure": history["unsure"][0]} if "unsure" in history else {}),
        **({"augmentation": AUGMENTED} if "augmented" in parts else {}),
        "test_metrics": {k: v for k, v in test.items() if not isinstance(v, np.ndarray)}})
    fit = ("fit: logistic regression on the pretrained tagger's embeddings (training + validation clips, and "
           f"{AUGMENTED}: {len(set(ds['clip_id'][tr]))} clips)"
           if args.model == "transfer" else f"epochs run: {len(history['loss'])} (best by validation loss: {history['best_epoch'][0]})")
    print(f"split: {split}\n{fit}\n"
          f"test segments: {test['n_segments']}, test clips: {test['n_clips']}\n"
          f"test accuracy per segment: {test['segment_accuracy']:.3f}\n"
          f"test accuracy per clip (majority vote): {test['clip_accuracy_majority']:.3f}\n"
          f"held-out clip-level accuracy (mean probability): {test['clip_accuracy_mean']:.3f}\nmodel written to {path}")
    return 0


def _unwritable(path: Path) -> str | None:
    """Why a model cannot be written at ``path`` (a folder, under a file, not writable), or None."""
    if path.is_dir():
        return "is a folder; name a .keras file"
    parent = next(p for p in path.parents if p.exists())  # the nearest folder (or file) that exists
    if not parent.is_dir():
        return f"{parent} is a file, not a folder"
    return None if os.access(parent, os.W_OK | os.X_OK) else f"the folder {parent} is not writable"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring).

    Examples
    --------
    >>> main(["lstm", "--out", "build/models/lstm.keras", "--epochs", "30"])  # doctest: +SKIP
    0
    """
    parser = argparse.ArgumentParser(prog="python -m machinery.train", description="Train a genre classifier on the "
                                     "GTZAN clips in the data directory and save it as one .keras file.")
    sub = parser.add_subparsers(dest="model", required=True, metavar="{lstm,cnn,transfer}")
    for name, text in (("lstm", "LSTM on 3 s MFCC sequences (notebook 07)"), ("cnn", "CNN on 3 s log-mel images (notebook 08)"),
                       ("transfer", "logistic regression on the pretrained musicnn tagger's embeddings (notebook 09); "
                                    "--epochs does not apply")):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--out", required=True, type=Path, help="model file to write (.keras)")
        p.add_argument("--data-dir", type=Path, default=None, help="data directory (default: $COURSE_DATA_DIR or <repo>/data)")
        p.add_argument("--epochs", type=int, default=_DEFAULT_EPOCHS, help=f"maximum epochs, early stopping on validation loss (default {_DEFAULT_EPOCHS})")
        p.add_argument("--seed", type=int, default=_DEFAULT_SEED, help=f"random seed (default {_DEFAULT_SEED})")
    args = parser.parse_args(argv)
    # checked before any work, so that a bad option does not waste a training run
    for bad, message in ((args.out.suffix != ".keras", f"--out must name a .keras file, got {args.out}"),
                         (args.epochs < 1, f"--epochs must be at least 1, got {args.epochs}"),
                         (args.data_dir is not None and not args.data_dir.is_dir(), f"--data-dir {args.data_dir} is not a folder"),
                         (_unwritable(args.out), f"--out {args.out}: {_unwritable(args.out)}")):
        if bad:
            parser.error(message)
    existed = args.out.exists()
    import_tensorflow()  # without its start-up log lines, so an error is the only line on stderr
    try:
        on_interrupt(None)  # from here Ctrl-C is a KeyboardInterrupt: save_model removes its partial file
        return _run(args)
    except KeyboardInterrupt:
        print("interrupted; " + ("the previous model is unchanged" if existed else "nothing was written"), file=sys.stderr)
        return 130
    except (CourseError, ValueError) as exc:  # ValueError: e.g. from Keras, for data it cannot use
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
