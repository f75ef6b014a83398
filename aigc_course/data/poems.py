r"""The Tang poems of the ``chinese-poetry`` collection, a character tokenizer and token windows.

The 58 files ``dist/quantangshi/poet.tang.{0,1000,...,57000}.json`` of the collection's npm
release 2.0.1 (57,607 poems of the *Quan Tangshi*, in traditional characters, MIT licence) are
looked for in this order, and the first place holding all 58 wins:

1. the ``root`` argument (the files in it or in its sub-folder ``chinese-poetry``), else
   ``$AIGC_POEMS_DIR``, else ``$AIGC_DATA_DIR/chinese-poetry`` (``.json`` or ``.json.gz``);
2. the user cache, ``$AIGC_CACHE_DIR`` (else ``~/.cache/aigc_course``), sub-folder
   ``chinese-poetry``;
3. a download of the missing files into that cache, from public mirrors that serve that
   release by its version: jsDelivr and unpkg (file by file), then the npm registry's tarball.

Every file, wherever it comes from, is checked against the SHA-256 of the release's file (of
the uncompressed JSON), so a damaged, truncated or substituted file is an error naming the
file and the fix, never a silent partial corpus; a damaged file in the cache is deleted and
fetched again when ``download`` is on. The printed line names the place without the
machine's paths. The characters are kept as they are (traditional).

References
----------
JackeyGao and contributors, *chinese-poetry: the most comprehensive database of Chinese poetry*,
https://github.com/chinese-poetry/chinese-poetry (npm package ``chinese-poetry`` 2.0.1).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import json
import os
import tarfile
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import torch

from aigc_course._check import check_bool, check_count, check_real
from aigc_course.data import sources
from aigc_course.data.errors import DataError
from aigc_course.data.sources import DownloadError
from aigc_course.runtime import atomic_write

__all__ = [
    "POEMS_DIR_ENV",
    "POEMS_RELEASE",
    "POEM_FILES",
    "POEM_SHA256",
    "CharTokenizer",
    "PoemCorpus",
    "load_tang_poems",
    "split_poems",
    "token_windows",
]

POEMS_DIR_ENV = "AIGC_POEMS_DIR"
r"""Environment variable naming a folder with the 58 Tang files (``.json`` or ``.json.gz``)."""
POEMS_RELEASE = "2.0.1"
r"""The npm release of ``chinese-poetry`` whose files the checksums describe."""
_KEY = "chinese-poetry"
_PACKAGE_DIR = "dist/quantangshi"
POEM_SHA256: Mapping[str, str] = MappingProxyType(
    {
        "poet.tang.0.json": "4f88f429938082523cdc72a1612bd7a7c3e3f7a33f8192c61ae51340efc3c92d",
        "poet.tang.1000.json": "6e703b8d8dcedbd6110f6d48d043665ca2131db2035a5bfcef5e59a19aeb6d75",
        "poet.tang.2000.json": "ec28efa7e2ae9cdbbba09f0ed186e32ccae47a325ad1e5816b7ad56071c1665a",
        "poet.tang.3000.json": "9e4ba2323752b6b9fbdba875cdbc6a26636fe0cabc85fd066370d4915952001f",
        "poet.tang.4000.json": "b8a7946c879b9658a6c667a4c55f776fae7e5e00a17789ab06b274c1429afc66",
        "poet.tang.5000.json": "a0306e6962cff01639ad9a00b042a201b8dec1f30fa5d768a7b112589887861e",
        "poet.tang.6000.json": "982a21d2b15922b406911f1c825785054314c686da86b2155d7aebb362d22771",
        "poet.tang.7000.json": "a6fb69d7b4343c904dc56ae5aae34facc2478d196b51c37ceba9d1e2f171b342",
        "poet.tang.8000.json": "ac3848e95b02736168003863795de4474838c2d6a71a24ca2a4a280ea5177773",
        "poet.tang.9000.json": "b99d6596e3a1fe1a661652383083f92d196b8baf4e461d087081d5e1e1b7a51f",
        "poet.tang.10000.json": "b97d1c5509ab62f5b433dee2020c11c4deda4542e276683d1ada6619c34c2113",
        "poet.tang.11000.json": "9adf1835246053c821d99af39ce9092e14a94e1baf91740098bd9fc6f6f1cd27",
        "poet.tang.12000.json": "ec43d055a219d52ecdb58cd30a8a444189392f0d68b92a41495df1c72c5fd095",
        "poet.tang.13000.json": "eb9c85072d7913bb972e07c72f0123e9d7addca22cfd833cb79a5d74b1c76ebf",
        "poet.tang.14000.json": "1e366dd3fb5a011091524bed36e4edff5d015bf0ddb14143f298515387dbd9a9",
        "poet.tang.15000.json": "0386e58f46517daa3af0e0f385e0223f1efc0dac53afbe8fea64f99074d870b7",
        "poet.tang.16000.json": "1c477aef1fc50523f9baf10f29d2d89201a14c4c73001c1c041d0fe8464d11db",
        "poet.tang.17000.json": "11bac8333b2042975b9844423d113ff2c6fdf701c8b08a5b3aaa6bc9472222de",
        "poet.tang.18000.json": "37543a147d16e3576d5f45ba8f7b8b51fc311bc10eddae9440f16f2d5ae885c2",
        "poet.tang.19000.json": "dea74b41bc807ce2527bb119862a251e3a92b6f69bdf9f98b1434a8336830542",
        "poet.tang.20000.json": "8ccf0783888b15bec60d0253e278cd4b67e94a77725df8ed079d4d8062d050b4",
        "poet.tang.21000.json": "bddae814c82bf6a9fd294504aa48794bca5f03e986110739b1577aa811125cbd",
        "poet.tang.22000.json": "d7e7efe3f67415455ae93974a5aa67427e99f6713fde27920bfb657ad3204c4a",
        "poet.tang.23000.json": "220a535a762349ec1beed00f1dc11293ccefc70bda15c5258bbcab208b14337f",
        "poet.tang.24000.json": "2f40a4ec0e4469c29f0f028d7a4ad73b83850aa271be9b63ea0c08de6e094dee",
        "poet.tang.25000.json": "7e7c00ba3f7a95e97de5440f85affa9d54b420d31995b449e97a3e9ea00259f5",
        "poet.tang.26000.json": "74b5bed25622da1611928fdb31297fafadaf2876ce32ddb0c8b6d12d772979f4",
        "poet.tang.27000.json": "11626fcc310bbbcc601f7c8c4d8a664cef4907076cd7ec4f16268ee5b921ba44",
        "poet.tang.28000.json": "86a15affa95859046f869ffd4850886250d1a181e5151b1f096f728fb2d67502",
        "poet.tang.29000.json": "e1a0cffe17b4f109399db38f2b23f9b6668b8ca1c3c24e36d5cbe4f40a925862",
        "poet.tang.30000.json": "e71996f771d15476bae48751081b473b381774b5d335f6163b183f70a2eaed01",
        "poet.tang.31000.json": "f1efaf172d4f6fa9aaacfa4160feb766189989c3264da6ce3a6d64a7c97097bb",
        "poet.tang.32000.json": "fcb2096245719199249ad23e75eac6997b5a4341564dd1cf73ce8008975b3d74",
        "poet.tang.33000.json": "35abb37f65817ee4630cfeb2db286832e505873c477e12f14693bcd20e920885",
        "poet.tang.34000.json": "4b656a62b6a187792c96a632c7e33f443eabda8b48c4fb5dfdda72cf02003095",
        "poet.tang.35000.json": "a9671b350e58b805fda88b2c17fa0bf3a05313017d28485010e6f60a69bdf945",
        "poet.tang.36000.json": "1c8e71a32743b37d318bf8beb44b8809a8079011231cf3c7106e2c59f03c55b4",
        "poet.tang.37000.json": "4c37d2d92ee6fdd73299ef13c91e17b9cbb11ef59d1e024254db1eceb95dc7ae",
        "poet.tang.38000.json": "08b2ce85e59eac59fe621921b62c15528e9dfb6a102994297703ad67e14aa83f",
        "poet.tang.39000.json": "791d0171fe1dc88cee8424ae0281f495ed0dcdf042f97f2a3fc9b37e05e9426c",
        "poet.tang.40000.json": "851d0c3cb796c7f7c63a7765e28564b2c3be3d9691c9f43f88d4d3c64034b5d8",
        "poet.tang.41000.json": "3c12f59a5103e582eed9fe6ae13affddc030a31e9956efb13cb7768296ba7396",
        "poet.tang.42000.json": "060026beb06028864bce48e8074e2690f92a1dc5a76ee91f98f2d62b5f02a15c",
        "poet.tang.43000.json": "de5e658dccbcf0d2b38312b39a2423459b88ef893830bc145d453d82887a5753",
        "poet.tang.44000.json": "8c6d550818f5390413bc58fbb3af059d3fa4a92264b1bcf84439c2b0bb043985",
        "poet.tang.45000.json": "5177a4747b785f04897c36b77d5e033b11a7bcad759d1557fdb425166b8767f3",
        "poet.tang.46000.json": "287e548147e6959306b74c862a1ebe43cdca39adee34e2c63ae5d3b5eaced1f5",
        "poet.tang.47000.json": "8b43cce475ed43b1105a12a8bdcef32ac22dc056c5f2c616a2976a4103b5d8ac",
        "poet.tang.48000.json": "8df4861e8d7bc114e91d0a5e37d193f662485cd88b8d09289cc5ac9ab243c3ed",
        "poet.tang.49000.json": "418e5a082cb70c4f85ce842affec8828a53f6296882e45339c74d553fc46495e",
        "poet.tang.50000.json": "894bf4e729932d2b48ba731a48075347cf55626c08ac9f30b2fe412ca9e4e895",
        "poet.tang.51000.json": "9bd1b263807c5c64bca773b76d4861a49af19b76184f88260d6080bb03311928",
        "poet.tang.52000.json": "1124f4b27f46bd1ffaafdda530719eddbe41858778a0a13e4557ea4eb49ffef0",
        "poet.tang.53000.json": "75841062fa939e72ee12669859933c9178b88a5c5492bc9ba84d9ef7c6f1e65a",
        "poet.tang.54000.json": "cd2ba326b80ff8490723ad9fb1ace812306f0e433b74268420165068b0a975ac",
        "poet.tang.55000.json": "3782736dfee847958363d4adeff1236f148aff3726f2964963b17b06dad2f97b",
        "poet.tang.56000.json": "274ad6e13c069e35856e53b5dee6821ad2aa9bf8b2a5f969e2eb1234fe954bca",
        "poet.tang.57000.json": "e04c137b040c1a91e16614178c189d0c30a68e1d4657ea8fde8467601e3ac121",
    }
)
r"""File name -> SHA-256 of the release's uncompressed JSON file."""
POEM_FILES = tuple(POEM_SHA256)
r"""The 58 file names, in reading order (poem order of the collection)."""
_FILE_MIRRORS = (
    f"https://cdn.jsdelivr.net/npm/chinese-poetry@{POEMS_RELEASE}/{_PACKAGE_DIR}/",
    f"https://unpkg.com/chinese-poetry@{POEMS_RELEASE}/{_PACKAGE_DIR}/",
)
_TARBALL = f"https://registry.npmjs.org/chinese-poetry/-/chinese-poetry-{POEMS_RELEASE}.tgz"


@dataclass(frozen=True, eq=False, repr=False)
class PoemCorpus:
    r"""The Tang poems, one string per poem (its lines joined, punctuation kept).

    Attributes
    ----------
    texts, titles, authors : tuple of str
        One entry per poem, in the collection's order.
    skipped : int
        Poems with no text (empty ``paragraphs``), left out.
    source : str
        ``"root"``, ``"AIGC_POEMS_DIR"``, ``"AIGC_DATA_DIR"``, ``"cache"`` or ``"download"``.
    origin : str
        The place as printed, without the machine's paths.
    """

    texts: tuple[str, ...]
    titles: tuple[str, ...]
    authors: tuple[str, ...]
    skipped: int
    source: str
    origin: str

    def __len__(self) -> int:
        return len(self.texts)

    def __repr__(self) -> str:
        return f"PoemCorpus(n={len(self):,}, source={self.source!r}, origin={self.origin!r})"


def _file_url(name: str) -> str:
    return _FILE_MIRRORS[0] + name


def _decode(path: Path, name: str) -> bytes:
    r"""The uncompressed bytes of ``path``, checked against the release's SHA-256."""
    fix = (
        f"Delete it (a cached copy is fetched again on the next call) or replace it with "
        f"the original, {_file_url(name)}"
    )
    try:
        raw = path.read_bytes()
        data = gzip.decompress(raw) if path.suffix == ".gz" else raw
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"{path}: cannot be read or decompressed ({exc}): truncated? {fix}"
        ) from exc
    got = hashlib.sha256(data).hexdigest()
    if got != POEM_SHA256[name]:
        raise DataError(
            f"{path}: the content differs from chinese-poetry {POEMS_RELEASE}'s {name} "
            f"(sha256 {got}, expected {POEM_SHA256[name]}): the file is damaged, truncated or "
            f"from another version. {fix}"
        )
    return data


def _parse(path: Path, data: bytes) -> list[dict]:
    try:
        poems = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc}); replace it with the original") from exc
    if not isinstance(poems, list) or not all(
        isinstance(p, dict) and isinstance(p.get("paragraphs"), list) for p in poems
    ):
        raise DataError(f"{path}: not a list of poems with 'paragraphs'; replace it")
    return poems


def _find(folder: Path) -> dict[str, Path]:
    found = {}
    for name in POEM_FILES:
        for candidate in (folder / f"{name}.gz", folder / name):
            try:
                if candidate.is_file():
                    found[name] = candidate
                    break
            except OSError:
                continue
    return found


def _explicit_places(root: str | os.PathLike | None) -> list[tuple[Path, str, str]]:
    if root is not None:
        if not isinstance(root, (str, os.PathLike)) or not os.fspath(root).strip():
            raise TypeError(f"root must be a folder path (str or os.PathLike), got {root!r}")
        base = Path(root).expanduser()
        return [(base, "root", "root= folder"), (base / _KEY, "root", f"root= folder/{_KEY}")]
    places = []
    env = os.environ.get(POEMS_DIR_ENV, "").strip()
    if env:
        places.append((Path(env).expanduser(), POEMS_DIR_ENV, f"${POEMS_DIR_ENV}"))
    data_dir = os.environ.get(sources.DATA_DIR_ENV, "").strip()
    if data_dir:
        shown = f"${sources.DATA_DIR_ENV}/{_KEY}"
        places.append((Path(data_dir).expanduser() / _KEY, sources.DATA_DIR_ENV, shown))
    return places


def _fetch_file(name: str, folder: Path, errors: list[str]) -> bool:
    for mirror in _FILE_MIRRORS:
        url = mirror + name
        try:
            body = sources.fetch_url(url)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            errors.append(f"{url}: {type(exc).__name__}: {exc}")
            continue
        if hashlib.sha256(body).hexdigest() != POEM_SHA256[name]:
            errors.append(f"{url}: not the release's file (sha256 differs)")
            continue
        with atomic_write(folder / name) as tmp:
            tmp.write_bytes(body)
        return True
    return False


def _fetch_tarball(names: list[str], folder: Path, errors: list[str]) -> None:
    try:
        body = sources.fetch_url(_TARBALL, timeout=300.0)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        errors.append(f"{_TARBALL}: {type(exc).__name__}: {exc}")
        return
    try:
        archive = tarfile.open(fileobj=io.BytesIO(body), mode="r:gz")  # noqa: SIM115
    except (OSError, tarfile.TarError) as exc:
        errors.append(f"{_TARBALL}: {type(exc).__name__}: {exc}")
        return
    with archive:
        for name in names:
            try:
                member = archive.extractfile(f"package/{_PACKAGE_DIR}/{name}")
                data = member.read() if member is not None else b""
            except (KeyError, OSError, tarfile.TarError):
                data = b""
            if hashlib.sha256(data).hexdigest() != POEM_SHA256[name]:
                errors.append(f"{_TARBALL}: {name} missing or not the release's file")
                continue
            with atomic_write(folder / name) as tmp:
                tmp.write_bytes(data)


def _download(missing: list[str], folder: Path) -> None:
    errors: list[str] = []
    left = [name for name in missing if not _fetch_file(name, folder, errors)]
    if left:
        _fetch_tarball(left, folder, errors)
    still = [name for name in missing if name not in _find(folder)]
    if still:
        raise DownloadError(
            f"could not download {len(still)} Tang poem file(s) ({', '.join(still[:3])}"
            f"{', ...' if len(still) > 3 else ''}): " + "; ".join(errors[:6])
        )


def _repair_cache(folder: Path, download: bool) -> dict[str, bytes]:
    r"""Read and check the cached files; delete the damaged ones when they can be re-fetched."""
    good = {}
    for name, path in _find(folder).items():
        try:
            good[name] = _decode(path, name)
        except DataError:
            if not download:
                raise
            path.unlink(missing_ok=True)  # our own cache: a damaged copy is replaced, not kept
    return good


def _corpus(blobs: dict[str, tuple[Path, bytes]], source: str, origin: str) -> PoemCorpus:
    texts, titles, authors, skipped = [], [], [], 0
    for name in POEM_FILES:
        path, data = blobs[name]
        for poem in _parse(path, data):
            text = "".join(str(line) for line in poem["paragraphs"])
            if not text:
                skipped += 1
                continue
            texts.append(text)
            titles.append(str(poem.get("title", "")))
            authors.append(str(poem.get("author", "")))
    return PoemCorpus(tuple(texts), tuple(titles), tuple(authors), skipped, source, origin)


def _load(root: str | os.PathLike | None, download: bool) -> PoemCorpus:
    looked = []
    for folder, tag, shown in _explicit_places(root):
        found = _find(folder)
        if len(found) == len(POEM_FILES):
            blobs = {n: (p, _decode(p, n)) for n, p in found.items()}
            return _corpus(blobs, tag, shown)
        looked.append(f"{folder} ({shown}: {len(found)} of {len(POEM_FILES)} files)")
    cache = sources.cache_dir() / _KEY
    shown = f"{sources.cache_dir_display()}/{_KEY}"
    good = _repair_cache(cache, download)
    tag = "cache"
    if len(good) < len(POEM_FILES) and download:
        try:
            _download([n for n in POEM_FILES if n not in good], cache)
        except (DownloadError, OSError) as exc:
            looked.append(f"{cache} ({shown}: {len(good)} files)")
            raise _not_available(looked, f"Download failed: {exc}") from exc
        tag, shown = "download", f"{shown} (downloaded)"
    elif len(good) < len(POEM_FILES):
        looked.append(f"{cache} ({shown}: {len(good)} files)")
        raise _not_available(looked, "Nothing was downloaded (download=False)")
    blobs = {n: (p, good.get(n) or _decode(p, n)) for n, p in _find(cache).items()}
    return _corpus(blobs, tag, shown)


def _not_available(looked: list[str], note: str) -> DataError:
    return DataError(
        f"the Tang poems (chinese-poetry {POEMS_RELEASE}, {len(POEM_FILES)} files "
        f"poet.tang.0.json ... poet.tang.57000.json) are not available. Looked in: "
        f"{'; '.join(looked)}. {note}. To fix: connect to the internet and call again (the "
        f"files are saved to the cache); or put the {len(POEM_FILES)} files (.json or "
        f".json.gz) of the release's {_PACKAGE_DIR}/ in a folder and set {POEMS_DIR_ENV}"
        "=/that/folder (or pass root=...)."
    )


def load_tang_poems(
    *, root: str | os.PathLike | None = None, download: bool = True, verbose: bool = True
) -> PoemCorpus:
    r"""Load the 57,607 Tang poems of ``chinese-poetry`` 2.0.1 (see the module docstring).

    Parameters
    ----------
    root : str or os.PathLike, optional
        A folder with the 58 files (or with them in its sub-folder ``chinese-poetry``);
        overrides ``$AIGC_POEMS_DIR`` and ``$AIGC_DATA_DIR``.
    download : bool
        Fetch the files missing from the cache from the public mirrors.
    verbose : bool
        Print one line: how many poems, and from where (no machine paths).

    Returns
    -------
    PoemCorpus

    Raises
    ------
    DataError
        A file is damaged, truncated or not the release's (names the file and the fix), or
        the files cannot be found or downloaded (says where to put them).
    """
    check_bool(download, "download")
    check_bool(verbose, "verbose")
    corpus = _load(root, download)
    if verbose:
        print(
            f"Tang poems: {len(corpus):,} poems from {corpus.origin} "
            f"(chinese-poetry {POEMS_RELEASE}, traditional characters)",
            flush=True,
        )
    return corpus


def _check_texts(texts: object, name: str) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Iterable):
        raise TypeError(
            f"{name} must be a list of strings (one per poem), got {type(texts).__name__}"
        )
    out = list(texts)
    if not out:
        raise ValueError(f"{name} is empty: give at least one text")
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise TypeError(f"{name}[{i}] must be a str, got {type(text).__name__}")
        if not text:
            raise ValueError(f"{name}[{i}] is an empty string: drop empty texts first")
    return out


def split_poems(
    texts: Sequence[str], *, test_fraction: float = 0.1, seed: int = 0
) -> tuple[list[str], list[str]]:
    r"""Split poems (not lines) into a training and a held-out part, fixed by ``seed``.

    A seeded permutation of the poems; the first ``round(test_fraction * N)`` (at least 1)
    are held out. Both parts keep the collection's order.

    Returns
    -------
    train, test : list of str
    """
    texts = _check_texts(texts, "texts")
    test_fraction = check_real(
        test_fraction, "test_fraction", low=0.0, high=1.0, low_open=True, high_open=True
    )
    seed = check_count(seed, "seed", minimum=0)
    n_test = max(1, round(test_fraction * len(texts)))
    if n_test >= len(texts):
        raise ValueError(f"texts has {len(texts)} poem(s): too few to hold out {n_test}")
    order = torch.randperm(len(texts), generator=torch.Generator().manual_seed(seed))
    held = set(order[:n_test].tolist())
    train = [t for i, t in enumerate(texts) if i not in held]
    test = [t for i, t in enumerate(texts) if i in held]
    return train, test


class CharTokenizer:
    r"""Characters to token ids and back, with a vocabulary built from the training texts only.

    Ids 0, 1, 2 are the special tokens ``<unk>`` (a character not seen in training),
    ``<bos>`` (start of a text) and ``<eos>`` (end of a text); the characters follow in
    code-point order, so the same texts always give the same ids.

    Parameters
    ----------
    texts : list of str
        The training texts (never the held-out ones).
    min_count : int
        Keep the characters seen at least this often in ``texts``; rarer ones map to
        ``<unk>`` (a smaller vocabulary: a cheaper output layer, at the price of the rare
        characters).
    """

    UNK, BOS, EOS = 0, 1, 2
    SPECIALS = ("<unk>", "<bos>", "<eos>")
    UNK_CHAR = "\N{WHITE SQUARE}"
    r"""How :meth:`decode` shows the unknown token."""

    def __init__(self, texts: Iterable[str], *, min_count: int = 1) -> None:
        texts = _check_texts(texts, "texts")
        min_count = check_count(min_count, "min_count")
        counts = Counter("".join(texts))
        chars = sorted(c for c, n in counts.items() if n >= min_count)
        self.chars = tuple(chars)
        self.index = {c: i + len(self.SPECIALS) for i, c in enumerate(chars)}

    @property
    def vocab_size(self) -> int:
        r"""V: the special tokens and the training characters."""
        return len(self.SPECIALS) + len(self.chars)

    def encode(self, text: str, *, bos: bool = True, eos: bool = True) -> list[int]:
        r"""Token ids of ``text``, optionally framed by ``<bos>`` and ``<eos>``; unknown
        characters become ``<unk>``."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if not text:
            raise ValueError("text is empty: give at least one character")
        ids = [self.index.get(c, self.UNK) for c in text]
        return [self.BOS] * bos + ids + [self.EOS] * eos

    def decode(self, ids: Iterable[int]) -> str:
        r"""The text of ``ids``: ``<bos>`` dropped, stops at ``<eos>``, ``<unk>`` shown as □."""
        out = []
        for i in (int(t) for t in ids):
            if i == self.EOS:
                break
            if i == self.BOS:
                continue
            if not 0 <= i < self.vocab_size:
                raise ValueError(f"ids holds {i}, outside [0, {self.vocab_size - 1}]")
            out.append(self.UNK_CHAR if i == self.UNK else self.chars[i - len(self.SPECIALS)])
        return "".join(out)


def token_windows(sequences: Iterable[Sequence[int]], length: int) -> torch.Tensor:
    r"""Concatenate token sequences and cut them into non-overlapping windows: (N, length) int64.

    The stream is ``seq_0 + seq_1 + ...``; the last partial window is dropped. A window of
    ``block_size + 1`` tokens trains a :class:`~aigc_course.models.transformer.CausalTransformer`
    on ``block_size`` predictions.
    """
    length = check_count(length, "length", minimum=2)
    stream = [int(t) for seq in sequences for t in seq]
    n = len(stream) // length
    if n == 0:
        raise ValueError(
            f"the sequences hold {len(stream)} tokens, fewer than one window of {length}"
        )
    return torch.tensor(stream[: n * length], dtype=torch.long).view(n, length)
