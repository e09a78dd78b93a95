"""Examples per second: TFRecord shards + tf.data against a plain Python generator, same model, same run.

Both feeders read the same real GTZAN log-mel segments from disk and feed the
same spectrogram CNN (``helpers.models.build_cnn``) through ``model.fit``:

* baseline: a Python generator that loads one ``.npy`` file per segment,
  in a shuffled order, batch by batch (:func:`python_batches`): no parallelism, no prefetch;
* pipeline: sharded TFRecords read by :func:`tfrecord_dataset`
  (parallel interleave, parse, cache, shuffle, batch, prefetch), the pipeline
  notebook 09 builds in its cells.

Each feeder runs one warm-up epoch (graph tracing; the tf.data cache fills),
then ``--epochs`` timed epochs; the two are timed alternately ``--repeats``
times and the best time of each is kept, so a busy shared machine hurts both
alike. The script prints examples per second of each and their ratio.

Usage: ``python benchmarks/input_pipeline.py [--epochs 3] [--repeats 2] [--clips-per-genre N]``
"""
from __future__ import annotations

import argparse
import hashlib
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np


def python_batches(files, labels, *, batch_size, seed=0):
    """The baseline: shuffle the files each epoch, load them one by one, yield ``(X, y)`` batches, forever."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(files))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            yield np.stack([np.load(files[i]) for i in idx]).astype(np.float32), labels[idx]


def write_tfrecord_shards(tf, X, y, out_dir, *, n_shards):
    """Write ``(features, label)`` examples round-robin into ``n_shards`` TFRecord files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.tfrecord"):
        old.unlink()
    paths = [out_dir / f"segments-{i:05d}-of-{n_shards:05d}.tfrecord" for i in range(n_shards)]
    writers = [tf.io.TFRecordWriter(str(p)) for p in paths]
    for i, (x, label) in enumerate(zip(X, y)):
        feature = {
            "features": tf.train.Feature(bytes_list=tf.train.BytesList(value=[np.float32(x).tobytes()])),
            "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
        }
        writers[i % n_shards].write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    for w in writers:
        w.close()
    return [str(p) for p in paths]


def tfrecord_dataset(tf, files, feature_shape, *, batch_size, seed=0):
    """Interleave the shards, parse, cache, shuffle, batch, prefetch."""
    fields = {"features": tf.io.FixedLenFeature([], tf.string), "label": tf.io.FixedLenFeature([], tf.int64)}

    def parse(record):
        ex = tf.io.parse_single_example(record, fields)
        return tf.reshape(tf.io.decode_raw(ex["features"], tf.float32), feature_shape), tf.cast(ex["label"], tf.int32)

    ds = tf.data.Dataset.from_tensor_slices(files).shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    ds = ds.interleave(tf.data.TFRecordDataset, cycle_length=min(len(files), 8), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE).cache()
    return ds.shuffle(2048, seed=seed, reshuffle_each_iteration=True).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def logmel_segments(clips):
    """Log-mel arrays, labels of every 3-s segment of the clips (cached under build/cache, keyed by the clip files)."""
    from machinery.store import cache_dir
    from helpers.models import CNN_SPEC, clip_segments, segment_features

    key = hashlib.sha1(repr((CNN_SPEC, sorted(map(str, clips["path"])))).encode()).hexdigest()[:12]
    path = cache_dir() / f"bench_logmel_{len(clips)}_{key}.npz"
    if path.exists():
        with np.load(path) as f:
            return f["X"], f["y"], int(f["n_classes"])
    genres = sorted(set(clips["genre"]))
    xs, ys = [], []
    for row in clips.itertuples():
        segs = clip_segments(row.path, sr=22050, segment_seconds=3.0)
        xs.append(segment_features(segs, 22050, CNN_SPEC))
        ys += [genres.index(row.genre)] * len(segs)
    X, y = np.concatenate(xs).astype(np.float32), np.array(ys)
    np.savez(path, X=X, y=y, n_classes=len(genres))
    return X, y, len(genres)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per measurement")
    parser.add_argument("--repeats", type=int, default=2, help="alternating measurements of each feeder")
    parser.add_argument("--clips-per-genre", type=int, default=None, help="limit the GTZAN clips (default: all found)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--shards", type=int, default=4)
    args = parser.parse_args(argv)

    from helpers.config import build_dir, import_tensorflow, seed_everything
    from helpers.datasets import gtzan_clips
    from helpers.models import build_cnn

    tf = import_tensorflow()
    seed_everything(0)
    clips = gtzan_clips(per_genre=args.clips_per_genre)
    X, y, n_classes = logmel_segments(clips)
    X = ((X - X.mean(dtype=np.float64)) / X.std(dtype=np.float64))[..., np.newaxis].astype(np.float32)
    n = len(X)
    print(f"data: {len(clips)} GTZAN clips -> {n} log-mel segments of shape {X.shape[1:]}; batch {args.batch_size}")

    out = build_dir("bench_input_pipeline")
    npy_dir = out / "npy"
    npy_dir.mkdir(exist_ok=True)
    npy_files = []
    for i, x in enumerate(X):
        path = npy_dir / f"{i:06d}.npy"
        np.save(path, x)
        npy_files.append(str(path))
    shards = write_tfrecord_shards(tf, X, y, out / "tfrecords", n_shards=args.shards)

    steps = int(np.ceil(n / args.batch_size))
    models = {}
    for name in ("python generator", "TFRecord + tf.data"):
        seed_everything(0)
        models[name] = build_cnn(X.shape[1:], n_classes)
    feeds = {
        "python generator": python_batches(npy_files, y, batch_size=args.batch_size),
        "TFRecord + tf.data": tfrecord_dataset(tf, shards, X.shape[1:], batch_size=args.batch_size).repeat(),
    }
    for name, model in models.items():  # warm-up: trace the graph, fill the cache
        model.fit(feeds[name], steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
    best = {name: float("inf") for name in models}
    for _ in range(args.repeats):
        for name, model in models.items():
            start = time.perf_counter()
            model.fit(feeds[name], steps_per_epoch=steps, epochs=args.epochs, verbose=0, shuffle=False)
            best[name] = min(best[name], time.perf_counter() - start)
    examples = n * args.epochs  # both feeders end each epoch with the same smaller last batch
    rates = {name: examples / t for name, t in best.items()}
    for name, rate in rates.items():
        print(f"{name:20s}: {rate:8.1f} examples/s  ({best[name]:.2f} s for {args.epochs} epochs of {steps} batches)")
    ratio = rates["TFRecord + tf.data"] / rates["python generator"]
    print(f"ratio (TFRecord + tf.data / python generator): {ratio:.2f}x")
    print(f"(CPU: {os.cpu_count()} cores; GPUs: {len(tf.config.list_physical_devices('GPU'))})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
