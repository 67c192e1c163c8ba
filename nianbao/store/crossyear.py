"""The check across reports: an agency's 上年结转 (carried over) in year Y is its 结转下年度继续办理 (carried
forward) of year Y-1, column by column.

Why a check of its own: each report is validated alone at extraction, but a misread carried count is often
only visible beside the neighbouring year's report. The values in use are compared (a reviewed value wins
over the extracted one; null on either side leaves that column unchecked), agencies matched on their name
in use (a reviewed agency or year wins) after light normalisation. Two documents for one agency and year
(a re-issued report, another version) make every pair with that year ambiguous: it is skipped and reported,
never guessed. A break flags both fields ``cross_year_mismatch`` in ``check_flags``, which holds an
unreviewed field in the review queue; each run replaces the previous run's flags (a flag raised again is
kept as it was).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.orm import Session, aliased

from nianbao.schema import load_schema
from nianbao.store import (
    CheckFlagRow,
    ExtractionRow,
    FieldRow,
    MetaReviewRow,
    ReviewRow,
    Store,
    newest_extraction_ids,
)

KIND = "cross_year_mismatch"
OVER, FORWARD = "s3.carried_over", "s3.carried_forward"  # rows of both templates
COLUMNS = tuple(load_schema().sections["s3"].columns)  # the columns of both rows, in both templates
KEYS = tuple(f"{row}.{column}" for row in (OVER, FORWARD) for column in COLUMNS)
BRACKETS = str.maketrans({"（": "(", "）": ")", "［": "[", "］": "]", "｛": "{", "｝": "}"})
SPACE = re.compile(r"\s+")
CHUNK = 5000  # flags deleted per statement


def normalise_agency(name: object) -> str | None:
    """An agency's name for matching: whitespace (full-width too) removed, full-width brackets half-width."""
    if not isinstance(name, str):
        return None
    return SPACE.sub("", name.translate(BRACKETS)) or None


@dataclass
class Report:
    """One document's side of the check: its meta in use and its carried fields (key → id, value in use)."""

    document_id: int
    agency: str | None
    year: int | None
    fields: dict[str, tuple[int, object]] = field(default_factory=dict)


@dataclass(frozen=True)
class Ambiguous:
    """An agency and year held by several documents: pairs with it are skipped."""

    agency: str
    year: int
    documents: tuple[int, ...]


@dataclass
class CheckSummary:
    pairs: int = 0  # consecutive years of one agency compared
    breaks: int = 0  # columns where a pair disagrees
    flagged: int = 0  # fields flagged (two per break)
    skipped: int = 0  # pairs not compared: one of their years has several documents
    ambiguous: list[Ambiguous] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"cross-year check: {self.pairs} pairs checked, {self.breaks} breaks "
            f"({self.flagged} fields flagged), {self.skipped} ambiguous"
        )


def _latest(review, key_column, *where) -> Select:
    """(key, id of the newest review) per key of a review table."""
    return select(key_column.label("key"), func.max(review.id).label("id")).where(*where).group_by(key_column)


def reports_query(document_ids: Iterable[int] | None = None) -> Select:
    """One row per carried field of each document's newest extraction (failed ones left out), with the
    document's extracted and reviewed agency and year and the field's extracted and reviewed value.
    One query for the whole store; ``document_ids`` narrows it."""
    e, f = ExtractionRow, FieldRow
    newest_review = _latest(ReviewRow, ReviewRow.field_id).subquery()
    review = aliased(ReviewRow)
    meta = {}
    for key in ("agency", "year"):
        latest = _latest(MetaReviewRow, MetaReviewRow.document_id, MetaReviewRow.key == key).subquery()
        meta[key] = (latest, aliased(MetaReviewRow))
    (agency_latest, agency), (year_latest, year) = meta["agency"], meta["year"]
    query = (
        select(
            e.document_id,
            e.agency,
            e.year,
            agency.id,
            agency.new_value,
            year.id,
            year.new_value,
            f.id,
            f.key,
            f.value,
            review.id,
            review.new_value,
        )
        .join(f, f.extraction_id == e.id)
        .outerjoin(newest_review, newest_review.c.key == f.id)
        .outerjoin(review, review.id == newest_review.c.id)
        .outerjoin(agency_latest, agency_latest.c.key == e.document_id)
        .outerjoin(agency, agency.id == agency_latest.c.id)
        .outerjoin(year_latest, year_latest.c.key == e.document_id)
        .outerjoin(year, year.id == year_latest.c.id)
        .where(e.id.in_(newest_extraction_ids()), e.state != "failed", f.key.in_(KEYS))
    )
    if document_ids is not None:
        query = query.where(e.document_id.in_(list(document_ids)))
    return query


def meta_query() -> Select:
    """Each document's agency in use (extracted and reviewed), for narrowing a check to some agencies."""
    e = ExtractionRow
    latest = _latest(MetaReviewRow, MetaReviewRow.document_id, MetaReviewRow.key == "agency").subquery()
    agency = aliased(MetaReviewRow)
    return (
        select(e.document_id, e.agency, agency.id, agency.new_value)
        .outerjoin(latest, latest.c.key == e.document_id)
        .outerjoin(agency, agency.id == latest.c.id)
        .where(e.id.in_(newest_extraction_ids()), e.state != "failed")
    )


def load_reports(session: Session, document_ids: Iterable[int] | None = None) -> list[Report]:
    reports: dict[int, Report] = {}
    for (
        document_id,
        agency,
        year,
        agency_review,
        agency_reviewed,
        year_review,
        year_reviewed,
        field_id,
        key,
        value,
        review_id,
        reviewed,
    ) in session.execute(reports_query(document_ids)):
        report = reports.get(document_id)
        if report is None:
            agency = agency_reviewed if agency_review is not None else agency
            year = year_reviewed if year_review is not None else year
            report = reports[document_id] = Report(document_id, normalise_agency(agency), _year(year))
        report.fields[key] = (field_id, reviewed if review_id is not None else value)
    return list(reports.values())


def _year(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Wanted:
    field_id: int
    other_field_id: int
    detail: str


def compare(reports: list[Report]) -> tuple[list[Wanted], CheckSummary]:
    """The flags the reports call for, and what was checked."""
    summary = CheckSummary()
    by_key: dict[tuple[str, int], list[Report]] = {}
    for report in reports:
        if report.agency is not None and report.year is not None:
            by_key.setdefault((report.agency, report.year), []).append(report)
    wanted: list[Wanted] = []
    ambiguous: dict[tuple[str, int], Ambiguous] = {}
    for (agency, year), later in sorted(by_key.items()):
        earlier = by_key.get((agency, year - 1))
        if earlier is None:
            continue
        if len(earlier) > 1 or len(later) > 1:
            summary.skipped += 1
            for y, group in ((year - 1, earlier), (year, later)):
                if len(group) > 1:
                    ambiguous[(agency, y)] = Ambiguous(agency, y, tuple(sorted(r.document_id for r in group)))
            continue
        summary.pairs += 1
        before, after = earlier[0], later[0]
        for column in COLUMNS:
            forward = before.fields.get(f"{FORWARD}.{column}")
            over = after.fields.get(f"{OVER}.{column}")
            if forward is None or over is None or not (_number(forward[1]) and _number(over[1])):
                continue
            if forward[1] == over[1]:
                continue
            detail = (
                f"{year - 1} 结转下年度 = {forward[1]} (doc {before.document_id}), "
                f"{year} 上年结转 = {over[1]} (doc {after.document_id})"
            )
            summary.breaks += 1
            wanted.append(Wanted(forward[0], over[0], detail))
            wanted.append(Wanted(over[0], forward[0], detail))
    summary.flagged = len(wanted)
    summary.ambiguous = [ambiguous[k] for k in sorted(ambiguous)]
    return wanted, summary


def _scope(session: Session, agencies: Iterable[object]) -> list[int]:
    """The documents whose agency in use is one of ``agencies`` (compared normalised)."""
    wanted = {normalise_agency(a) for a in agencies} - {None}
    found = []
    for document_id, agency, review_id, reviewed in session.execute(meta_query()):
        if normalise_agency(reviewed if review_id is not None else agency) in wanted:
            found.append(document_id)
    return found


def check_cross_year(store: Store, agencies: Iterable[object] | None = None) -> CheckSummary:
    """Run the check and store its flags, replacing the previous run's, in one transaction. With
    ``agencies`` only those agencies' documents are checked and only their flags replaced (what a review
    that changes an agency, a year or a carried value asks for)."""
    with store.sessions.begin() as session:
        scope = None if agencies is None else _scope(session, agencies)
        reports = load_reports(session, scope)
        wanted, summary = compare(reports)
        flag = CheckFlagRow
        existing = select(flag.id, flag.field_id, flag.other_field_id, flag.detail).where(flag.kind == KIND)
        if scope is not None:
            ids = [field_id for r in reports for field_id, _ in r.fields.values()]
            existing = existing.where(flag.field_id.in_(ids) | flag.other_field_id.in_(ids))
        kept: dict[tuple[int, int | None], tuple[int, str]] = {}
        gone: list[int] = []
        for flag_id, field_id, other_field_id, detail in session.execute(existing.order_by(flag.id)):
            if (field_id, other_field_id) in kept:
                gone.append(flag_id)  # a twin left by two checks that ran at once
            else:
                kept[(field_id, other_field_id)] = (flag_id, detail)
        new, changed = [], []
        for want in wanted:
            found = kept.pop((want.field_id, want.other_field_id), None)
            if found is None:
                new.append(
                    {
                        "field_id": want.field_id,
                        "other_field_id": want.other_field_id,
                        "kind": KIND,
                        "detail": want.detail,
                    }
                )
            elif found[1] != want.detail:
                changed.append({"id": found[0], "detail": want.detail})
        gone += [flag_id for flag_id, _ in kept.values()]
        # bulk statements: a run over a whole archive is a few round trips, not one per flag
        for at in range(0, len(gone), CHUNK):  # within any database's limit of bound parameters
            session.execute(delete(flag).where(flag.id.in_(gone[at : at + CHUNK])))
        if changed:
            session.execute(update(flag), changed)
        if new:
            session.execute(insert(flag), new)
    return summary
