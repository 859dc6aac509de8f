"""The tally of a vote (计票): totals by headcount and area, the rule's outcome, a breakdown
per building and entrance, and the persons who have not voted yet.

T is the electorate frozen at opening (``vote.t_cnt``, ``vote.t_area``). P and Y come from the
counting ballots (``vote_ballots``: each person's latest cast before the closing time), which
carry their person's area and, for a person whose dwellings in scope lie in one entrance,
that entrance: ``ballot_groups`` and the tally's totals are one aggregate over that table
alone. Abstaining participates; a person without a ballot never counts as agreeing. The
rule is ``counting.evaluate``.

Breakdown: a person counts once in each building (and entrance) where they have a dwelling in
the vote's scope, with the area of their dwellings there. A buyer with dwellings in two
buildings therefore counts in both, so the buildings' headcounts may add up to more than
T_cnt, while their areas add up to T_area exactly. The breakdown is for committees' work;
the rule applies to the whole scope only. It is added up from the electorate of each entrance
frozen at opening (``vote_entrances``), the ballots per entrance and choice, and the few
persons spanning several entrances, dwelling by dwelling: no query reads the electorate.

Everything returned is plain JSON (the shape of ``vote.result``): areas as strings with two
decimals, ratios as exact numerator/denominator with a rounded percentage, times in
Asia/Shanghai.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Select, and_, exists, func, select

from participation.common.errors import conflict
from participation.common.privacy import mask_name, mask_phone
from participation.common.schemas import SHANGHAI
from participation.common.sql import db_now
from participation.counting import CENT, ZERO, Group, Totals, amount, evaluate
from participation.extensions import db
from participation.roster.electorate import DEVELOPER_KEY
from participation.roster.models import Owner
from participation.roster.services import entrances_in_order, natural_key
from participation.votes.decision import decision
from participation.votes.models import (
    Ballot,
    Choice,
    Vote,
    VoteEntrance,
    VotePerson,
    VotePersonDwelling,
    VotePersonOwner,
)
from participation.votes.services import close_if_due

CHOICES = (Choice.AGREE, Choice.DISAGREE, Choice.ABSTAIN)

# Per choice; the key None holds the persons without a ballot.
ByChoice = Mapping[Choice | None, Group]


def ballot_groups(vote_id: int) -> dict[Choice, Group]:
    """Persons who cast a counting ballot, and their area, per choice: one aggregate query."""
    stmt = (
        select(Ballot.choice, func.count(), func.sum(Ballot.area))
        .where(Ballot.vote_id == vote_id)
        .group_by(Ballot.choice)
    )
    return {choice: Group.of(cnt, area) for choice, cnt, area in db.session.execute(stmt)}


def totals_of(t: Group, ballots: ByChoice) -> Totals:
    p = sum((ballots.get(c, Group()) for c in CHOICES), Group())
    y = ballots.get(Choice.AGREE, Group())
    return Totals(t.cnt, t.area, p.cnt, p.area, y.cnt, y.area)


_HUNDRED = Decimal(100)


def ratio(numerator: int | Decimal, denominator: int | Decimal) -> dict:
    """``counting.ratio``, the same answer without its ``Fraction``: the breakdown of a large
    compound computes four per building and entrance (about 2,500 for 10,000 persons), and
    the fractions took most of the live tally's time (bench/live_tally.py). Decimal division
    is correctly rounded, so dividing the unreduced operands gives the reduced fraction's
    percentage to the digit."""
    if not denominator:
        percent = None
    else:
        value = Decimal(numerator) * _HUNDRED / Decimal(denominator)
        percent = str(value.quantize(CENT, rounding=ROUND_HALF_UP))
    if isinstance(numerator, Decimal):
        return {"numerator": amount(numerator), "denominator": amount(denominator),
                "percent": percent}  # fmt: skip
    return {"numerator": int(numerator), "denominator": int(denominator), "percent": percent}


def participation_ratios(totals: Totals) -> dict:
    """参与率: P of T, by headcount and by area."""
    return {
        "count": ratio(totals.p_cnt, totals.t_cnt),
        "area": ratio(totals.p_area, totals.t_area),
    }


def _option(choice: Choice, group: Group) -> dict:
    return {"choice": choice.value, "count": group.cnt, "area": amount(group.area)}


def figures(totals: Totals, ballots: ByChoice) -> dict:
    """T, P and Y, each option by headcount and area, participation (P/T) and agreement (Y/P)."""
    return {
        "t_cnt": totals.t_cnt,
        "t_area": amount(totals.t_area),
        "p_cnt": totals.p_cnt,
        "p_area": amount(totals.p_area),
        "y_cnt": totals.y_cnt,
        "y_area": amount(totals.y_area),
        "options": [_option(c, ballots.get(c, Group())) for c in CHOICES],
        "participation": participation_ratios(totals),
        "agreement": {
            "count": ratio(totals.y_cnt, totals.p_cnt),
            "area": ratio(totals.y_area, totals.p_area),
        },
    }


def _shortfall(shortfall) -> dict:
    return {"persons": shortfall.persons, "area": amount(shortfall.area)}


class _Place:
    """The persons and area per choice (None: no ballot) of a building or an entrance."""

    def __init__(self) -> None:
        self.single: dict[Choice | None, int] = defaultdict(int)
        self.several: dict[Choice | None, set[int]] = defaultdict(set)
        self.area: dict[Choice | None, Decimal] = defaultdict(lambda: ZERO)

    def add(self, choice: Choice | None, cnt: int, area: Decimal) -> None:
        """``cnt`` persons who lie in this place only."""
        self.single[choice] += cnt
        self.area[choice] += area

    def voted(self, choice: Choice, cnt: int, area: Decimal) -> None:
        """``cnt`` of the persons added without a ballot cast ``choice``."""
        self.add(None, -cnt, -area)
        self.add(choice, cnt, area)

    def add_dwelling(self, choice: Choice | None, person_id: int, area: Decimal) -> None:
        """A dwelling of a person spanning several entrances: counted once per place."""
        self.several[choice].add(person_id)
        self.area[choice] += area

    def groups(self) -> dict[Choice | None, Group]:
        return {
            c: Group(self.single[c] + len(self.several[c]), area) for c, area in self.area.items()
        }

    def figures(self) -> dict:
        groups = self.groups()
        return figures(totals_of(sum(groups.values(), Group()), groups), groups)


def _scan(vote: Vote) -> tuple[dict[Choice, Group], dict[int, _Place], dict[int, _Place]]:
    """The counting ballots per choice, and each building and entrance, from three queries:
    the electorate per entrance frozen at opening, the ballots grouped by entrance and choice
    (the entrance None: persons spanning several, counted in the totals as they are), and
    the dwellings of the persons spanning several entrances with their ballots."""
    buildings: dict[int, _Place] = defaultdict(_Place)
    entrances: dict[int, _Place] = defaultdict(_Place)
    building_of: dict[int, int] = {}
    for entrance_id, building_id, t_cnt, t_area in db.session.execute(
        select(
            VoteEntrance.entrance_id, VoteEntrance.building_id, VoteEntrance.t_cnt,
            VoteEntrance.t_area,
        ).where(VoteEntrance.vote_id == vote.id)
    ):  # fmt: skip
        building_of[entrance_id] = building_id
        for place in (entrances[entrance_id], buildings[building_id]):
            place.add(None, t_cnt, t_area)

    ballots: dict[Choice, Group] = defaultdict(Group)
    for entrance_id, choice, cnt, area in db.session.execute(
        select(Ballot.entrance_id, Ballot.choice, func.count(), func.sum(Ballot.area))
        .where(Ballot.vote_id == vote.id)
        .group_by(Ballot.entrance_id, Ballot.choice)
    ):
        ballots[choice] += Group.of(cnt, area)
        if entrance_id is not None:
            for place in (entrances[entrance_id], buildings[building_of[entrance_id]]):
                place.voted(choice, cnt, area)

    d = VotePersonDwelling
    for building_id, entrance_id, choice, person_id, area in db.session.execute(
        select(d.building_id, d.entrance_id, Ballot.choice, d.person_id, d.area)
        .join(VotePerson, VotePerson.id == d.person_id)
        .outerjoin(Ballot, and_(Ballot.vote_id == vote.id, Ballot.person_id == d.person_id))
        .where(VotePerson.vote_id == vote.id, VotePerson.entrance_id.is_(None))
    ):
        for place in (entrances[entrance_id], buildings[building_id]):
            place.add_dwelling(choice, person_id, area)
    return dict(ballots), buildings, entrances


def _breakdown(buildings: dict[int, _Place], entrances: dict[int, _Place]) -> list[dict]:
    """Per building, with its entrances, in natural order."""
    result: dict[int, dict] = {}
    for place in entrances_in_order(entrances):
        if place.building_id not in result:
            result[place.building_id] = {
                "building_id": place.building_id,
                "name": place.building,
                **buildings[place.building_id].figures(),
                "entrances": [],
            }
        result[place.building_id]["entrances"].append(
            {
                "entrance_id": place.entrance_id,
                "name": place.name,
                **entrances[place.entrance_id].figures(),
            }
        )
    return list(result.values())


def tally(vote: Vote) -> dict:
    """The tally of an opened vote as of now: figures, the rule's outcome with what is still
    missing (还需 N 人 / X m²), and the breakdown per building and entrance (see the module's
    doc for who counts where)."""
    ballots, buildings, entrances = _scan(vote)
    totals = totals_of(Group(vote.t_cnt, vote.t_area), ballots)
    outcome = evaluate(vote.rule, totals)
    return {
        "rule": vote.rule.value,
        **figures(totals, ballots),
        "quorum_met": outcome.quorum_met,
        "approved": outcome.approved,
        "passed": outcome.passed,
        "missing": {
            "participation": _shortfall(outcome.participation),
            "agreement": _shortfall(outcome.agreement),
        },
        "buildings": _breakdown(buildings, entrances),
        "computed_at": db_now().astimezone(SHANGHAI).isoformat(),
    }


def final_result(vote: Vote) -> dict:
    """The result stored as ``vote.result`` when the vote closes (``services.close_if_due``,
    which holds the vote row exclusively, so no cast is in flight)."""
    return tally(vote)


def require_opened(vote: Vote) -> None:
    if vote.t_cnt is None:  # a draft: the electorate is frozen at opening
        raise conflict("vote_not_opened", "表决尚未开启，还没有计票")


def committee_tally(vote: Vote) -> dict:
    """Staff: the live tally while the vote is open; once it has closed (closed on read
    here if due), the result stored at closing. ``passed`` is the vote's own rule (the
    live figures while open); ``decision`` the outcome, with the linked common-parts vote
    of an elevator vote (``decision.py``)."""
    require_opened(vote)
    close_if_due(vote)
    return {
        "vote_id": vote.id,
        "status": vote.status.value,
        **(vote.result or tally(vote)),
        "decision": decision(vote),
    }


def progress(vote: Vote) -> dict:
    """Residents: participation (P of T) until the vote closes — never the running split by
    choice — and the result and the decision (``decision.py``) after (null before: even a
    pending decision would say nothing new, and nothing of the running split leaks)."""
    require_opened(vote)
    close_if_due(vote)
    p = sum(ballot_groups(vote.id).values(), Group())  # the split by choice is summed away
    totals = Totals(vote.t_cnt, vote.t_area, p.cnt, p.area, 0, ZERO)
    return {
        "vote_id": vote.id,
        "status": vote.status.value,
        "opens_at": vote.opens_at,
        "closes_at": vote.closes_at,
        "t_cnt": totals.t_cnt,
        "t_area": totals.t_area,
        "p_cnt": totals.p_cnt,
        "p_area": totals.p_area,
        "participation": participation_ratios(totals),
        "result": vote.result,
        "decision": None if vote.result is None else decision(vote),
    }


# Non-voters (入户发动) ---------------------------------------------------------------------


def non_voters_query(
    vote: Vote, building_id: int | None = None, entrance_id: int | None = None
) -> Select:
    """Persons of the electorate without a counting ballot, optionally those with a dwelling
    in one building or entrance."""
    stmt = select(VotePerson).where(
        VotePerson.vote_id == vote.id,
        ~exists().where(Ballot.vote_id == vote.id, Ballot.person_id == VotePerson.id),
    )
    for column, value in (
        (VotePersonDwelling.building_id, building_id),
        (VotePersonDwelling.entrance_id, entrance_id),
    ):
        if value is not None:
            stmt = stmt.where(
                exists().where(VotePersonDwelling.person_id == VotePerson.id, column == value)
            )
    return stmt.order_by(VotePerson.id)


def rooms_of(vote_id: int, person_ids: list[int] | None = None) -> dict[int, list[str]]:
    """Room labels of each person of the vote (or of ``person_ids``)."""
    stmt = select(VotePersonDwelling.person_id, VotePersonDwelling.label).where(
        VotePersonDwelling.vote_id == vote_id
    )
    if person_ids is not None:
        stmt = stmt.where(VotePersonDwelling.person_id.in_(person_ids))
    rooms: dict[int, list[str]] = defaultdict(list)
    for person_id, label in db.session.execute(
        stmt.order_by(VotePersonDwelling.person_id, VotePersonDwelling.dwelling_id)
    ):
        rooms[person_id].append(label)
    return rooms


def owners_of(
    vote_id: int, person_ids: list[int] | None = None
) -> dict[int, list[tuple[str, str | None]]]:
    """(name, phone) of the roster owners behind each person, as frozen at opening."""
    stmt = (
        select(VotePersonOwner.person_id, Owner.name, Owner.phone)
        .join(Owner, Owner.id == VotePersonOwner.owner_id)
        .where(VotePersonOwner.vote_id == vote_id)
    )
    if person_ids is not None:
        stmt = stmt.where(VotePersonOwner.person_id.in_(person_ids))
    owners: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
    for person_id, name, phone in db.session.execute(
        stmt.order_by(VotePersonOwner.person_id, Owner.id)
    ):
        owners[person_id].append((name, phone))
    return owners


def non_voter_views(vote: Vote, persons: list[VotePerson], full_contact: bool) -> list[dict]:
    """Rooms, owners and area of each person. Names and phones in full only with
    ``full_contact`` (staff of the vote's compound, to call them); masked otherwise."""
    ids = [p.id for p in persons]
    rooms, owners = rooms_of(vote.id, ids), owners_of(vote.id, ids)
    return [
        {
            "person_id": p.id,
            "rooms": rooms[p.id],
            "developer": p.key == DEVELOPER_KEY,
            "owners": [
                {
                    "name": name if full_contact else mask_name(name),
                    "phone": (phone or "") if full_contact else mask_phone(phone),
                }
                for name, phone in owners[p.id]
            ],
            "area": p.area,
        }
        for p in persons
    ]


# The door-to-door sheet (入户发动) ----------------------------------------------------------


def door_to_door_entrances(
    vote: Vote, building_id: int | None = None, entrance_id: int | None = None
) -> list[dict]:
    """The entrances of the vote's scope in natural order (2栋 before 10栋), each with its
    progress: persons in total, who took part and who is still missing, by headcount and area
    (counted as in the tally's breakdown: a person with dwellings in two entrances counts in
    both). Optionally one building or one entrance. Households: :func:`door_to_door_households`."""
    _, _, entrances = _scan(vote)
    result = []
    for place in entrances_in_order(entrances, building_id, entrance_id):
        groups = entrances[place.entrance_id].groups()
        total = sum(groups.values(), Group())
        missing = groups.get(None, Group())
        voted = sum((groups.get(c, Group()) for c in CHOICES), Group())
        result.append(
            {
                "building_id": place.building_id,
                "entrance_id": place.entrance_id,
                "building": place.building,
                "entrance": place.entrance,
                "name": place.name,
                "t_cnt": total.cnt,
                "t_area": total.area,
                "voted_cnt": voted.cnt,
                "voted_area": voted.area,
                "missing_cnt": missing.cnt,
                "missing_area": missing.area,
            }
        )
    return result


def door_to_door_households(vote: Vote, groups: list[dict], full_contact: bool) -> list[dict]:
    """``groups`` (of :func:`door_to_door_entrances`) with their households still to visit:
    each dwelling of a person without a counting ballot, by floor then room number, with its
    owners (names and phones masked unless ``full_contact``: the compound's own committee),
    area, and whether a reminder SMS reached one of its owners' phones today."""
    from participation.roster.models import Dwelling
    from participation.votes.tasks import reminded_today

    entrance_ids = [g["entrance_id"] for g in groups]
    if not entrance_ids:
        return groups
    d = VotePersonDwelling
    rows = db.session.execute(
        select(d.entrance_id, d.dwelling_id, d.person_id, d.floor, d.area, d.label, Dwelling.room)
        .join(Dwelling, Dwelling.id == d.dwelling_id)
        .where(
            d.vote_id == vote.id,
            d.entrance_id.in_(entrance_ids),
            ~exists().where(Ballot.vote_id == vote.id, Ballot.person_id == d.person_id),
        )
    ).all()
    person_ids = sorted({r.person_id for r in rows})
    owners: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
    developer: set[int] = set()
    if person_ids:
        for person_id, name, phone in db.session.execute(
            select(VotePersonOwner.person_id, Owner.name, Owner.phone)
            .join(Owner, Owner.id == VotePersonOwner.owner_id)
            .where(VotePersonOwner.vote_id == vote.id, VotePersonOwner.person_id.in_(person_ids))
            .order_by(VotePersonOwner.person_id, Owner.id)
        ):
            owners[person_id].append((name, phone))
        developer = set(
            db.session.scalars(
                select(VotePerson.id).where(
                    VotePerson.id.in_(person_ids), VotePerson.key == DEVELOPER_KEY
                )
            )
        )
    phones = {p for contacts in owners.values() for _, p in contacts if p}
    reminded = reminded_today(vote.compound_id, phones)
    households: dict[int, list[dict]] = defaultdict(list)
    for r in sorted(rows, key=lambda r: (r.floor, natural_key(r.room), r.dwelling_id)):
        contacts = owners[r.person_id]
        households[r.entrance_id].append(
            {
                "dwelling_id": r.dwelling_id,
                "person_id": r.person_id,
                "room": r.room,
                "label": r.label,
                "floor": r.floor,
                "area": r.area,
                "developer": r.person_id in developer,
                "owners": [
                    {
                        "name": name if full_contact else mask_name(name),
                        "phone": (phone or "") if full_contact else mask_phone(phone),
                    }
                    for name, phone in contacts
                ],
                "reminded_today": any(p in reminded for _, p in contacts if p),
            }
        )
    return [{**g, "households": households[g["entrance_id"]]} for g in groups]
