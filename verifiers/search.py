"""A searchable document corpus (SQLite FTS5, BM25) and a built-in fictional encyclopedia.

The search self-play game needs a tool the solver can call and facts the proposer can ground
questions in. :class:`Corpus` is that tool: documents (``doc_id``, ``title``, ``text``) in an
SQLite database with an FTS5 index, ranked by BM25 with the title weighted ten times the body::

    corpus = Corpus.default(n_docs=2000, seed=0)        # built in memory, no download
    hits = corpus.search("When was Velmora founded?", k=5)
    corpus.get(hits[0].doc_id).text

Queries are free text: any string (quotes, ``AND``/``NEAR``/``*``, unicode, empty) is split
into word tokens, common English stop words are dropped, and the remaining terms are quoted
and OR-ed, so a query can never raise an FTS syntax error and a document that matches more
(and rarer) terms ranks higher. For speed on large corpora, when a query has both rare terms
(held by at most 1% of the documents) and common ones, only documents holding a rare term are
ranked (the common terms still count in their score): a question naming its subject then
costs a few milliseconds on 100,000 documents instead of ranking every document that says
"year" or "born".

Corpora come from JSONL dumps (:meth:`Corpus.from_jsonl`, including wikiextractor's
``--json`` output folders), folders of text files (:meth:`Corpus.from_folder`), Hugging Face
datasets (:meth:`Corpus.from_hf`) or any iterable of documents (:meth:`Corpus.add`). A corpus
on a file persists (WAL mode) and :meth:`Corpus.add` is incremental and idempotent by
``doc_id`` (re-adding a document replaces it; identical content is a no-op).

The default corpus (:func:`default_documents`, :meth:`Corpus.default`) is generated
deterministically from a seed: a fictional encyclopedia of invented places, people, species
and inventions with invented facts (years, numbers, relations), so answers must come from
search, not from a model's memory. :func:`default_questions` draws (question, answer,
supporting doc ids) triples from the same world, single-hop or two-hop.
"""

from __future__ import annotations

import bz2
import functools
import gzip
import json
import random
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Corpus",
    "Document",
    "Hit",
    "Question",
    "default_documents",
    "default_questions",
    "query_terms",
    "sanitize_query",
]

SCHEMA_VERSION = "1"
#: BM25 column weights: (doc_id, title, text). The id column is not indexed.
TITLE_WEIGHT = 10.0
BODY_WEIGHT = 1.0
MAX_QUERY_TERMS = 32
#: A query term is "rare" when at most max(RARE_TERM_MIN_DF, RARE_TERM_FRACTION * documents)
#: documents hold it; see :meth:`Corpus.search`.
RARE_TERM_MIN_DF = 64
RARE_TERM_FRACTION = 0.01


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_STOPWORDS = frozenset(
    _words(
        """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves"""
    )
)


@dataclass(frozen=True, slots=True)
class Document:
    """One document. ``doc_id`` is unique in a corpus; ``meta`` is any JSON-able extra."""

    doc_id: str
    title: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: higher ``score`` is better (the negated BM25 rank)."""

    doc_id: str
    title: str
    score: float
    snippet: str


@dataclass(frozen=True, slots=True)
class Question:
    """A question about the default corpus, its answer and the documents that support it.

    ``doc_ids`` lists the supporting documents in hop order (one for single-hop questions,
    two for two-hop ones); ``kind`` names the template (e.g. ``place.founded``).
    """

    question: str
    answer: str
    doc_ids: tuple[str, ...]
    kind: str

    @property
    def hops(self) -> int:
        return len(self.doc_ids)


def query_terms(query: str) -> list[str]:
    """The search terms of free text ``query``.

    Word tokens (unicode ``\\w+``), lower-cased, de-duplicated, stop words dropped unless
    nothing else is left, at most :data:`MAX_QUERY_TERMS`.
    """
    if not isinstance(query, str):
        raise TypeError(f"query must be a string, got {type(query).__name__}")
    words = list(dict.fromkeys(w.lower() for w in re.findall(r"\w+", query)))
    content = [w for w in words if w not in _STOPWORDS]
    return (content or words)[:MAX_QUERY_TERMS]


def sanitize_query(query: str) -> str:
    """The FTS5 MATCH expression for free text ``query`` ("" when it has no searchable word):
    its :func:`query_terms`, each double-quoted (so FTS5 operators and punctuation are plain
    text), OR-ed."""
    return " OR ".join(f'"{t}"' for t in query_terms(query))


def _to_document(item: Any, index: int) -> Document:
    if isinstance(item, Document):
        doc = item
    elif isinstance(item, Mapping):
        if "doc_id" in item:
            doc_id = item["doc_id"]
        elif "id" in item:
            doc_id = item["id"]
        else:
            raise ValueError(f"document #{index} has no 'id' (or 'doc_id') field: {item!r:.120}")
        meta = item.get("meta") or {}
        doc = Document(doc_id, item.get("title", ""), item.get("text", ""), dict(meta))
    elif isinstance(item, tuple | list) and len(item) in (2, 3):
        doc = Document(*item) if len(item) == 3 else Document(item[0], "", item[1])
    else:
        raise TypeError(
            f"document #{index} must be a Document, a mapping with id/title/text or an "
            f"(id, title, text) tuple, got {type(item).__name__}"
        )
    doc_id = doc.doc_id
    if isinstance(doc_id, int) and not isinstance(doc_id, bool):
        doc_id = str(doc_id)
    if not isinstance(doc_id, str) or not doc_id:
        raise ValueError(f"document #{index} has an invalid doc_id {doc.doc_id!r}")
    title = doc.title if doc.title is not None else ""
    if not isinstance(title, str) or not isinstance(doc.text, str):
        raise TypeError(f"document {doc_id!r}: title and text must be strings")
    for part, value in (("id", doc_id), ("title", title), ("text", doc.text)):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"document {doc_id!r}: its {part} is not valid Unicode "
                f"({exc.reason} at character {exc.start})"
            ) from None
    if doc_id is not doc.doc_id or title is not doc.title:
        doc = Document(doc_id, title, doc.text, doc.meta)
    return doc


class Corpus:
    """Documents in SQLite with an FTS5 index, ranked by BM25 (title weighted higher).

    ``path`` is a database file (created if missing, WAL mode, reopened with its documents)
    or ``":memory:"``. A corpus may be shared between threads (calls are serialised).
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._df_cache: dict[str, int] = {}
        self._n_docs: int | None = None
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        try:
            self._setup()
        except Exception:
            self._db.close()
            raise

    # ------------------------------------------------------------------ setup
    def _setup(self) -> None:
        db = self._db
        if self.path != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "spenv_corpus_meta" in tables:
            row = db.execute("SELECT value FROM spenv_corpus_meta WHERE key='schema'").fetchone()
            if row is None or row[0] != SCHEMA_VERSION:
                raise ValueError(
                    f"{self.path}: corpus schema {row[0] if row else None!r} is not the "
                    f"supported version {SCHEMA_VERSION!r}"
                )
            return
        if tables - {"sqlite_sequence"}:
            raise ValueError(
                f"{self.path} is an SQLite database but not an spenv corpus "
                f"(tables: {sorted(tables)[:5]})"
            )
        with db:
            db.executescript(
                f"""
                CREATE TABLE spenv_corpus_meta(key TEXT PRIMARY KEY, value TEXT);
                INSERT INTO spenv_corpus_meta VALUES ('schema', '{SCHEMA_VERSION}');
                CREATE TABLE docs(
                    rowid INTEGER PRIMARY KEY,
                    doc_id TEXT NOT NULL UNIQUE,
                    title TEXT NOT NULL,
                    text TEXT NOT NULL,
                    meta TEXT NOT NULL DEFAULT '{{}}'
                );
                CREATE VIRTUAL TABLE docs_fts USING fts5(
                    doc_id UNINDEXED, title, text,
                    content='docs', content_rowid='rowid',
                    tokenize='porter unicode61 remove_diacritics 2'
                );
                INSERT INTO docs_fts(docs_fts, rank)
                    VALUES ('rank', 'bm25(0.0, {TITLE_WEIGHT}, {BODY_WEIGHT})');
                CREATE TRIGGER docs_ai AFTER INSERT ON docs BEGIN
                    INSERT INTO docs_fts(rowid, doc_id, title, text)
                        VALUES (new.rowid, new.doc_id, new.title, new.text);
                END;
                CREATE TRIGGER docs_ad AFTER DELETE ON docs BEGIN
                    INSERT INTO docs_fts(docs_fts, rowid, doc_id, title, text)
                        VALUES ('delete', old.rowid, old.doc_id, old.title, old.text);
                END;
                CREATE TRIGGER docs_au AFTER UPDATE ON docs BEGIN
                    INSERT INTO docs_fts(docs_fts, rowid, doc_id, title, text)
                        VALUES ('delete', old.rowid, old.doc_id, old.title, old.text);
                    INSERT INTO docs_fts(rowid, doc_id, title, text)
                        VALUES (new.rowid, new.doc_id, new.title, new.text);
                END;
                """
            )

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Corpus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Corpus({self.path!r}, {len(self)} documents)"

    # ------------------------------------------------------------------ writing
    def add(self, docs: Iterable[Any], *, batch_size: int = 2000) -> int:
        """Add or replace documents; return how many were inserted or changed.

        ``docs`` holds :class:`Document` objects, mappings with ``id`` (or ``doc_id``),
        ``title``, ``text`` (and optional ``meta``), or ``(id, title, text)`` tuples. A
        document whose id is already present replaces the stored one when its content differs
        and is skipped when it is identical, so adding the same documents twice changes
        nothing. All-or-nothing per batch of ``batch_size``; a bad document raises
        ``TypeError``/``ValueError`` naming it, before its batch is written.
        """
        if isinstance(docs, Document | Mapping | str):
            raise TypeError("add() takes an iterable of documents; wrap a single one in a list")
        changed = 0
        batch: dict[str, Document] = {}
        for index, item in enumerate(docs):
            doc = _to_document(item, index)
            batch[doc.doc_id] = doc
            if len(batch) >= batch_size:
                changed += self._write(batch)
                batch = {}
        if batch:
            changed += self._write(batch)
        return changed

    def _write(self, batch: dict[str, Document]) -> int:
        rows = {
            d.doc_id: (d.title, d.text, json.dumps(d.meta, sort_keys=True, ensure_ascii=False))
            for d in batch.values()
        }
        with self._lock, self._db:
            self._invalidate()
            existing: dict[str, tuple[str, str, str]] = {}
            ids = list(rows)
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for doc_id, title, text, meta in self._db.execute(
                    f"SELECT doc_id, title, text, meta FROM docs WHERE doc_id IN ({marks})", chunk
                ):
                    existing[doc_id] = (title, text, meta)
            new = [(k, *v) for k, v in rows.items() if k not in existing]
            updated = [(*v, k) for k, v in rows.items() if k in existing and existing[k] != v]
            if new:
                self._db.executemany(
                    "INSERT INTO docs(doc_id, title, text, meta) VALUES (?, ?, ?, ?)", new
                )
            if updated:
                self._db.executemany(
                    "UPDATE docs SET title = ?, text = ?, meta = ? WHERE doc_id = ?", updated
                )
        return len(new) + len(updated)

    def remove(self, doc_ids: Iterable[str]) -> int:
        """Delete documents by id; return how many existed."""
        if isinstance(doc_ids, str):
            doc_ids = [doc_ids]
        with self._lock, self._db:
            self._invalidate()
            cur = self._db.executemany("DELETE FROM docs WHERE doc_id = ?", [(d,) for d in doc_ids])
            return cur.rowcount

    def _invalidate(self) -> None:
        self._df_cache.clear()
        self._n_docs = None

    def optimize(self) -> None:
        """Merge the FTS index segments (faster queries after a large load)."""
        with self._lock, self._db:
            self._db.execute("INSERT INTO docs_fts(docs_fts) VALUES ('optimize')")

    # ------------------------------------------------------------------ reading
    def search(self, query: str, k: int = 10, *, snippet_tokens: int = 24) -> list[Hit]:
        """The ``k`` best documents for free-text ``query``, best first (see the module doc)."""
        if not isinstance(k, int) or isinstance(k, bool) or k < 0:
            raise ValueError(f"k must be a non-negative integer, got {k!r}")
        terms = query_terms(query)
        if not terms or k == 0:
            return []
        snippet_tokens = max(1, min(int(snippet_tokens), 64))
        with self._lock:
            expr = self._match_expression(terms)
            rows = self._db.execute(
                "SELECT doc_id, title, rank, "
                f"snippet(docs_fts, 2, '', '', '…', {snippet_tokens}) "
                "FROM docs_fts WHERE docs_fts MATCH ? ORDER BY rank LIMIT ?",
                (expr, k),
            ).fetchall()
        return [Hit(doc_id, title, -rank, snippet) for doc_id, title, rank, snippet in rows]

    def _doc_freq(self, term: str) -> int:
        df = self._df_cache.get(term)
        if df is None:
            df = self._db.execute(
                "SELECT count(*) FROM docs_fts WHERE docs_fts MATCH ?", (f'"{term}"',)
            ).fetchone()[0]
            if len(self._df_cache) > 100_000:
                self._df_cache.clear()
            self._df_cache[term] = df
        return df

    def _match_expression(self, terms: list[str]) -> str:
        """OR of the quoted terms; when some terms are rare, only documents with a rare term
        are candidates (``(rare OR ...) AND (all OR ...)``), which keeps BM25 from ranking
        every document that holds a common word while still scoring the common words."""
        quoted = [f'"{t}"' for t in terms]
        everything = " OR ".join(quoted)
        if len(terms) == 1:
            return everything
        if self._n_docs is None:
            self._n_docs = self._db.execute("SELECT count(*) FROM docs").fetchone()[0]
        limit = max(RARE_TERM_MIN_DF, int(self._n_docs * RARE_TERM_FRACTION))
        freqs = [self._doc_freq(t) for t in terms]
        present = [(q, df) for q, df in zip(quoted, freqs, strict=True) if df > 0]
        rare = [q for q, df in present if df <= limit]
        if not rare or len(rare) == len(present):
            return " OR ".join(q for q, _ in present) or everything
        return f"({' OR '.join(rare)}) AND ({everything})"

    def get(self, doc_id: str) -> Document:
        """The document with ``doc_id``; ``KeyError`` naming it when absent."""
        with self._lock:
            row = self._db.execute(
                "SELECT doc_id, title, text, meta FROM docs WHERE doc_id = ?", (str(doc_id),)
            ).fetchone()
        if row is None:
            raise KeyError(f"no document with id {doc_id!r} in corpus {self.path!r}")
        return Document(row[0], row[1], row[2], json.loads(row[3]))

    def __contains__(self, doc_id: object) -> bool:
        with self._lock:
            return (
                self._db.execute("SELECT 1 FROM docs WHERE doc_id = ?", (str(doc_id),)).fetchone()
                is not None
            )

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM docs").fetchone()[0]

    def ids(self) -> Iterator[str]:
        """Every doc id, in insertion order."""
        with self._lock:
            rows = self._db.execute("SELECT doc_id FROM docs ORDER BY rowid").fetchall()
        return (r[0] for r in rows)

    def __iter__(self) -> Iterator[Document]:
        with self._lock:
            rows = self._db.execute(
                "SELECT doc_id, title, text, meta FROM docs ORDER BY rowid"
            ).fetchall()
        return (Document(r[0], r[1], r[2], json.loads(r[3])) for r in rows)

    # ------------------------------------------------------------------ builders
    @classmethod
    def default(cls, n_docs: int = 2000, seed: int = 0, *, path: str | Path = ":memory:") -> Corpus:
        """The fictional encyclopedia of :func:`default_documents` (no download)."""
        corpus = cls(path)
        corpus.add(default_documents(n_docs, seed))
        corpus.optimize()
        return corpus

    @classmethod
    def from_jsonl(
        cls,
        path: str | Path,
        *,
        db: str | Path = ":memory:",
        id_field: str = "id",
        title_field: str = "title",
        text_field: str = "text",
        skip_empty: bool = True,
    ) -> Corpus:
        """Load JSON-lines documents: one ``{"id", "title", "text"}`` object a line.

        ``path`` is a file (plain, ``.gz`` or ``.bz2``) or a folder, read recursively in name
        order: wikiextractor's ``--json`` output (``AA/wiki_00`` ...) loads as is. Other
        fields go to ``meta``. Documents with empty text are skipped when ``skip_empty``. A
        line that is not a JSON object raises ``ValueError`` naming the file and line.
        """
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no such file or folder: {path}")
        files = (
            sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            if path.is_dir()
            else [path]
        )
        keys = {id_field, title_field, text_field}

        def documents() -> Iterator[Document]:
            for file in files:
                for lineno, line in enumerate(_open_text(file), 1):
                    if not line.strip():
                        continue
                    try:
                        obj = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise ValueError(f"{file}:{lineno}: not valid JSON ({exc.msg})") from None
                    if not isinstance(obj, dict):
                        raise ValueError(f"{file}:{lineno}: expected a JSON object")
                    if text_field not in obj:
                        raise ValueError(f"{file}:{lineno}: no {text_field!r} field")
                    text = obj[text_field]
                    if skip_empty and not str(text).strip():
                        continue
                    doc_id = obj.get(id_field)
                    if doc_id is None or doc_id == "":
                        raise ValueError(f"{file}:{lineno}: no {id_field!r} field")
                    meta = {k: v for k, v in obj.items() if k not in keys}
                    yield Document(str(doc_id), str(obj.get(title_field) or ""), str(text), meta)

        corpus = cls(db)
        try:
            corpus.add(documents())
            corpus.optimize()
        except Exception:
            corpus.close()
            raise
        return corpus

    @classmethod
    def from_folder(
        cls,
        folder: str | Path,
        *,
        db: str | Path = ":memory:",
        suffixes: Iterable[str] = (".txt", ".md"),
        encoding: str = "utf-8",
    ) -> Corpus:
        """One document per text file under ``folder`` (recursively).

        The id is the path relative to ``folder``; the title is the first line when it is a
        Markdown heading (``# Title``), otherwise the file name with ``_``/``-`` as spaces.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise NotADirectoryError(f"not a folder: {folder}")
        wanted = {s.lower() for s in suffixes}
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in wanted)

        def documents() -> Iterator[Document]:
            for file in files:
                text = file.read_text(encoding=encoding, errors="replace")
                first = text.lstrip().split("\n", 1)[0]
                if first.startswith("#"):
                    title = first.lstrip("#").strip()
                else:
                    title = re.sub(r"[_-]+", " ", file.stem).strip()
                yield Document(file.relative_to(folder).as_posix(), title, text)

        corpus = cls(db)
        try:
            corpus.add(documents())
            corpus.optimize()
        except Exception:
            corpus.close()
            raise
        return corpus

    @classmethod
    def from_hf(
        cls,
        dataset_or_name: Any,
        *,
        split: str = "train",
        text_field: str = "text",
        title_field: str = "title",
        id_field: str = "id",
        db: str | Path = ":memory:",
        limit: int | None = None,
        **load_kwargs: Any,
    ) -> Corpus:
        """Load a Hugging Face dataset (a name for ``datasets.load_dataset``, a ``Dataset``,
        a ``DatasetDict`` or any iterable of row mappings).

        Rows without ``id_field`` get their row number as id; a missing ``title_field`` gives
        an empty title; a missing ``text_field`` raises ``KeyError`` listing the columns. A
        name needs the ``datasets`` package (``pip install datasets``), imported only here.
        """
        data = dataset_or_name
        if isinstance(data, str):
            try:
                import datasets
            except ImportError as exc:
                raise ImportError(
                    "Corpus.from_hf with a dataset name needs the 'datasets' package "
                    "(pip install datasets); or pass rows / a Dataset object"
                ) from exc
            data = datasets.load_dataset(data, split=split, **load_kwargs)
        if isinstance(data, Mapping):  # a DatasetDict (a dict of split name -> Dataset)
            if split not in data:
                raise KeyError(f"split {split!r} not in the dataset; splits: {sorted(data)}")
            data = data[split]
        columns = getattr(data, "column_names", None)
        if isinstance(columns, list) and text_field not in columns:
            raise KeyError(f"dataset has no text field {text_field!r}; columns: {columns}")

        def documents() -> Iterator[Document]:
            for i, row in enumerate(data):
                if limit is not None and i >= limit:
                    return
                if not isinstance(row, Mapping):
                    raise TypeError(f"row {i} is a {type(row).__name__}, not a mapping")
                if text_field not in row:
                    raise KeyError(
                        f"row {i} has no text field {text_field!r}; fields: {sorted(row)}"
                    )
                doc_id = row.get(id_field)
                doc_id = str(i) if doc_id is None or doc_id == "" else str(doc_id)
                yield Document(doc_id, str(row.get(title_field) or ""), str(row[text_field]))

        corpus = cls(db)
        try:
            corpus.add(documents())
            corpus.optimize()
        except Exception:
            corpus.close()
            raise
        return corpus


def _open_text(file: Path) -> Iterator[str]:
    name = file.name.lower()
    if name.endswith(".gz"):
        opener: Any = gzip.open
    elif name.endswith(".bz2"):
        opener = bz2.open
    else:
        opener = open
    with opener(file, "rt", encoding="utf-8") as fh:
        yield from fh


# ============================================================================ the default world

_ONSETS = _words("b br d dr f g gl gr h k kl kr l m n p pr qu r s sh st t th tr v vr w z")
_VOWELS = _words("a e i o u a e o ai ei ou ia")
_CODAS = ("", "", "", "n", "r", "l", "m", "th", "k", "x", "nd", "rn", "lt")
_ENDINGS = ("a", "ia", "or", "el", "ind", "os", "ar", "une", "eth", "ov", "ara", "ik")

_PLACE_KINDS = ("town", "city", "village", "port")
_OCCUPATIONS = (
    "astronomer", "cartographer", "engineer", "botanist", "poet", "physician", "architect",
    "mathematician", "composer", "naturalist", "glassmaker", "navigator",
)  # fmt: skip
_SPECIES_KINDS = (
    "beetle", "heron", "moth", "fern", "lizard", "orchid", "trout", "marten", "lichen", "owl",
    "toad", "mussel",
)  # fmt: skip
_DIETS = ("insects", "seeds", "small fish", "nectar", "algae", "carrion", "leaves", "fungi")
_DEVICES = (
    "loom", "lamp", "engine", "telescope", "compass", "pump", "clock", "press", "kiln", "sextant",
    "bellows", "lathe",
)  # fmt: skip
_MATERIALS = ("brass", "oak", "copper", "glass", "iron", "bone", "bronze", "slate", "cedar")
_PURPOSES = (
    "weaving sailcloth", "measuring tides", "grinding pigments", "lighting mines",
    "lifting water", "printing maps", "drying grain", "charting stars", "cutting stone",
)  # fmt: skip
_FILLER = (
    "Records from the period are incomplete, and several accounts disagree on minor details.",
    "Local archives hold letters and ledgers that mention it repeatedly.",
    "It is discussed in a number of regional histories.",
    "Scholars have debated its significance for generations.",
    "A small museum displays material related to it.",
    "Travellers in later centuries described it in their journals.",
)


@dataclass(frozen=True)
class _World:
    documents: tuple[Document, ...]
    facts: tuple[tuple[str, str, tuple[str, ...], str], ...]  # question, answer, doc ids, kind


def _word(rng: random.Random) -> str:
    syllables = rng.choice((1, 2, 2, 3))
    parts = [
        rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables)
    ]
    return ("".join(parts) + rng.choice(_ENDINGS)).capitalize()


def _slug(kind: str, name: str) -> str:
    return f"{kind}/{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}"


@functools.lru_cache(maxsize=4)
def _world(n_docs: int, seed: int) -> _World:
    rng = random.Random(f"spenv-corpus/{seed}")
    used: set[str] = set()

    def unique_word() -> str:
        while True:
            w = _word(rng)
            if w.lower() not in used and len(w) >= 4:
                used.add(w.lower())
                return w

    n_places = max(1, round(n_docs * 0.30))
    n_people = max(1, round(n_docs * 0.35))
    n_species = max(1, round(n_docs * 0.20))
    n_inventions = max(1, n_docs - n_places - n_people - n_species)
    regions = [unique_word() for _ in range(max(3, n_places // 25))]
    rivers = [unique_word() for _ in range(max(3, n_places // 10))]

    places = [
        {
            "name": unique_word(),
            "kind": rng.choice(_PLACE_KINDS),
            "region": rng.choice(regions),
            "river": rng.choice(rivers),
            "founded": rng.randint(820, 1890),
            "population": rng.randint(300, 950_000),
        }
        for _ in range(n_places)
    ]
    people = [
        {
            "name": f"{unique_word()} {unique_word()}",
            "occupation": rng.choice(_OCCUPATIONS),
            "born": rng.randint(1480, 1960),
            "birthplace": rng.randrange(n_places),
        }
        for _ in range(n_people)
    ]
    for p in people:
        p["mentor"] = rng.randrange(n_people) if n_people > 1 else None
        if p["mentor"] is not None and people[p["mentor"]] is p:
            p["mentor"] = None
    for pl in places:
        pl["founder"] = rng.randrange(n_people)
    species = [
        {
            "name": f"{unique_word()} {rng.choice(_SPECIES_KINDS)}",
            "describer": rng.randrange(n_people),
            "described": rng.randint(1600, 1990),
            "length": rng.randint(2, 180),
            "habitat": rng.randrange(n_places),
            "diet": rng.choice(_DIETS),
        }
        for _ in range(n_species)
    ]
    inventions = [
        {
            "name": f"{unique_word()} {rng.choice(_DEVICES)}",
            "inventor": rng.randrange(n_people),
            "year": rng.randint(1500, 1980),
            "material": rng.choice(_MATERIALS),
            "purpose": rng.choice(_PURPOSES),
            "first_used": rng.randrange(n_places),
        }
        for _ in range(n_inventions)
    ]

    place_ids = [_slug("place", p["name"]) for p in places]
    person_ids = [_slug("person", p["name"]) for p in people]
    species_ids = [_slug("species", s["name"]) for s in species]
    invention_ids = [_slug("invention", i["name"]) for i in inventions]
    founded_by: dict[int, list[int]] = {}
    for i, pl in enumerate(places):
        founded_by.setdefault(pl["founder"], []).append(i)
    invented_by: dict[int, list[int]] = {}
    for i, inv in enumerate(inventions):
        invented_by.setdefault(inv["inventor"], []).append(i)
    born_in: dict[int, list[int]] = {}
    for i, p in enumerate(people):
        born_in.setdefault(p["birthplace"], []).append(i)

    def filler() -> str:
        return rng.choice(_FILLER)

    docs: list[Document] = []
    for i, pl in enumerate(places):
        founder = people[pl["founder"]]["name"]
        s = [
            f"{pl['name']} is a {pl['kind']} in the region of {pl['region']}, on the banks of "
            f"the {pl['river']} river.",
            rng.choice(
                (
                    f"It was founded in {pl['founded']} by {founder}.",
                    f"{founder} founded the {pl['kind']} in {pl['founded']}.",
                )
            ),
            f"The population of {pl['name']} is {pl['population']}.",
        ]
        natives = born_in.get(i, [])[:3]
        if natives:
            s.append(
                "Notable people born here include "
                + ", ".join(people[j]["name"] for j in natives)
                + "."
            )
        s.append(filler())
        docs.append(Document(place_ids[i], pl["name"], " ".join(s), {"type": "place"}))
    for i, p in enumerate(people):
        birthplace = places[p["birthplace"]]["name"]
        s = [
            f"{p['name']} (born {p['born']}) was a {p['occupation']} from {birthplace}.",
        ]
        if p["mentor"] is not None:
            s.append(f"{p['name']} studied under {people[p['mentor']]['name']}.")
        for j in invented_by.get(i, [])[:3]:
            s.append(f"{p['name']} is credited with inventing the {inventions[j]['name']}.")
        for j in founded_by.get(i, [])[:3]:
            s.append(f"{p['name']} founded {places[j]['name']}.")
        s.append(filler())
        docs.append(Document(person_ids[i], p["name"], " ".join(s), {"type": "person"}))
    for i, sp in enumerate(species):
        s = [
            f"The {sp['name']} is a species first described by "
            f"{people[sp['describer']]['name']} in {sp['described']}.",
            f"It lives near {places[sp['habitat']]['name']} and feeds mainly on {sp['diet']}.",
            f"Adults reach a typical length of {sp['length']} centimetres.",
            filler(),
        ]
        docs.append(Document(species_ids[i], sp["name"], " ".join(s), {"type": "species"}))
    for i, inv in enumerate(inventions):
        s = [
            f"The {inv['name']} is a device for {inv['purpose']}, invented by "
            f"{people[inv['inventor']]['name']} in {inv['year']}.",
            f"It is made mostly of {inv['material']}.",
            f"It was first used in {places[inv['first_used']]['name']}.",
            filler(),
        ]
        docs.append(Document(invention_ids[i], inv["name"], " ".join(s), {"type": "invention"}))

    facts: list[tuple[str, str, tuple[str, ...], str]] = []
    for i, pl in enumerate(places):
        d = (place_ids[i],)
        n, k = pl["name"], pl["kind"]
        facts += [
            (f"In what year was the {k} of {n} founded?", str(pl["founded"]), d, "place.founded"),
            (f"Who founded the {k} of {n}?", people[pl["founder"]]["name"], d, "place.founder"),
            (f"What is the population of {n}?", str(pl["population"]), d, "place.population"),
            (f"On which river does {n} lie?", pl["river"], d, "place.river"),
        ]
        f = pl["founder"]
        facts.append(
            (
                f"In what year was the founder of {n} born?",
                str(people[f]["born"]),
                (place_ids[i], person_ids[f]),
                "place.founder.born",
            )
        )
    for i, p in enumerate(people):
        d = (person_ids[i],)
        n = p["name"]
        facts += [
            (f"In what year was {n} born?", str(p["born"]), d, "person.born"),
            (f"In which town was {n} born?", places[p["birthplace"]]["name"], d, "person.born_in"),
            (f"What was the occupation of {n}?", p["occupation"], d, "person.occupation"),
        ]
        b = p["birthplace"]
        facts.append(
            (
                f"In what year was the birthplace of {n} founded?",
                str(places[b]["founded"]),
                (person_ids[i], place_ids[b]),
                "person.born_in.founded",
            )
        )
    for i, sp in enumerate(species):
        d = (species_ids[i],)
        n = sp["name"]
        facts += [
            (f"Who first described the {n}?", people[sp["describer"]]["name"], d, "species.by"),
            (f"In what year was the {n} first described?", str(sp["described"]), d, "species.year"),
            (
                f"What is the typical length of the {n} in centimetres?",
                str(sp["length"]),
                d,
                "species.length",
            ),
        ]
        w = sp["describer"]
        facts.append(
            (
                f"What was the occupation of the person who first described the {n}?",
                people[w]["occupation"],
                (species_ids[i], person_ids[w]),
                "species.by.occupation",
            )
        )
    for i, inv in enumerate(inventions):
        d = (invention_ids[i],)
        n = inv["name"]
        facts += [
            (f"Who invented the {n}?", people[inv["inventor"]]["name"], d, "invention.inventor"),
            (f"In what year was the {n} invented?", str(inv["year"]), d, "invention.year"),
            (f"What material is the {n} mostly made of?", inv["material"], d, "invention.material"),
        ]
        w = inv["inventor"]
        facts.append(
            (
                f"In which town was the inventor of the {n} born?",
                places[people[w]["birthplace"]]["name"],
                (invention_ids[i], person_ids[w]),
                "invention.inventor.born_in",
            )
        )
    return _World(tuple(docs), tuple(facts))


def default_documents(n_docs: int = 2000, seed: int = 0) -> list[Document]:
    """The fictional encyclopedia: ``n_docs`` documents, the same for the same ``seed``.

    About 30% places, 35% people, 20% species and 15% inventions; every name is invented and
    unique, and every fact (years, numbers, relations) is drawn from the seed.
    """
    if not isinstance(n_docs, int) or n_docs < 4:
        raise ValueError(f"n_docs must be an integer >= 4, got {n_docs!r}")
    return list(_world(n_docs, int(seed)).documents)


def default_questions(
    n: int | None = 100,
    *,
    n_docs: int = 2000,
    seed: int = 0,
    two_hop: float = 0.0,
) -> list[Question]:
    """Questions about :meth:`Corpus.default` ``(n_docs, seed)`` with answers and support.

    ``n`` questions (all of them when None) drawn deterministically from ``seed``; a fraction
    ``two_hop`` of them need two documents (e.g. "In what year was the founder of X born?",
    supported by X's page then the founder's). Every answer is stated verbatim in the last
    supporting document, and every question names its first supporting document's subject.
    """
    if not 0.0 <= two_hop <= 1.0:
        raise ValueError(f"two_hop must be in [0, 1], got {two_hop}")
    if n is not None and (not isinstance(n, int) or n < 0):
        raise ValueError(f"n must be a non-negative integer or None, got {n!r}")
    if not isinstance(n_docs, int) or n_docs < 4:
        raise ValueError(f"n_docs must be an integer >= 4, got {n_docs!r}")
    facts = _world(n_docs, int(seed)).facts
    single = [Question(q, a, d, k) for q, a, d, k in facts if len(d) == 1]
    double = [Question(q, a, d, k) for q, a, d, k in facts if len(d) == 2]
    rng = random.Random(f"spenv-questions/{seed}/{n_docs}")
    if n is None:
        if two_hop == 0:
            return single
        return double if two_hop == 1 else single + double
    n_two = round(n * two_hop)
    n_one = n - n_two
    if n_one > len(single) or n_two > len(double):
        raise ValueError(
            f"only {len(single)} single-hop and {len(double)} two-hop questions exist for "
            f"n_docs={n_docs}"
        )
    chosen = rng.sample(single, n_one) + rng.sample(double, n_two)
    rng.shuffle(chosen)
    return chosen
