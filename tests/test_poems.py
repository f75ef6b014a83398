"""Tang poems: loading order, SHA-256 checks, cache repair, mirrors; tokenizer; split; windows."""

import gzip
import io
import os
import shutil
import tarfile
from pathlib import Path

import pytest
import torch

from aigc_course.data import sources
from aigc_course.data.errors import DataError
from aigc_course.data.poems import (
    POEM_FILES,
    POEMS_DIR_ENV,
    CharTokenizer,
    load_tang_poems,
    split_poems,
    token_windows,
)


def _offline_copy() -> Path:
    """The offline copy: $AIGC_POEMS_DIR, beside $AIGC_DATA_DIR (CI), or ../shared/data/."""
    candidates = [os.environ.get("AIGC_POEMS_DIR", "")]
    data_dir = os.environ.get("AIGC_DATA_DIR", "")
    if data_dir:
        candidates += [f"{data_dir}/chinese-poetry", f"{data_dir}/../chinese-poetry"]
    candidates.append(
        str(Path(__file__).resolve().parents[1].parent / "shared/data/chinese-poetry")
    )
    for candidate in filter(None, candidates):
        if (Path(candidate) / "poet.tang.0.json.gz").is_file():
            return Path(candidate).resolve()
    return Path("/nonexistent")


OFFLINE = _offline_copy()
needs_copy = pytest.mark.skipif(
    not (OFFLINE / "poet.tang.0.json.gz").is_file(), reason="no offline copy of the Tang poems"
)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.delenv(POEMS_DIR_ENV, raising=False)
    monkeypatch.delenv(sources.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv(sources.CACHE_DIR_ENV, str(tmp_path / "cache"))

    def offline(url, *, timeout=30.0):
        raise OSError("no network in tests")

    monkeypatch.setattr(sources, "fetch_url", offline)


def _original(name):
    return gzip.decompress((OFFLINE / f"{name}.gz").read_bytes())


@pytest.fixture(scope="module")
def corpus():
    if not (OFFLINE / "poet.tang.0.json.gz").is_file():
        pytest.skip("no offline copy of the Tang poems")
    return load_tang_poems(root=OFFLINE, verbose=False)


@needs_copy
def test_the_whole_release_loads_from_an_explicit_folder(corpus, capsys):
    assert len(corpus) + corpus.skipped == 57_607 and corpus.skipped == 4
    assert corpus.texts[0].startswith("秦川雄帝宅，函谷壯皇居。")  # traditional, as shipped
    assert corpus.authors[0] == "太宗皇帝" and corpus.source == "root"


@needs_copy
def test_environment_variable_and_one_line_without_paths(monkeypatch, capsys):
    monkeypatch.setenv(POEMS_DIR_ENV, str(OFFLINE))
    corpus = load_tang_poems()
    line = capsys.readouterr().out.strip()
    assert corpus.source == POEMS_DIR_ENV and "\n" not in line
    assert "$AIGC_POEMS_DIR" in line and str(OFFLINE) not in line and "57,603" in line


def _folder_copy(tmp_path):
    folder = tmp_path / "poems"
    shutil.copytree(OFFLINE, folder)
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder


@needs_copy
@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[:5000]), "cannot be read or decompressed"),
        (lambda p: p.write_bytes(gzip.compress(b"[]")), "content differs"),
        (
            lambda p: p.write_bytes(gzip.compress(_original("poet.tang.0.json")[:-10])),
            "content differs",
        ),
    ],
    ids=["truncated gzip", "substituted", "truncated json"],
)
def test_a_damaged_file_is_an_error_naming_the_file_and_the_fix(tmp_path, damage, match):
    folder = _folder_copy(tmp_path)
    damage(folder / "poet.tang.7000.json.gz")
    with pytest.raises(DataError, match=match) as info:
        load_tang_poems(root=folder, verbose=False)
    assert "poet.tang.7000.json" in str(info.value) and "Delete it" in str(info.value)


@needs_copy
def test_an_incomplete_folder_is_never_a_partial_corpus(tmp_path):
    folder = _folder_copy(tmp_path)
    (folder / "poet.tang.3000.json.gz").unlink()
    with pytest.raises(DataError, match="57 of 58 files") as info:
        load_tang_poems(root=folder, download=False, verbose=False)
    assert "AIGC_POEMS_DIR" in str(info.value)


def _serve(monkeypatch, *, files=True, tarball=False, calls=None):
    def fetch(url, *, timeout=30.0):
        if calls is not None:
            calls.append(url)
        name = url.rsplit("/", 1)[-1]
        if files and "2.0.1/dist/quantangshi/" in url:
            return _original(name)
        if tarball and url.endswith("chinese-poetry-2.0.1.tgz"):
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
                for n in POEM_FILES:
                    data = _original(n)
                    info = tarfile.TarInfo(f"package/dist/quantangshi/{n}")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
            return buf.getvalue()
        raise OSError(f"404 {url}")

    monkeypatch.setattr(sources, "fetch_url", fetch)


@needs_copy
def test_a_damaged_cached_file_is_replaced_from_a_mirror(tmp_path, monkeypatch):
    cache = tmp_path / "cache" / "chinese-poetry"
    cache.mkdir(parents=True)
    for name in POEM_FILES:
        (cache / name).write_bytes(_original(name))
    (cache / "poet.tang.12000.json").write_bytes(b'[{"paragraphs": ["x"]}]')
    calls = []
    _serve(monkeypatch, calls=calls)
    corpus = load_tang_poems(verbose=False)
    assert len(corpus) == 57_603 and corpus.source == "download"
    assert [u.rsplit("/", 1)[-1] for u in calls] == ["poet.tang.12000.json"]
    assert "jsdelivr" in calls[0] and "@2.0.1/" in calls[0]
    assert (cache / "poet.tang.12000.json").read_bytes() == _original("poet.tang.12000.json")


@needs_copy
def test_a_damaged_cached_file_offline_is_an_error(tmp_path):
    cache = tmp_path / "cache" / "chinese-poetry"
    cache.mkdir(parents=True)
    for name in POEM_FILES:
        (cache / name).write_bytes(_original(name))
    (cache / "poet.tang.0.json").write_bytes(b"[]")
    with pytest.raises(DataError, match=r"poet\.tang\.0\.json.*content differs"):
        load_tang_poems(download=False, verbose=False)


@needs_copy
def test_the_npm_tarball_is_the_last_mirror(monkeypatch):
    calls = []
    _serve(monkeypatch, files=False, tarball=True, calls=calls)
    corpus = load_tang_poems(verbose=False)
    assert len(corpus) == 57_603 and calls[-1].startswith("https://registry.npmjs.org/")
    assert sum("tgz" in c for c in calls) == 1  # one tarball for all the missing files


@needs_copy
def test_a_mirror_serving_other_bytes_is_refused(monkeypatch):
    monkeypatch.setattr(sources, "fetch_url", lambda url, *, timeout=30.0: b"[]")
    with pytest.raises(DataError, match="not the release's file"):
        load_tang_poems(verbose=False)


def test_offline_with_nothing_says_where_to_put_the_files():
    with pytest.raises(DataError, match="set AIGC_POEMS_DIR") as info:
        load_tang_poems(download=False, verbose=False)
    assert "58 files" in str(info.value)


# ---------------------------------------------------------------- split, tokenizer, windows

TEXTS = ["床前明月光", "疑是地上霜", "舉頭望明月", "低頭思故鄉", "白日依山盡"]


def test_split_is_by_poem_and_fixed_by_seed():
    train, test = split_poems(TEXTS, test_fraction=0.4, seed=0)
    assert len(test) == 2 and sorted(train + test) == sorted(TEXTS) and not set(train) & set(test)
    assert (train, test) == split_poems(TEXTS, test_fraction=0.4, seed=0)
    splits = {tuple(split_poems(TEXTS, test_fraction=0.4, seed=s)[1]) for s in range(10)}
    assert len(splits) > 1


def test_tokenizer_vocabulary_comes_from_the_training_texts_only():
    tok = CharTokenizer(TEXTS[:2])
    assert tok.vocab_size == 3 + len(set("".join(TEXTS[:2])))
    assert tok.chars == tuple(sorted(set("".join(TEXTS[:2]))))
    ids = tok.encode("明月照高樓")
    assert ids[0] == tok.BOS and ids[-1] == tok.EOS and ids.count(tok.UNK) == 3
    assert tok.decode(ids) == "明月□□□"
    assert tok.decode(tok.encode(TEXTS[0])) == TEXTS[0]
    assert tok.encode(TEXTS[0], bos=False, eos=False) == tok.encode(TEXTS[0])[1:-1]


def test_rare_characters_can_map_to_the_unknown_token():
    tok = CharTokenizer(TEXTS, min_count=2)  # 明 月 頭 appear twice
    assert tok.chars == tuple(sorted("明月頭")) and tok.vocab_size == 6
    assert tok.decode(tok.encode("明月光")) == "明月□"


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: CharTokenizer([]), "texts is empty"),
        (lambda: CharTokenizer(["a"], min_count=0), "min_count"),
        (lambda: CharTokenizer("abc"), "list of strings"),
        (lambda: CharTokenizer(["a", 3]), r"texts\[1\] must be a str"),
        (lambda: CharTokenizer(["a", ""]), r"texts\[1\] is an empty string"),
        (lambda: CharTokenizer(["a"]).encode(""), "text is empty"),
        (lambda: CharTokenizer(["a"]).encode(None), "text must be a str"),
        (lambda: CharTokenizer(["a"]).decode([7]), "outside"),
        (lambda: split_poems(TEXTS, test_fraction=1.0), "test_fraction"),
        (lambda: split_poems(TEXTS[:1]), "too few"),
        (lambda: token_windows([[1, 2]], 3), "fewer than one window"),
        (lambda: token_windows([[1, 2]], 1), "length"),
    ],
)
def test_bad_text_arguments(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call()


def test_token_windows_by_hand():
    out = token_windows([[1, 5, 6, 2], [1, 7, 2]], 3)
    assert torch.equal(out, torch.tensor([[1, 5, 6], [2, 1, 7]]))
