"""Fast input pipelines: TFRecord shards, ``tf.data`` readers, spectrogram augmentation.

A training loop on a GPU or TPU spends much of its time waiting for data when
the data comes from a Python loop. The pattern here is the standard one:

1. write the examples once as a few *shards* of TFRecord files
   (:func:`write_tfrecord_shards`), each example holding the feature array,
   its integer label and its clip id;
2. read them back with ``tf.data`` (:func:`tfrecord_dataset`): parallel
   interleave over the shards, parse, cache, shuffle, augment, batch, prefetch.

:func:`spec_augment_fn` makes a ``tf.data`` map function for SpecAugment-style
augmentation (random time shift plus time and frequency masks), and
:func:`choose_strategy` picks a distribution strategy for the devices present.

TensorFlow is imported inside the functions, so importing this module is cheap.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from .errors import CourseError

__all__ = [
    "serialize_example",
    "parse_example_fn",
    "write_tfrecord_shards",
    "read_tfrecords",
    "tfrecord_dataset",
    "array_dataset",
    "spec_augment_fn",
    "choose_strategy",
    "python_batches",
]

logger = logging.getLogger(__name__)


def serialize_example(features: np.ndarray, label: int, clip_id: str) -> bytes:
    """Encode one example as a serialised ``tf.train.Example``.

    The features are stored as raw float32 bytes together with their shape,
    so reading them back is exact (no text conversion, no rounding).

    Parameters
    ----------
    features : numpy.ndarray
        The example's feature array (any shape), converted to float32.
    label : int
        Integer class label.
    clip_id : str
        The clip the example was cut from (e.g. ``"blues.00000"``).

    Returns
    -------
    bytes
        The serialised protocol buffer.
    """
    import tensorflow as tf

    arr = np.ascontiguousarray(features, dtype=np.float32)
    feature = {
        "features": tf.train.Feature(bytes_list=tf.train.BytesList(value=[arr.tobytes()])),
        "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=list(arr.shape))),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
        "clip_id": tf.train.Feature(bytes_list=tf.train.BytesList(value=[str(clip_id).encode("utf-8")])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def parse_example_fn(feature_shape: Sequence[int], *, with_clip_id: bool = False) -> Callable:
    """Make the ``tf.data`` map function that parses examples of :func:`serialize_example`.

    Parameters
    ----------
    feature_shape : sequence of int
        Shape of every feature array (static shapes let Keras build the model).
    with_clip_id : bool
        Return ``(features, label, clip_id)`` instead of ``(features, label)``.

    Returns
    -------
    callable
        ``parse(serialized) -> (features, label[, clip_id])`` with float32
        features of ``feature_shape`` and an int32 label.
    """
    import tensorflow as tf

    shape = [int(s) for s in feature_shape]
    spec = {
        "features": tf.io.FixedLenFeature([], tf.string),
        "shape": tf.io.VarLenFeature(tf.int64),
        "label": tf.io.FixedLenFeature([], tf.int64),
        "clip_id": tf.io.FixedLenFeature([], tf.string),
    }

    def parse(serialized):
        ex = tf.io.parse_single_example(serialized, spec)
        x = tf.reshape(tf.io.decode_raw(ex["features"], tf.float32), shape)
        y = tf.cast(ex["label"], tf.int32)
        if with_clip_id:
            return x, y, ex["clip_id"]
        return x, y

    return parse


def write_tfrecord_shards(
    X: np.ndarray,
    y: Sequence[int],
    clip_ids: Sequence[str],
    out_dir: Path | str,
    *,
    n_shards: int = 4,
    prefix: str = "segments",
) -> list[Path]:
    """Write examples as ``n_shards`` TFRecord files, all segments of a clip in one shard.

    Parameters
    ----------
    X : numpy.ndarray
        Features, shape ``(n, ...)``.
    y : sequence of int
        Integer labels, one per row.
    clip_ids : sequence of str
        Clip id of every row.
    out_dir : path-like
        Folder for the shards (created); existing shards with the same prefix are replaced.
    n_shards : int
        Number of files. Several shards let ``tf.data`` read in parallel.
    prefix : str
        File name prefix: ``<prefix>-00000-of-00004.tfrecord``.

    Returns
    -------
    list of pathlib.Path
        The shard files, in order.

    Raises
    ------
    ValueError
        If the lengths differ or ``n_shards`` is not positive.
    """
    import tensorflow as tf

    X = np.asarray(X)
    y = np.asarray(y)
    clip_ids = np.asarray(clip_ids).astype(str)
    if not (len(X) == len(y) == len(clip_ids)):
        raise ValueError(f"X, y and clip_ids must have one row per example; got {len(X)}, {len(y)}, {len(clip_ids)}")
    if n_shards < 1:
        raise ValueError(f"n_shards must be positive, got {n_shards}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(f"{prefix}-*.tfrecord"):
        old.unlink()
    # a clip's segments go to one shard (stable, by order of first appearance)
    unique = list(dict.fromkeys(clip_ids.tolist()))
    shard_of = {cid: i % n_shards for i, cid in enumerate(unique)}
    paths = [out / f"{prefix}-{i:05d}-of-{n_shards:05d}.tfrecord" for i in range(n_shards)]
    writers = [tf.io.TFRecordWriter(str(p)) for p in paths]
    try:
        for xi, yi, ci in zip(X, y, clip_ids):
            writers[shard_of[ci]].write(serialize_example(xi, int(yi), ci))
    finally:
        for w in writers:
            w.close()
    logger.info("wrote %d examples to %d shards in %s", len(X), n_shards, out)
    return paths


def _check_files(files: Sequence[Path | str]) -> list[str]:
    names = [str(f) for f in files]
    if not names:
        raise CourseError("no TFRecord files given")
    missing = [f for f in names if not Path(f).is_file()]
    if missing:
        raise CourseError(f"TFRecord file(s) not found: {', '.join(missing)}")
    return names


def read_tfrecords(files: Sequence[Path | str], feature_shape: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read every example of some TFRecord files into NumPy arrays, in file order.

    Parameters
    ----------
    files : sequence of path-like
        Shards written by :func:`write_tfrecord_shards`.
    feature_shape : sequence of int
        Shape of one feature array.

    Returns
    -------
    X, y, clip_ids : numpy.ndarray
        float32 features ``(n, *feature_shape)``, int labels, str clip ids.
    """
    import tensorflow as tf

    ds = tf.data.TFRecordDataset(_check_files(files)).map(parse_example_fn(feature_shape, with_clip_id=True))
    xs, ys, cs = [], [], []
    for x, lab, cid in ds.as_numpy_iterator():
        xs.append(x)
        ys.append(lab)
        cs.append(cid.decode("utf-8"))
    if not xs:
        return np.zeros((0, *feature_shape), np.float32), np.zeros(0, np.int32), np.zeros(0, str)
    return np.stack(xs), np.asarray(ys), np.asarray(cs)


def tfrecord_dataset(
    files: Sequence[Path | str],
    feature_shape: Sequence[int],
    *,
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int = 42,
    cache: bool = True,
    augment: Callable | None = None,
    shuffle_buffer: int = 2048,
    cycle_length: int | None = None,
    n_examples: int | None = None,
):
    """The standard ``tf.data`` reader: interleave shards, parse, cache, shuffle, augment, batch, prefetch.

    Parameters
    ----------
    files : sequence of path-like
        TFRecord shards (from :func:`write_tfrecord_shards`).
    feature_shape : sequence of int
        Shape of one feature array.
    batch_size : int
        Examples per batch.
    shuffle : bool
        Shuffle the examples (the file order too), differently each epoch.
    seed : int
        Seed of the shuffles and of the augmentation's random stream.
    cache : bool
        Keep the parsed examples in memory after the first epoch.
    augment : callable, optional
        ``augment(x, y, seed) -> (x, y)`` applied after the cache, per
        example, with a fresh stateless seed (shape ``(2,)``) each time; see
        :func:`spec_augment_fn`.
    shuffle_buffer : int
        Size of the shuffle buffer.
    cycle_length : int, optional
        How many shards are read at once (default: all, up to 8).
    n_examples : int, optional
        How many examples the files hold. TFRecord files do not say, so Keras
        cannot know the number of batches per epoch; when given, it is
        asserted (``tf.data.experimental.assert_cardinality``) and ``model.fit``
        shows no "input ran out of data" warning.

    Returns
    -------
    tf.data.Dataset
        Batches of ``(features, label)``, ready for ``model.fit``.
    """
    import tensorflow as tf

    names = _check_files(files)
    autotune = tf.data.AUTOTUNE
    ds = tf.data.Dataset.from_tensor_slices(names)
    if shuffle:
        ds = ds.shuffle(len(names), seed=seed, reshuffle_each_iteration=True)
    ds = ds.interleave(
        tf.data.TFRecordDataset,
        cycle_length=cycle_length or min(len(names), 8),
        num_parallel_calls=autotune,
        deterministic=True,
    )
    ds = ds.map(parse_example_fn(feature_shape), num_parallel_calls=autotune)
    if n_examples is not None:
        ds = ds.apply(tf.data.experimental.assert_cardinality(int(n_examples)))
    return _finish(ds, batch_size=batch_size, shuffle=shuffle, seed=seed, cache=cache, augment=augment, shuffle_buffer=shuffle_buffer)


def array_dataset(
    X: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int = 42,
    augment: Callable | None = None,
):
    """A ``tf.data`` pipeline over in-memory arrays (shuffle, augment, batch, prefetch).

    Parameters
    ----------
    X, y : numpy.ndarray
        Features and integer labels.
    batch_size, shuffle, seed, augment
        As in :func:`tfrecord_dataset`.

    Returns
    -------
    tf.data.Dataset
    """
    import tensorflow as tf

    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y, dtype=np.int32)
    if len(X) != len(y):
        raise ValueError(f"X and y lengths differ: {len(X)} != {len(y)}")
    ds = tf.data.Dataset.from_tensor_slices((X, y))
    return _finish(ds, batch_size=batch_size, shuffle=shuffle, seed=seed, cache=False, augment=augment, shuffle_buffer=len(X))


def _finish(ds, *, batch_size, shuffle, seed, cache, augment, shuffle_buffer):
    import tensorflow as tf

    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(max(1, shuffle_buffer), seed=seed, reshuffle_each_iteration=True)
    if augment is not None:
        # one random int64 per example, different every epoch but reproducible:
        # stateless augmentation ops then give the same run twice
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)

        @tf.autograph.experimental.do_not_convert  # plain TensorFlow ops: nothing for AutoGraph to rewrite
        def with_seed(xy, s):
            return augment(xy[0], xy[1], s)

        ds = tf.data.Dataset.zip((ds, seeds)).map(with_seed, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def spec_augment_fn(
    *,
    max_shift: int = 0,
    time_masks: int = 0,
    time_mask_width: int = 10,
    freq_masks: int = 0,
    freq_mask_width: int = 8,
    fill: float = 0.0,
) -> Callable:
    """SpecAugment-style augmentation of one spectrogram, as a ``tf.data`` map function.

    The spectrogram has frequency on axis 0 and time on axis 1 (a trailing
    channel axis is allowed). Each call draws, from a stateless seed:

    * a circular shift in time by up to ``max_shift`` frames either way;
    * ``time_masks`` bands of up to ``time_mask_width`` frames set to ``fill``;
    * ``freq_masks`` bands of up to ``freq_mask_width`` mel bins set to ``fill``.

    Use ``fill=0`` on standardised inputs (the mean). The time axis is never
    reversed: a spectrogram played backwards is not the same music.

    Returns
    -------
    callable
        ``augment(x, y, seed) -> (x_aug, y)``; ``seed`` is an int64 tensor of shape ``(2,)``.

    Examples
    --------
    >>> import tensorflow as tf
    >>> f = spec_augment_fn(max_shift=0, time_masks=1, time_mask_width=4)
    >>> x, _ = f(tf.ones((8, 20)), 0, tf.constant([1, 2], tf.int64))
    >>> int(tf.reduce_sum(tf.cast(x == 0, tf.int32)) % 8)
    0
    """
    import tensorflow as tf

    for name, value in dict(max_shift=max_shift, time_masks=time_masks, freq_masks=freq_masks).items():
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    if time_mask_width < 1 or freq_mask_width < 1:
        raise ValueError("mask widths must be >= 1")

    def _band(length, max_width, seed):
        width = tf.random.stateless_uniform([], seed, 0, max_width + 1, dtype=tf.int32)
        width = tf.minimum(width, length)
        start = tf.random.stateless_uniform([], seed + 1, 0, tf.int32.max, dtype=tf.int32) % (length - width + 1)
        idx = tf.range(length)
        return (idx >= start) & (idx < start + width)

    def augment(x, y, seed):
        seed = tf.cast(tf.reshape(seed, [2]), tf.int64)
        n_freq, n_time = tf.shape(x)[0], tf.shape(x)[1]
        if max_shift > 0:
            shift = tf.random.stateless_uniform([], seed, -max_shift, max_shift + 1, dtype=tf.int32)
            x = tf.roll(x, shift=shift, axis=1)
        mask = tf.zeros([n_freq, n_time], tf.bool)
        for k in range(time_masks):
            band = _band(n_time, time_mask_width, seed + [10 + 2 * k, 0])
            mask = mask | band[tf.newaxis, :]
        for k in range(freq_masks):
            band = _band(n_freq, freq_mask_width, seed + [100 + 2 * k, 0])
            mask = mask | band[:, tf.newaxis]
        extra = len(x.shape) - 2
        m = tf.reshape(mask, tf.concat([tf.shape(mask), tf.ones([extra], tf.int32)], 0)) if extra else mask
        x = tf.where(m, tf.cast(fill, x.dtype), x)
        return x, y

    return augment


def choose_strategy(*, tpu: bool = True):
    """Pick a ``tf.distribute`` strategy for the devices this machine has.

    * a TPU (e.g. Google Colab with a TPU runtime): ``TPUStrategy``;
    * two or more GPUs: ``MirroredStrategy`` (one model replica per GPU,
      gradients averaged);
    * otherwise (one GPU or only the CPU): the default strategy, which does nothing special.

    Build and compile the model inside ``with strategy.scope():``; multiply
    the batch size by ``strategy.num_replicas_in_sync``.

    Parameters
    ----------
    tpu : bool
        Look for a TPU first.

    Returns
    -------
    tf.distribute.Strategy
    """
    import tensorflow as tf

    if tpu:
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
            return tf.distribute.TPUStrategy(resolver)
        except (ValueError, RuntimeError, tf.errors.OpError, KeyError):
            pass
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def python_batches(
    files: Sequence[Path | str],
    labels: Sequence[int],
    *,
    batch_size: int = 32,
    seed: int = 42,
    loader: Callable[[str], np.ndarray] = np.load,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The plain baseline: a Python generator loading one file per example, forever.

    Each epoch shuffles the files, loads them one after the other with
    ``loader`` and yields ``(X, y)`` batches; no parallelism, no prefetch.
    ``benchmarks/input_pipeline.py`` compares it with :func:`tfrecord_dataset`.

    Parameters
    ----------
    files : sequence of path-like
        One ``.npy`` file (or whatever ``loader`` reads) per example.
    labels : sequence of int
        Label of every file.
    batch_size : int
        Examples per batch (the last batch of an epoch may be smaller).
    seed : int
        Shuffling seed.
    loader : callable
        Reads one file into an array.

    Yields
    ------
    tuple of numpy.ndarray
        ``(X, y)`` batches.
    """
    files = [str(f) for f in files]
    labels = np.asarray(labels)
    if len(files) != len(labels) or not files:
        raise ValueError(f"need one label per file and at least one file; got {len(files)} files, {len(labels)} labels")
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(files))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            yield np.stack([loader(files[i]) for i in idx]).astype(np.float32), labels[idx]
