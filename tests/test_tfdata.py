"""Tests of helpers.tfdata: TFRecord round trip, tf.data readers, SpecAugment, strategies."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from helpers.errors import CourseError  # noqa: E402
from helpers.tfdata import (  # noqa: E402
    array_dataset,
    choose_strategy,
    parse_example_fn,
    python_batches,
    read_tfrecords,
    serialize_example,
    spec_augment_fn,
    tfrecord_dataset,
    write_tfrecord_shards,
)


@pytest.fixture
def examples():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 6, 5)).astype(np.float32)
    X[0, 0, 0] = np.float32(1e-38)  # subnormal-ish and extreme values survive exactly
    X[0, 0, 1] = np.finfo(np.float32).max
    X[1, 2, 3] = -0.0
    y = np.arange(12) % 3
    clips = np.repeat([f"clip.{i:05d}" for i in range(4)], 3)
    return X, y, clips


def test_tfrecord_round_trip_is_exact(tmp_path, examples):
    X, y, clips = examples
    files = write_tfrecord_shards(X, y, clips, tmp_path, n_shards=3)
    assert [f.name for f in files] == [f"segments-0000{i}-of-00003.tfrecord" for i in range(3)]
    Xr, yr, cr = read_tfrecords(files, X.shape[1:])
    order = np.lexsort((np.arange(len(cr)), cr))  # shards regroup rows; restore the original order
    assert cr[order].tolist() == clips.tolist()
    assert yr[order].tolist() == y.tolist()
    assert Xr.dtype == np.float32
    assert np.array_equal(Xr[order].view(np.uint32), X.view(np.uint32))  # bit-exact


def test_a_clip_stays_in_one_shard(tmp_path, examples):
    X, y, clips = examples
    files = write_tfrecord_shards(X, y, clips, tmp_path, n_shards=2)
    seen = {}
    for i, f in enumerate(files):
        _, _, c = read_tfrecords([f], X.shape[1:])
        for cid in set(c):
            assert seen.setdefault(cid, i) == i
    assert len(seen) == 4


def test_rewriting_replaces_old_shards(tmp_path, examples):
    X, y, clips = examples
    write_tfrecord_shards(X, y, clips, tmp_path, n_shards=4)
    files = write_tfrecord_shards(X[:3], y[:3], clips[:3], tmp_path, n_shards=2)
    assert sorted(p.name for p in tmp_path.glob("*.tfrecord")) == sorted(f.name for f in files)
    assert len(read_tfrecords(files, X.shape[1:])[0]) == 3


def test_parse_single_example(examples):
    X, y, clips = examples
    x, lab, cid = parse_example_fn(X.shape[1:], with_clip_id=True)(tf.constant(serialize_example(X[4], 7, "a.1")))
    assert np.array_equal(x.numpy(), X[4]) and int(lab) == 7 and cid.numpy() == b"a.1"
    x2, lab2 = parse_example_fn(X.shape[1:])(tf.constant(serialize_example(X[4], 2, "a.1")))
    assert x2.shape == (6, 5) and lab2.dtype == tf.int32


def test_tfrecord_dataset_batches_every_example_once(tmp_path, examples):
    X, y, clips = examples
    files = write_tfrecord_shards(X, y, clips, tmp_path, n_shards=3)
    ds = tfrecord_dataset(files, X.shape[1:], batch_size=5, seed=1)
    batches = list(ds.as_numpy_iterator())
    assert [len(b[1]) for b in batches] == [5, 5, 2]
    got = np.concatenate([b[0] for b in batches])
    assert got.shape == X.shape
    # the same multiset of examples: sort both by their first values
    key = lambda a: np.lexsort(a.reshape(len(a), -1).T[::-1])  # noqa: E731
    assert np.array_equal(got[key(got)], X[key(X)])
    # a second epoch is reshuffled, but holds the same examples
    again = np.concatenate([b[0] for b in ds.as_numpy_iterator()])
    assert np.array_equal(again[key(again)], X[key(X)])


def test_tfrecord_dataset_is_reproducible(tmp_path, examples):
    X, y, clips = examples
    files = write_tfrecord_shards(X, y, clips, tmp_path, n_shards=3)
    a = [b[1].tolist() for b in tfrecord_dataset(files, X.shape[1:], batch_size=4, seed=3).as_numpy_iterator()]
    b = [b[1].tolist() for b in tfrecord_dataset(files, X.shape[1:], batch_size=4, seed=3).as_numpy_iterator()]
    assert a == b


def test_missing_or_no_files_raise(tmp_path):
    with pytest.raises(CourseError, match="not found"):
        tfrecord_dataset([tmp_path / "nope.tfrecord"], (2,))
    with pytest.raises(CourseError, match="no TFRecord"):
        read_tfrecords([], (2,))


def test_write_rejects_bad_input(tmp_path, examples):
    X, y, clips = examples
    with pytest.raises(ValueError, match="one row per example"):
        write_tfrecord_shards(X, y[:-1], clips, tmp_path)
    with pytest.raises(ValueError, match="n_shards"):
        write_tfrecord_shards(X, y, clips, tmp_path, n_shards=0)


def test_spec_augment_masks_whole_bands():
    x = tf.ones((16, 40, 1))
    f = spec_augment_fn(time_masks=1, time_mask_width=6, freq_masks=1, freq_mask_width=3, fill=0.0)
    zero_fracs = []
    for s in range(20):
        out, lab = f(x, 3, tf.constant([s, 1], tf.int64))
        assert int(lab) == 3
        z = out.numpy()[..., 0] == 0
        cols, rows = z.all(axis=0), z.all(axis=1)
        assert cols.sum() <= 6 and rows.sum() <= 3
        # every zero lies in a fully masked column or row
        assert np.array_equal(z, cols[None, :] | rows[:, None])
        zero_fracs.append(z.mean())
    assert max(zero_fracs) > 0  # masks do happen


def test_spec_augment_shift_is_a_circular_roll_in_time():
    x = tf.reshape(tf.range(4 * 10, dtype=tf.float32), (4, 10))
    f = spec_augment_fn(max_shift=3)
    shifts = set()
    for s in range(30):
        out = f(x, 0, tf.constant([s, 0], tf.int64))[0].numpy()
        k = [k for k in range(-3, 4) if np.array_equal(out, np.roll(x.numpy(), k, axis=1))]
        assert len(k) == 1
        shifts.add(k[0])
    assert len(shifts) > 3
    # same seed, same result
    s = tf.constant([5, 5], tf.int64)
    assert np.array_equal(f(x, 0, s)[0], f(x, 0, s)[0])


def test_spec_augment_rejects_bad_settings():
    with pytest.raises(ValueError):
        spec_augment_fn(time_masks=-1)
    with pytest.raises(ValueError):
        spec_augment_fn(time_mask_width=0)


def test_array_dataset_with_augmentation_changes_between_epochs():
    X = np.ones((6, 8, 12, 1), np.float32)
    ds = array_dataset(X, np.arange(6), batch_size=6, seed=0, augment=spec_augment_fn(time_masks=2, time_mask_width=4))
    e1 = next(iter(ds))[0].numpy()
    e2 = next(iter(ds))[0].numpy()
    assert e1.shape == X.shape
    assert not np.array_equal(e1, e2)
    with pytest.raises(ValueError, match="lengths"):
        array_dataset(X, np.arange(5))


def test_choose_strategy_on_a_cpu_machine_is_the_default():
    if len(tf.config.list_logical_devices("GPU")) > 1:
        pytest.skip("this machine has several GPUs")
    strategy = choose_strategy(tpu=False)
    assert strategy.num_replicas_in_sync == 1
    assert type(strategy) is type(tf.distribute.get_strategy())


def test_python_batches(tmp_path):
    files = []
    for i in range(5):
        np.save(tmp_path / f"{i}.npy", np.full((2, 3), i, np.float32))
        files.append(tmp_path / f"{i}.npy")
    gen = python_batches(files, [10, 11, 12, 13, 14], batch_size=2, seed=0)
    batches = [next(gen) for _ in range(3)]
    assert [len(b[1]) for b in batches] == [2, 2, 1]
    xs = np.concatenate([b[0] for b in batches])
    ys = np.concatenate([b[1] for b in batches])
    assert sorted(ys.tolist()) == [10, 11, 12, 13, 14]
    assert np.array_equal(xs[:, 0, 0] + 10, ys)
    with pytest.raises(ValueError):
        next(python_batches(files, [1, 2]))


def test_known_example_count_gives_keras_the_number_of_batches(tmp_path, examples):
    X, y, clips = examples
    files = write_tfrecord_shards(X, y, clips, tmp_path, n_shards=2)
    unknown = tfrecord_dataset(files, X.shape[1:], batch_size=5)
    known = tfrecord_dataset(files, X.shape[1:], batch_size=5, n_examples=len(X))
    assert int(unknown.cardinality()) == int(tf.data.UNKNOWN_CARDINALITY)
    assert int(known.cardinality()) == 3
    wrong = tfrecord_dataset(files, X.shape[1:], batch_size=5, n_examples=len(X) + 1)
    with pytest.raises(tf.errors.FailedPreconditionError):
        list(wrong.as_numpy_iterator())
