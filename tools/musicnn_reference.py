"""Reference outputs of the original musicnn 0.1.0 taggers, for the Keras 3 port's parity test.

Runs the authors' TensorFlow-1 graph code (``musicnn/models.py`` from the wheel) on three GTZAN clips and
writes per 3-s patch the tag probabilities of MSD_vgg and MSD_musicnn, MSD_vgg's ``pool5`` activations and
MSD_musicnn's ``mean_pool`` and ``max_pool`` (its mid-end's features averaged and maxed over time) to
``tests/data/musicnn_reference.npz``.
It needs the original package and ``tf_keras`` (for ``tf.compat.v1.layers``), which the course does not
depend on; run it once in a throwaway environment::

    python -m pip install --target /tmp/mnpkgs --no-deps tf-keras==2.21.0 ../shared/data/musicnn/musicnn-0.1.0-py3-none-any.whl
    PYTHONPATH=/tmp/mnpkgs TF_USE_LEGACY_KERAS=1 .venv/bin/python tools/musicnn_reference.py

One change to the original, on purpose: its ``batch_data`` casts the mel power to float16 before
``log10(10000 * S + 1)``, so every bin above 6.55 overflows to +inf; here the log is taken in float32.
The patches are cut as the original cuts them (187 frames, no overlap).
"""
from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import librosa
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("COURSE_DATA_DIR", ROOT.parent / "shared" / "data"))
CLIPS = ["blues.00000.wav", "classical.00000.wav", "metal.00000.wav"]
N_FRAMES, SR, N_FFT, HOP, N_MELS = 187, 16000, 512, 256, 96


def log_mel_patches(path: Path) -> np.ndarray:
    """The original ``batch_data`` with the log in float32: (patches, 187, 96)."""
    audio, _ = librosa.load(path, sr=SR)
    mel = librosa.feature.melspectrogram(y=audio, sr=SR, hop_length=HOP, n_fft=N_FFT, n_mels=N_MELS).T
    rep = np.log10(10000 * mel.astype(np.float32) + 1)
    starts = range(0, rep.shape[0] - N_FRAMES + 1, N_FRAMES)
    return np.stack([rep[s:s + N_FRAMES] for s in starts])


def main() -> int:
    import tensorflow as tf
    import musicnn
    from musicnn import models

    tf.compat.v1.disable_eager_execution()
    out = {}
    for name in ("MSD_vgg", "MSD_musicnn"):
        tf.compat.v1.reset_default_graph()
        x = tf.compat.v1.placeholder(tf.float32, [None, N_FRAMES, N_MELS])
        with tf.name_scope("model"):
            y, *pools = models.define_model(x, False, name, 50)
        sess = tf.compat.v1.Session()
        tf.compat.v1.train.Saver().restore(sess, str(Path(musicnn.__file__).parent / name) + "/")
        for clip in CLIPS:
            genre = clip.split(".")[0]
            path = DATA / "gtzan" / "genres_original" / genre / clip
            batch = log_mel_patches(path)
            key = f"{name}/{clip}"
            if name == "MSD_vgg":
                tags, pool5 = sess.run([tf.nn.sigmoid(y), pools[-1]], feed_dict={x: batch})
                out[f"{key}/pool5"] = pool5.reshape(len(batch), -1).astype(np.float32)
            else:  # pools: timbral, temporal, cnn1, cnn2, cnn3, mean_pool, max_pool, penultimate
                tags, mean_pool, max_pool = sess.run([tf.nn.sigmoid(y), pools[5], pools[6]], feed_dict={x: batch})
                out[f"{key}/mean_pool"], out[f"{key}/max_pool"] = mean_pool.astype(np.float32), max_pool.astype(np.float32)
            out[f"{key}/tags"] = tags.astype(np.float32)
            out[f"{key}/sha256"] = np.array(hashlib.sha256(path.read_bytes()).hexdigest())
            print(key, batch.shape, "top tag of patch 0:", int(tags[0].argmax()))
    target = ROOT / "tests" / "data" / "musicnn_reference.npz"
    target.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(target, **out)
    print(f"wrote {target} ({target.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
