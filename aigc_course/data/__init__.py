r"""Data for the course: MNIST and Fashion-MNIST loading, the Tang poems and a character tokenizer, pixel transforms, seeded batching.

Typical use::

    from aigc_course.data import load_mnist, to_signed, iterate_batches

    train = load_mnist("train")                 # uint8 (N, 28, 28), int64 labels
    x = to_signed(train.images)                 # float32 (N, 1, 28, 28) in [-1, 1]
    for xb, yb in iterate_batches(x, train.labels, batch_size=128, seed=0, epoch=0):
        ...

Environment variables: ``AIGC_DATA_DIR`` (a folder with the IDX files) and
``AIGC_CACHE_DIR`` (where downloads go; default ``~/.cache/aigc_course``), ``AIGC_POEMS_DIR``
(a folder with the Tang poem files).
"""

from aigc_course.data.batching import epoch_generator, iterate_batches, num_batches
from aigc_course.data.errors import DataError
from aigc_course.data.idx import read_idx_images, read_idx_labels, write_idx
from aigc_course.data.mnist import (
    FASHION_MNIST_CLASSES,
    MNIST_CLASSES,
    ImageData,
    load_fashion_mnist,
    load_idx_dataset,
    load_mnist,
)
from aigc_course.data.poems import (
    POEMS_DIR_ENV,
    CharTokenizer,
    PoemCorpus,
    load_tang_poems,
    split_poems,
    token_windows,
)
from aigc_course.data.sources import CACHE_DIR_ENV, DATA_DIR_ENV, DownloadError, cache_dir
from aigc_course.data.toy import (
    ring_of_gaussians,
    two_gaussians_1d,
    two_moons,
    two_moons_log_density,
)
from aigc_course.data.transforms import (
    binarize,
    dequantize,
    dequantize_unit,
    from_signed,
    random_shift,
    to_signed,
    to_uint8,
    to_unit,
)

__all__ = [
    "POEMS_DIR_ENV",
    "CharTokenizer",
    "PoemCorpus",
    "load_tang_poems",
    "split_poems",
    "token_windows",
    "CACHE_DIR_ENV",
    "DATA_DIR_ENV",
    "DataError",
    "DownloadError",
    "FASHION_MNIST_CLASSES",
    "ImageData",
    "MNIST_CLASSES",
    "binarize",
    "cache_dir",
    "dequantize",
    "dequantize_unit",
    "epoch_generator",
    "from_signed",
    "iterate_batches",
    "load_fashion_mnist",
    "load_idx_dataset",
    "load_mnist",
    "num_batches",
    "random_shift",
    "read_idx_images",
    "read_idx_labels",
    "ring_of_gaussians",
    "to_signed",
    "to_uint8",
    "to_unit",
    "two_gaussians_1d",
    "two_moons",
    "two_moons_log_density",
    "write_idx",
]
