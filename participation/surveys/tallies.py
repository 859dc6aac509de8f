"""A survey's running counts (``models.SurveyTally``): written with each response's answers,
in the same transaction, and read by the results instead of every answer.

A response's answers are replaced as a whole (``replace_answers``): its earlier answers are
removed and counted out, the new ones added and counted in, in every place the respondent
counts (below; ``PLACES_SQL``). Reading a result then adds up a few rows per question,
option and building whatever the number of respondents (``read``). ``rebuild`` recounts a
survey from its answers, the slow way, and ``mismatches`` compares the two (``flask surveys
check-tallies``).

Where a respondent counts:

- a named owner-basis survey (``weighted``): the person, with their area, in the whole scope
  (building 0) and in each building where they have a dwelling in scope, with the area of
  their dwellings there — as the electorate is counted (``consent.breakdown``);
- otherwise: the response's building (-1 when it has none), with no area; the whole scope is
  the sum of the buildings, each response being in one.

Counted per option: each chosen option; per question (option 0), for questions where one
respondent may choose several options (multiple choice, the menu), the respondents who
answered it — for the others it is the sum of the options; per survey (question 0), its
respondents. Ratings and texts are not counted (comments are read from the answers).
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Integer,
    Numeric,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY

from participation.common.sql import hot_rows, upsert
from participation.counting import Group
from participation.extensions import db
from participation.surveys.models import (
    Answer,
    QuestionType,
    RespondentBasis,
    Response,
    SurveyBuildingElectorate,
    SurveyPerson,
    SurveyPersonDwelling,
    SurveyTally,
)

SLOTS = 8  # rows a cell is split over: concurrent answers seldom update the same one
WHOLE, NO_BUILDING = 0, -1  # building_id of the whole scope; of respondents without one
RESPONDENTS = 0  # question_id: the survey's respondents; option_id: the question's
COUNTED_PER_QUESTION = (QuestionType.MULTIPLE, QuestionType.MENU)
ANSWER_COLUMNS = ("question_id", "option_id", "rating", "text")


def weighted(survey) -> bool:
    """Respondents are persons of the frozen electorate, known by name: counted with their
    area, in each of their buildings (``survey`` or a ``forms.Form``)."""
    return survey.basis is RespondentBasis.OWNER and not survey.anonymous


def counted_per_question(survey) -> list[int]:
    return [q.id for q in survey.questions if q.type in COUNTED_PER_QUESTION]


def slot_of(response_id: int) -> int:
    return response_id % SLOTS


Place = tuple[int, Decimal]  # (building id, area)


def cell_changes(
    removed: Iterable[tuple[int, int | None]],
    added: Iterable[tuple[int, int | None]],
    per_question: Iterable[int],
    first: bool,
    removed_places: Iterable[Place],
    added_places: Iterable[Place],
) -> dict[tuple[int, int, int], tuple[int, Decimal]]:
    """(building, question, option) → (respondents, area) counted in (+) or out (−) when a
    response's ``removed`` answers (question, option), counted in ``removed_places``, are
    replaced by ``added`` ones, counted in ``added_places``; ``first``: the response is new.
    Cells that do not change are left out."""
    per_question = set(per_question)
    delta: Counter = Counter()
    area: dict = defaultdict(Decimal)
    for sign, answers, places in ((-1, removed, removed_places), (1, added, added_places)):
        answers, places = list(answers), list(places)
        keys = [(q, o) for q, o in answers if o is not None]
        keys += [(q, RESPONDENTS) for q in sorted({q for q, _ in answers if q in per_question})]
        if sign == 1 or not first:  # the response itself, moved with its answers
            keys.append((RESPONDENTS, RESPONDENTS))
        for question_id, option_id in keys:
            for building_id, place_area in places:
                delta[building_id, question_id, option_id] += sign
                area[building_id, question_id, option_id] += sign * Decimal(str(place_area))
    return {key: (n, area[key]) for key, n in sorted(delta.items()) if n}


# Writing ----------------------------------------------------------------------------------

# The respondent's places (side, building_id, area), as the module's doc says: side 0 where
# the answers in place were counted, side 1 where the new ones are. A person's places never
# change (:person_id); a response's building may (a resident answering for another of their
# dwellings: :replaced_building_id, then :building_id).
PLACES_SQL = {
    True: """
        SELECT side.n AS side, p.building_id, p.area
        FROM (SELECT 0 AS n UNION ALL SELECT 1) AS side CROSS JOIN (
            SELECT 0 AS building_id, area FROM survey_persons WHERE id = :person_id
            UNION ALL
            SELECT building_id, sum(area) FROM survey_person_dwellings
            WHERE person_id = :person_id GROUP BY building_id
        ) AS p""",
    False: """
        SELECT 0 AS side, CAST(:replaced_building_id AS integer) AS building_id,
            CAST(0 AS numeric) AS area
        UNION ALL
        SELECT 1, CAST(:building_id AS integer), CAST(0 AS numeric)""",
}


@functools.cache
def _replaced_and_tallied(weighted_: bool):
    """PostgreSQL, one statement: the response's earlier answers removed, the new ones added
    (as arrays, one per column) and both counted in the tallies: out of the places where the
    earlier ones were counted, into the respondent's places now.

    Its snapshot is taken after the response's upsert, which waits for a concurrent
    submission of the same respondent: so the removal takes every answer in place, that
    submission's included (in the upsert's own statement it would not see them), and counts
    out exactly what it removes. The tallies' rows are updated in key order, so two answers
    never wait for each other in a circle; a replacement that changes nothing writes none."""
    sql = f"""
    WITH removed AS (
        DELETE FROM survey_answers WHERE response_id = :response_id
        RETURNING question_id, option_id
    ), added AS (
        INSERT INTO survey_answers (response_id, question_id, option_id, rating, text)
        SELECT :response_id, g.question_id, g.option_id, g.rating, g.text
        FROM unnest(:question_ids, :option_ids, :ratings, :texts)
            AS g(question_id, option_id, rating, text)
        RETURNING question_id, option_id
    ), changes AS (
        SELECT 1 AS side, question_id, option_id, 1 AS n FROM added
        WHERE option_id IS NOT NULL
        UNION ALL
        SELECT 0, question_id, option_id, -1 FROM removed WHERE option_id IS NOT NULL
        UNION ALL
        SELECT DISTINCT 1, question_id, 0, 1 FROM added
        WHERE question_id = ANY(:per_question)
        UNION ALL
        SELECT DISTINCT 0, question_id, 0, -1 FROM removed
        WHERE question_id = ANY(:per_question)
        UNION ALL
        SELECT 1, 0, 0, 1
        UNION ALL
        SELECT 0, 0, 0, -1 WHERE NOT :first
    ), places AS ({PLACES_SQL[weighted_]}
    ), tallied AS (
        INSERT INTO survey_tallies AS t
            (survey_id, building_id, question_id, option_id, slot, count, area)
        SELECT :survey_id, p.building_id, c.question_id, c.option_id, :slot,
            sum(c.n), sum(c.n * p.area)
        FROM changes c JOIN places p ON p.side = c.side
        GROUP BY p.building_id, c.question_id, c.option_id
        HAVING sum(c.n) <> 0
        ORDER BY p.building_id, c.question_id, c.option_id
        ON CONFLICT (survey_id, building_id, question_id, option_id, slot) DO UPDATE
        SET count = t.count + excluded.count, area = t.area + excluded.area
    )
    SELECT count(*) AS added FROM added"""
    integers = ARRAY(Integer)
    return (
        text(sql)
        .bindparams(
            bindparam("question_ids", type_=integers),
            bindparam("option_ids", type_=integers),
            bindparam("ratings", type_=integers),
            bindparam("texts", type_=ARRAY(Answer.__table__.c.text.type)),
            bindparam("per_question", type_=integers),
            bindparam("first", type_=Boolean),
        )
        .columns(added=Integer)
    )


@dataclass(frozen=True)
class Respondent:
    """Whom a response is of, for its places: the person (weighted surveys) or the
    response's building now and the one its replaced answers were counted in (None: no
    building)."""

    person_id: int | None
    building_id: int | None
    replaced_building_id: int | None = None


def _building(building_id: int | None) -> int:
    return NO_BUILDING if building_id is None else building_id


def replace_answers(
    survey, response_id: int, first: bool, respondent: Respondent, rows: list[dict]
) -> None:
    """Replace the answers of the response ``response_id`` (just written: ``first`` if it is
    new) by ``rows`` and count the change in the survey's tallies."""
    weighted_ = weighted(survey)
    params = {
        "survey_id": survey.id,
        "response_id": response_id,
        "first": first,
        "slot": slot_of(response_id),
        "person_id": respondent.person_id,
        "building_id": _building(respondent.building_id),
        "replaced_building_id": _building(respondent.replaced_building_id),
        "per_question": counted_per_question(survey),
    }
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        arrays = {f"{column}s": [row[column] for row in rows] for column in ANSWER_COLUMNS}
        hot_rows(_replaced_and_tallied(weighted_), {**params, **arrays})
        return
    removed = connection.execute(
        delete(Answer)
        .where(Answer.response_id == response_id)
        .returning(Answer.question_id, Answer.option_id)
    ).all()
    if rows:
        connection.execute(insert(Answer), [{**row, "response_id": response_id} for row in rows])
    places = connection.execute(text(PLACES_SQL[weighted_]), params).all()
    changed = cell_changes(
        removed,
        ((row["question_id"], row["option_id"]) for row in rows),
        params["per_question"],
        first,
        [(b, area) for side, b, area in places if side == 0],
        [(b, area) for side, b, area in places if side == 1],
    )
    if not changed:
        return
    cells = [
        {
            "survey_id": survey.id,
            "building_id": building_id,
            "question_id": question_id,
            "option_id": option_id,
            "slot": params["slot"],
            "count": n,
            "area": area,
        }
        for (building_id, question_id, option_id), (n, area) in changed.items()
    ]
    stmt = upsert(SurveyTally, connection.dialect.name).values(cells)
    connection.execute(
        stmt.on_conflict_do_update(
            index_elements=[c.name for c in SurveyTally.__table__.primary_key],
            set_={
                "count": SurveyTally.count + stmt.excluded.count,
                "area": SurveyTally.area + stmt.excluded.area,
            },
        )
    )


# Reading ----------------------------------------------------------------------------------


@dataclass
class Tally:
    """A survey's tallies added up over their slots: ``whole[question, option]`` in the whole
    scope, ``buildings[building][question, option]`` per building (-1: no building)."""

    whole: dict[tuple[int, int], Group] = field(default_factory=lambda: defaultdict(Group))
    buildings: dict[int, dict[tuple[int, int], Group]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Group))
    )

    def get(self, question_id: int, option_id: int, building_id: int = WHOLE) -> Group:
        cells = self.whole if building_id == WHOLE else self.buildings.get(building_id, {})
        return cells.get((question_id, option_id), Group())

    @property
    def respondents(self) -> Group:
        return self.get(RESPONDENTS, RESPONDENTS)

    def question_respondents(self, question, building_id: int = WHOLE) -> Group:
        """Respondents who answered ``question`` (an ORM or form question)."""
        if question.type in COUNTED_PER_QUESTION:
            return self.get(question.id, RESPONDENTS, building_id)
        return sum(
            (self.get(question.id, option.id, building_id) for option in question.options),
            Group(),
        )


def read(survey, by_building: bool = True) -> Tally:
    """The survey's tallies in one aggregate over its cells (a few per question, option and
    building, not per respondent); ``by_building`` False: the whole scope only."""
    t = SurveyTally
    stmt = (
        select(t.building_id, t.question_id, t.option_id, func.sum(t.count), func.sum(t.area))
        .where(t.survey_id == survey.id)
        .group_by(t.building_id, t.question_id, t.option_id)
    )
    if not by_building and weighted(survey):
        stmt = stmt.where(t.building_id == WHOLE)
    tally = Tally()
    for building_id, question_id, option_id, cnt, area in db.session.execute(stmt):
        group = Group.of(int(cnt), area)
        if building_id == WHOLE:
            tally.whole[question_id, option_id] = group
            continue
        if by_building:
            tally.buildings[building_id][question_id, option_id] = group
        if not weighted(survey):  # each response in one building: the whole is their sum
            tally.whole[question_id, option_id] += group
    return tally


def electorate_by_building(survey_id: int) -> dict[int, Group]:
    """Owner basis: each building's frozen electorate (``SurveyBuildingElectorate``)."""
    e = SurveyBuildingElectorate
    return {
        building_id: Group.of(cnt, area)
        for building_id, cnt, area in db.session.execute(
            select(e.building_id, e.t_cnt, e.t_area).where(e.survey_id == survey_id)
        )
    }


def freeze_building_electorates(survey_id: int) -> None:
    """At opening, after the electorate is frozen: each building's persons and their area
    there."""
    d = SurveyPersonDwelling
    per_person = (
        select(d.building_id, d.person_id, func.sum(d.area).label("area"))
        .where(d.survey_id == survey_id)
        .group_by(d.building_id, d.person_id)
        .subquery()
    )
    db.session.execute(
        insert(SurveyBuildingElectorate).from_select(
            ["survey_id", "building_id", "t_cnt", "t_area"],
            select(
                bindparam("survey_id", survey_id, type_=Integer),
                per_person.c.building_id,
                func.count(),
                func.sum(per_person.c.area),
            ).group_by(per_person.c.building_id),
        )
    )


# Recounting -------------------------------------------------------------------------------


def _constant(value: int):
    return literal_column(str(value), Integer)


def _recount(survey, by_slot: bool = False):
    """(building_id, question_id, option_id, count, area) of the survey counted from its
    answers, set-based: what the tallies hold, added up over their slots (``by_slot``: per
    slot, with a ``slot`` column before ``count``, as the answer path spreads them)."""
    r, a = Response, Answer
    answered = [
        select(r.id.label("response_id"), a.question_id, a.option_id)
        .join(a, a.response_id == r.id)
        .where(r.survey_id == survey.id, a.option_id.is_not(None)),
        select(r.id, _constant(RESPONDENTS), _constant(RESPONDENTS)).where(
            r.survey_id == survey.id
        ),
    ]
    per_question = counted_per_question(survey)
    if per_question:
        answered.append(
            select(r.id, a.question_id, _constant(RESPONDENTS))
            .join(a, a.response_id == r.id)
            .where(r.survey_id == survey.id, a.question_id.in_(per_question))
            .distinct()
        )
    answered = union_all(*answered).subquery("answered")
    if weighted(survey):
        d = SurveyPersonDwelling
        places = (
            select(
                r.id.label("response_id"),
                _constant(WHOLE).label("building_id"),
                SurveyPerson.area.label("area"),
            )
            .join(SurveyPerson, SurveyPerson.id == r.person_id)
            .where(r.survey_id == survey.id)
            .union_all(
                select(r.id, d.building_id, func.sum(d.area))
                .join(d, d.person_id == r.person_id)
                .where(r.survey_id == survey.id)
                .group_by(r.id, d.building_id)
            )
        )
    else:
        places = select(
            r.id.label("response_id"),
            func.coalesce(r.building_id, NO_BUILDING).label("building_id"),
            cast(_constant(0), Numeric(14, 2)).label("area"),
        ).where(r.survey_id == survey.id)
    places = places.subquery("places")
    key = [places.c.building_id, answered.c.question_id, answered.c.option_id]
    if by_slot:
        key.append((answered.c.response_id % SLOTS).label("slot"))
    return (
        select(*key, func.count(), func.coalesce(func.sum(places.c.area), 0))
        .join(places, places.c.response_id == answered.c.response_id)
        .group_by(*key)
    )


def rebuild(survey) -> None:
    """Recount the survey's tallies from its answers (after a bulk load, or to repair)."""
    db.session.execute(delete(SurveyTally).where(SurveyTally.survey_id == survey.id))
    recount = _recount(survey, by_slot=True).subquery()
    db.session.execute(
        insert(SurveyTally).from_select(
            ["survey_id", "building_id", "question_id", "option_id", "slot", "count", "area"],
            select(bindparam("survey_id", survey.id, type_=Integer), *recount.c),
        )
    )


def mismatches(survey) -> list[dict]:
    """Cells where the tallies and a recount from the answers differ (none: they agree)."""
    kept = read(survey)
    cells = {(WHOLE, *key): g for key, g in kept.whole.items() if weighted(survey)}
    for building_id, groups in kept.buildings.items():
        cells.update({(building_id, *key): g for key, g in groups.items()})
    recounted = db.session.execute(_recount(survey))
    counted = {(b, q, o): Group.of(cnt, area) for b, q, o, cnt, area in recounted}
    return [
        {"building_id": b, "question_id": q, "option_id": o, "tallied": kept_, "counted": got}
        for (b, q, o) in sorted(set(cells) | set(counted))
        for kept_, got in ((cells.get((b, q, o), Group()), counted.get((b, q, o), Group())),)
        if kept_ != got
    ]
