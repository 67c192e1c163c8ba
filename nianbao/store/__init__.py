"""Where extractions and reviews live: a real SQL database (SQLite file by default, PostgreSQL by URL).

Why an audit trail: a value a reviewer changed must still show what the extractor said, who changed it
and when. So nothing is overwritten: a document is one row per content hash, each extraction one row per
(document, pipeline version, model version), each review decision a new row; the value in use is the
newest review's, else the extracted one. The schema is created and upgraded by Alembic migrations
(``migrations/``), never by ``create_all``, so a database made by an older nianbao is upgraded in place.

A review belongs to the document and field, not to one extraction: when the document is extracted again
(a new model), each decision is carried over to the new extraction's field (a review row pointing to the
person's decision by ``carried_from``) if the new extraction reads what the person saw or the value they
set; a field read otherwise waits for review again, with a ``review_conflict`` check flag that names both.
Writers of one document's reviews and extractions are serialized (a row lock; SQLite's write lock), so an
audit trail is a chain: each decision's old value is the previous one's new value.

A decision can be undone: an ``undo`` review is appended (nothing is deleted) and voids every decision
about the field before it, so the field is unreviewed again, its extracted value in use, back in the queue.
``FieldRow.reviews`` holds the decisions in force, ``FieldRow.trail`` every review row, undos included.

A document's agency and year are reviewed the same way (``meta_reviews``: per document, since they are
the content's, not an extractor's). Doubts that a check across documents raises about a field
(``check_flags``, e.g. the cross-year check of ``crossyear.py``) are derived data instead: replaced by each
run of the check, they hold an unreviewed field in the queue.

Why lean rows (issue 21): a report stores about 200 fields, so a field row holds numbers where it can: its
printed label and block name are ids of ``texts`` (each text once for the whole database), its row and
column integers; the extraction's record leaves out the fields and confidences its rows hold
(``ExtractionRow.full_record`` gives it back whole).

The rooms: ``tables.py`` the rows and shared queries, ``store.py`` the ``Store`` that writes them,
``extractions.py`` how extractions become rows (in bulk), ``reviews.py`` the locking, carry-over and
labels of review decisions, ``database.py`` the URL, engine and migrations, ``hashing.py`` content
hashes, ``crossyear.py`` the check across years. A record's fields are shaped into rows before they reach
the store (``nianbao/stored_fields.py``, in the worker that extracted them).
"""

from nianbao.store import database, extractions, hashing, reviews, store, tables
from nianbao.store.database import *  # noqa: F403
from nianbao.store.extractions import *  # noqa: F403
from nianbao.store.hashing import *  # noqa: F403
from nianbao.store.reviews import *  # noqa: F403
from nianbao.store.store import *  # noqa: F403
from nianbao.store.tables import *  # noqa: F403

__all__ = [
    *database.__all__,
    *extractions.__all__,
    *hashing.__all__,
    *reviews.__all__,
    *store.__all__,
    *tables.__all__,
]
