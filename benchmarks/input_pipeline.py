"""Examples per second: TFRecord shards + tf.data against a plain Python generator, same model, same run.

Both feeders read the same real GTZAN log-mel segments from disk and feed the
same spectrogram CNN (``helpers.cnn.build_spectrogram_cnn``) through ``model.fit``:

* baseline: a Python generator that loads one ``.npy`` file per segment, in order,
  batch by batch (``helpers.tfdata.python_batches``): no parallelism, no prefetch;
* pipeline: sharded TFRecords read by ``helpers.tfdata.tfrecord_dataset``
  (parallel interleave, parse, cache, shuffle, batch, prefetch).

Each feeder runs one warm-up epoch (graph tracing; the tf.data cache fills),
then ``--epochs`` timed epochs; the two are timed alternately ``--repeats``
times and the best time of each is kept, so a busy shared machine hurts both
alike. The script prints examples per second of each and their ratio.

Usage: ``python benchmarks/input_pipeline.py [--epochs 3] [--repeats 2] [--clips-per-genre N]``
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per measurement")
    parser.add_argument("--repeats", type=int, default=2, help="alternating measurements of each feeder")
    parser.add_argument("--clips-per-genre", type=int, default=None, help="limit the GTZAN clips (default: all found)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--shards", type=int, default=4)
    args = parser.parse_args(argv)

    import tensorflow as tf

    from helpers.cnn import CNN_SPEC, build_spectrogram_cnn, standardize_stats
    from helpers.config import build_dir, cache_dir, seed_everything
    from helpers.datasets import gtzan_clips
    from helpers.sequences import load_or_build_dataset
    from helpers.tfdata import python_batches, tfrecord_dataset, write_tfrecord_shards

    seed_everything(0)
    clips = gtzan_clips(per_genre=args.clips_per_genre)
    data = load_or_build_dataset(cache_dir() / f"bench_logmel_{len(clips)}.npz", clips, CNN_SPEC, progress=False)
    mean, std = standardize_stats(data["X"])
    X = ((data["X"] - mean) / std)[..., np.newaxis].astype(np.float32)
    y, groups = np.asarray(data["y"]), np.asarray(data["clip_id"])
    n, n_classes = len(X), len(data["genres"])
    print(f"data: {len(clips)} GTZAN clips -> {n} log-mel segments of shape {X.shape[1:]}; batch {args.batch_size}")

    out = build_dir("bench_input_pipeline")
    npy_dir = out / "npy"
    npy_dir.mkdir(exist_ok=True)
    npy_files = []
    for i, x in enumerate(X):
        path = npy_dir / f"{i:06d}.npy"
        np.save(path, x)
        npy_files.append(path)
    shards = write_tfrecord_shards(X, y, groups, out / "tfrecords", n_shards=args.shards)

    steps = int(np.ceil(n / args.batch_size))

    def make_generator():
        return python_batches(npy_files, y, batch_size=args.batch_size, seed=0)

    def make_pipeline():
        return tfrecord_dataset(shards, X.shape[1:], batch_size=args.batch_size, seed=0).repeat()

    models = {}
    for name in ("python generator", "TFRecord + tf.data"):
        seed_everything(0)
        models[name] = build_spectrogram_cnn(X.shape[1:], n_classes)
    feeds = {"python generator": make_generator(), "TFRecord + tf.data": make_pipeline()}
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
