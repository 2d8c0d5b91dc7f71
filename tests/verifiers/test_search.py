"""The search corpus: BM25 ranking, persistence, incremental and idempotent adds, hostile
queries, loaders, and the generated default encyclopedia with its questions."""

from __future__ import annotations

import bz2
import gzip
import json
import sqlite3
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spenv.verifiers.search import (
    Corpus,
    Document,
    Hit,
    Question,
    default_documents,
    default_questions,
    query_terms,
    sanitize_query,
)

DOCS = [
    Document("fox", "Foxes", "The quick brown fox jumps over the lazy dog near the river bank."),
    Document("dog", "Dogs", "A lazy dog sleeps all day; the dog is brown and quick to bark."),
    Document("cat", "Cats", "Cats are quick, quiet and independent animals that hunt at night."),
    Document("river", "Rivers", "A river flows over stones; a fox may drink at the river."),
    Document("brown", "Brown bears", "Brown bears fish for salmon in the river during summer."),
]


@pytest.fixture
def corpus():
    with Corpus() as c:
        c.add(DOCS)
        yield c


@pytest.fixture(scope="module")
def encyclopedia():
    with Corpus.default(n_docs=2000, seed=0) as c:
        yield c


# ----------------------------------------------------------------------------- ranking


def test_exact_phrase_document_ranks_first(corpus):
    hits = corpus.search("quick brown fox jumps", k=3)
    assert hits[0].doc_id == "fox"
    assert all(isinstance(h, Hit) for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert "fox" in hits[0].snippet and hits[0].title == "Foxes"


def test_title_is_weighted_above_body(corpus):
    # "cats" is the title of one document; "river" appears in the body of three and the
    # title of one.
    assert corpus.search("river", k=1)[0].doc_id == "river"
    assert corpus.search("bears", k=1)[0].doc_id == "brown"
    with Corpus() as c:
        c.add(
            [
                Document("body", "Other", "salmon salmon salmon salmon are mentioned here"),
                Document("title", "Salmon", "a fish that swims upstream"),
            ]
        )
        assert c.search("salmon", k=2)[0].doc_id == "title"


def test_stemming_and_case(corpus):
    assert corpus.search("FOXES", k=1)[0].doc_id in ("fox", "river")
    assert corpus.search("barking dogs", k=1)[0].doc_id == "dog"


def test_k_limits_and_validation(corpus):
    assert len(corpus.search("the quick river", k=2)) == 2
    assert corpus.search("river", k=0) == []
    with pytest.raises(ValueError, match="k must be"):
        corpus.search("river", k=-1)
    with pytest.raises(TypeError, match="query must be a string"):
        corpus.search(None)  # type: ignore[arg-type]


def test_query_sanitising():
    assert query_terms('What is the "river" AND NEAR(fox*)?') == ["river", "near", "fox"]
    assert query_terms("the of and") == ["the", "of", "and"]  # only stop words: keep them
    assert sanitize_query("fox OR -dog") == '"fox" OR "dog"'
    assert sanitize_query("   ?!  ") == ""
    assert len(query_terms(" ".join(f"w{i}" for i in range(100)))) == 32


HOSTILE = [
    "",
    '"',
    '""',
    '"unterminated',
    "AND",
    "OR OR OR",
    "NOT fox",
    "fox AND",
    "NEAR(fox dog, 2)",
    "fox NEAR/3 dog",
    "*",
    "fox*",
    "^fox",
    "title:fox",
    "{title text}: fox",
    "(fox",
    "fox)",
    "-fox +dog",
    "\x00",
    "fox\x00dog",
    "🦊🐕",
    "ＦＯＸ",
    "Füchse über Flüsse",
    "狐狸 狗",
    "' OR 1=1; DROP TABLE docs; --",
    "a" * 10_000,
    "_",
    "\u0301\u0301",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_never_raise(corpus, query):
    hits = corpus.search(query, k=5)
    assert isinstance(hits, list) and len(hits) <= 5
    assert len(corpus) == len(DOCS)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(max_size=200))
def test_arbitrary_text_never_raises(corpus, query):
    hits = corpus.search(query, k=3)
    assert len(hits) <= 3
    assert all(h.doc_id in {d.doc_id for d in DOCS} for h in hits)


# ----------------------------------------------------------------------------- storage


def test_get_and_unknown_id(corpus):
    doc = corpus.get("cat")
    assert doc == DOCS[2]
    with pytest.raises(KeyError, match="no document with id 'nope'"):
        corpus.get("nope")
    assert "cat" in corpus and "nope" not in corpus
    assert list(corpus.ids()) == [d.doc_id for d in DOCS]
    assert list(corpus) == DOCS


def test_persistence_across_reopen(tmp_path):
    path = tmp_path / "sub" / "corpus.db"
    with Corpus(path) as c:
        assert c.add(DOCS) == len(DOCS)
        before = c.search("lazy dog", k=3)
    with Corpus(path) as c:
        assert len(c) == len(DOCS)
        assert c.search("lazy dog", k=3) == before
        assert c.get("fox").text == DOCS[0].text
        assert c._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_incremental_add_is_searchable(tmp_path):
    path = tmp_path / "c.db"
    with Corpus(path) as c:
        c.add(DOCS[:2])
        assert c.search("salmon") == []
    with Corpus(path) as c:
        assert c.add(DOCS[2:]) == 3
        assert len(c) == 5
        assert c.search("salmon", k=1)[0].doc_id == "brown"


def test_add_is_idempotent_by_id(corpus):
    assert corpus.add(DOCS) == 0
    assert len(corpus) == len(DOCS)
    assert len(corpus.search("lazy", k=10)) == 2  # no duplicate index entries
    # a changed document replaces the stored one, in the index too
    assert corpus.add([Document("cat", "Cats", "Cats purr loudly.")]) == 1
    assert len(corpus) == len(DOCS)
    assert corpus.get("cat").text == "Cats purr loudly."
    assert [h.doc_id for h in corpus.search("purr")] == ["cat"]
    assert all(h.doc_id != "cat" for h in corpus.search("independent"))
    # duplicates inside one call: the last wins
    assert corpus.add([("x", "X", "first"), ("x", "X", "second")]) == 1
    assert corpus.get("x").text == "second"


def test_add_accepts_mappings_tuples_and_meta(corpus):
    n = corpus.add(
        [
            {"id": 7, "title": "Seven", "text": "the number seven", "meta": {"src": "t"}},
            {"doc_id": "eight", "text": "the number eight"},
            ("nine", "Nine", "the number nine"),
        ]
    )
    assert n == 3
    assert corpus.get("7").meta == {"src": "t"}
    assert corpus.get("eight").title == ""


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        ([{"title": "no id", "text": "x"}], ValueError, "no 'id'"),
        ([("", "t", "x")], ValueError, "invalid doc_id"),
        ([42], TypeError, "document #0"),
        ([("a", "t", 5)], TypeError, "must be strings"),
        (Document("a", "b", "c"), TypeError, "iterable of documents"),
        ("abc", TypeError, "iterable of documents"),
    ],
)
def test_bad_documents_are_refused_clearly(corpus, bad, error, match):
    with pytest.raises(error, match=match):
        corpus.add(bad)
    assert len(corpus) == len(DOCS)


def test_remove(corpus):
    assert corpus.remove(["fox", "missing"]) == 1
    assert "fox" not in corpus
    assert all(h.doc_id != "fox" for h in corpus.search("jumps"))


def test_foreign_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t(x)")
    con.commit()
    con.close()
    with pytest.raises(ValueError, match="not an spenv corpus"):
        Corpus(path)


# ----------------------------------------------------------------------------- loaders


def _wiki_line(i, title, text):
    return json.dumps({"id": str(i), "revid": "1", "url": f"https://x/{i}", "title": title,
                       "text": text})  # fmt: skip


def test_from_jsonl_file_and_compressed(tmp_path):
    lines = [
        _wiki_line(1, "Anarchism", "Anarchism is a political philosophy."),
        _wiki_line(2, "Redirect", ""),  # empty text: skipped
        "",
        _wiki_line(3, "Albedo", "Albedo is the fraction of light that a surface reflects."),
    ]
    plain = tmp_path / "wiki.jsonl"
    plain.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Corpus.from_jsonl(plain) as c:
        assert len(c) == 2
        assert c.search("light reflects", k=1)[0].doc_id == "3"
        assert c.get("1").meta == {"revid": "1", "url": "https://x/1"}
    gz = tmp_path / "wiki.jsonl.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    bz = tmp_path / "wiki.jsonl.bz2"
    with bz2.open(bz, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    for path in (gz, bz):
        with Corpus.from_jsonl(path) as c:
            assert len(c) == 2


def test_from_jsonl_wikiextractor_folder(tmp_path):
    for sub, name, start in (("AA", "wiki_00", 0), ("AA", "wiki_01", 10), ("AB", "wiki_00", 20)):
        folder = tmp_path / "text" / sub
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(
            "\n".join(_wiki_line(start + j, f"T{start + j}", f"body {start + j}") for j in range(3))
        )
    db = tmp_path / "wiki.db"
    with Corpus.from_jsonl(tmp_path / "text", db=db) as c:
        assert len(c) == 9
        assert c.get("21").title == "T21"
    with Corpus(db) as c:
        assert len(c) == 9


def test_from_jsonl_errors_name_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(_wiki_line(1, "A", "a") + "\n{not json\n")
    with pytest.raises(ValueError, match=r"bad\.jsonl:2"):
        Corpus.from_jsonl(path)
    path.write_text('{"title": "A", "text": "no id"}\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:1: no 'id'"):
        Corpus.from_jsonl(path)
    with pytest.raises(FileNotFoundError):
        Corpus.from_jsonl(tmp_path / "missing.jsonl")
    path.write_text('{"id": "1", "body": "x"}\n')
    with Corpus.from_jsonl(path, text_field="body", title_field="name") as c:
        assert c.get("1").text == "x"


def test_from_folder(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "tidal_power.txt").write_text("Tides can turn turbines.")
    (tmp_path / "glaciers.md").write_text("# Glaciers of the north\nIce moves slowly.")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    with Corpus.from_folder(tmp_path) as c:
        assert sorted(c.ids()) == ["glaciers.md", "notes/tidal_power.txt"]
        assert c.get("notes/tidal_power.txt").title == "tidal power"
        assert c.get("glaciers.md").title == "Glaciers of the north"
        assert c.search("turbines", k=1)[0].doc_id == "notes/tidal_power.txt"
    with pytest.raises(NotADirectoryError):
        Corpus.from_folder(tmp_path / "glaciers.md")


def test_from_hf_rows_and_splits():
    rows = [{"id": "a", "title": "Alpha", "text": "first letter"}, {"text": "no id or title"}]
    with Corpus.from_hf(rows) as c:
        assert len(c) == 2 and c.get("1").title == ""
    with Corpus.from_hf({"train": rows, "test": rows[:1]}, split="test") as c:
        assert len(c) == 1
    with pytest.raises(KeyError, match="split 'validation'"):
        Corpus.from_hf({"train": rows}, split="validation")
    with pytest.raises(KeyError, match="no text field 'body'"):
        Corpus.from_hf(rows, text_field="body")


def test_from_hf_name_without_datasets_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    with pytest.raises(ImportError, match="pip install datasets"):
        Corpus.from_hf("wikimedia/wikipedia")


def test_from_hf_with_a_local_dataset_object():
    datasets = pytest.importorskip("datasets", reason="the datasets package is not installed")
    ds = datasets.Dataset.from_list(
        [{"id": "q1", "title": "Quasar", "text": "A quasar is a luminous nucleus."}]
    )
    with Corpus.from_hf(ds) as c:
        assert c.search("luminous", k=1)[0].doc_id == "q1"
    with pytest.raises(KeyError, match="no text field"):
        Corpus.from_hf(ds, text_field="body")


# ----------------------------------------------------------------------------- default corpus


def test_default_corpus_is_deterministic():
    a = default_documents(300, seed=1)
    assert a == default_documents(300, seed=1)
    assert len(a) == 300 and len({d.doc_id for d in a}) == 300
    assert a != default_documents(300, seed=2)
    assert {d.meta["type"] for d in a} == {"place", "person", "species", "invention"}
    with Corpus.default(300, seed=1) as c:
        assert len(c) == 300 and list(c) == a
    assert default_questions(20, n_docs=300, seed=1) == default_questions(20, n_docs=300, seed=1)


def test_default_names_are_invented_and_unique(encyclopedia):
    docs = list(encyclopedia)
    titles = [d.title for d in docs]
    assert len(set(titles)) == len(titles)
    assert len(docs) == 2000


def test_default_questions_are_answerable_by_search(encyclopedia):
    questions = default_questions(300, n_docs=2000, seed=0)
    assert len(questions) == 300 and all(isinstance(q, Question) for q in questions)
    assert len({q.question for q in questions}) == 300
    found = 0
    for q in questions:
        assert q.hops == 1
        doc = encyclopedia.get(q.doc_ids[0])
        assert q.answer in doc.text  # the answer is stated in the supporting document
        found += q.doc_ids[0] in [h.doc_id for h in encyclopedia.search(q.question, k=5)]
    assert found / len(questions) >= 0.95


def test_two_hop_questions(encyclopedia):
    questions = default_questions(100, n_docs=2000, seed=0, two_hop=1.0)
    assert all(q.hops == 2 for q in questions)
    found = 0
    for q in questions:
        first, second = (encyclopedia.get(d) for d in q.doc_ids)
        assert q.answer in second.text
        assert second.title in first.text  # the bridge entity is named in the first document
        found += q.doc_ids[0] in [h.doc_id for h in encyclopedia.search(q.question, k=5)]
    assert found / len(questions) >= 0.95
    mixed = default_questions(50, n_docs=2000, seed=0, two_hop=0.4)
    assert sum(q.hops == 2 for q in mixed) == 20


def test_default_question_arguments_are_validated():
    with pytest.raises(ValueError, match="two_hop"):
        default_questions(10, two_hop=1.5)
    with pytest.raises(ValueError, match="only"):
        default_questions(10_000, n_docs=10)
    with pytest.raises(ValueError, match="n_docs"):
        default_documents(2)
    assert len(default_questions(None, n_docs=100)) > 100
