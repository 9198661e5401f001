"""The report cube (migration 0016_report_cube) stays equal to the base tables whoever writes them: random
engine transitions and edits, funding decisions written, changed and removed, proposals moved to another unit
or year and deleted, some of it rolled back. After every run ``cube.differences`` (and the checks of the stays
and of their day counts, 0020_stay_median) is empty and the dashboard's counts from the cube equal the ones
computed from the base tables, for a province, district and commune scope.

Trigger cost: each write of a proposal's reported columns or of its funding runs six indexed statements
(take the fact out of its cell, rebuild the fact, put it into its cell, rebuild its few stay rows); each stay
opened or closed one more; ``benchmarks/results-issue11.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from persistence.test_properties import FULL_INPUTS, actors, fitting, pick_trigger
from persistence.world import COMMUNE, DISTRICT, PROVINCE, new_proposal, seed_places
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.models import Proposal
from app.models.stages import BudgetEnvelope, Funding
from app.reports import cube, queries
from app.reports.cube import ReportCube, ReportFact, ReportStayBucket, ReportStayDays
from workflow import operations
from workflow.errors import Conflict, InvalidInput, Refused
from workflow.storage import create_db_engine

M = 1_000_000
THIS_YEAR = (dt.date.today().replace(month=1, day=1), dt.date.today() + dt.timedelta(days=1))  # local dates


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    from app import stage_facts
    from app.models.stages import StageFacts

    StageFacts.use(stage_facts)  # the stage guards' facts, as create_app hands them in
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


def viewer(role: str, unit: str) -> SimpleNamespace:
    """A user as scope_clause reads one: its grants and organisation."""
    return SimpleNamespace(id=0, organisation_id=None, grants=[SimpleNamespace(role=role, unit_code=unit)])


VIEWERS = [viewer("centre_officer", PROVINCE), viewer("district_officer", DISTRICT),
           viewer("commune_officer", COMMUNE), viewer("district_officer", "173")]

steps = st.lists(st.tuples(
    st.sampled_from(["fire", "fire", "fire", "fund", "unfund", "move", "edit", "delete"]),
    st.integers(0, 2),     # which proposal
    st.integers(0, 20),    # which trigger (fire) or amount (fund)
    st.booleans(),         # give the inputs (fire); a second unit (move)
    st.booleans(),         # roll back instead of committing
), min_size=1, max_size=12)


def _write(s: Session, p: Proposal, step: tuple[Any, ...], people: list[Any], envelope_id: int) -> None:
    op, _, pick, flag, _ = step
    if op == "fire":
        trigger = pick_trigger(p.wf_state, pick)
        operations.fire(s, p, trigger, fitting(people, trigger), FULL_INPUTS if flag else None)
    elif op == "fund":  # a decision, or a changed amount (as an approved change writes it)
        existing = s.scalar(select(Funding).where(Funding.proposal_id == p.id))
        if existing is None:
            s.add(Funding(proposal_id=p.id, envelope_id=envelope_id, approved_amount=(pick + 1) * M,
                          decision_number="QĐ", decision_date=dt.date(2024, 3, 1)))
        else:
            existing.approved_amount = (pick + 1) * M
    elif op == "unfund":
        s.execute(delete(Funding).where(Funding.proposal_id == p.id))
    elif op == "move":  # administrative reform: another commune and district, another year
        s.execute(update(Proposal).where(Proposal.id == p.id).values(
            district_code="173" if flag else None, commune_code=None if flag else COMMUNE, year=2020 + pick % 3))
    elif op == "edit":
        s.execute(update(Proposal).where(Proposal.id == p.id).values(
            category="training", requested_support=(pick + 1) * 10 * M, counterpart_funds=pick * M))
    else:
        s.execute(delete(Funding).where(Funding.proposal_id == p.id))  # no ON DELETE CASCADE on SQLite's copy
        s.execute(delete(Proposal).where(Proposal.id == p.id))
    s.flush()


def test_random_writes_keep_the_cube_equal_to_the_base_tables(engine: Engine) -> None:
    with Session(engine) as s:
        org = seed_places(s)
        envelope = BudgetEnvelope(province_code=PROVINCE, fund="Kinh phí khuyến công", year=2024,
                                  amount=10**12, committed=0)
        s.add(envelope)
        s.commit()
        people, envelope_id = actors(org.id), envelope.id

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(steps)
    def run(plan: list[tuple[Any, ...]]) -> None:
        with Session(engine) as s:
            proposals = [new_proposal(s, org) for _ in range(3)]
            s.commit()
            for step in plan:
                p = proposals[step[1]]
                if s.get(Proposal, p.id) is None:
                    continue
                try:
                    _write(s, p, step, people, envelope_id)
                except (Refused, Conflict, InvalidInput):
                    s.rollback()
                    continue
                if step[4]:
                    s.rollback()
                else:
                    s.commit()
                s.expire_all()
            assert cube.differences(s) == []
            assert cube.stay_differences(s) == []
            assert cube.bucket_differences(s) == []
            for user in VIEWERS:
                filters, cond = queries.Filters(), queries.where(user, queries.Filters())
                assert cube.breakdown(s, user, filters) == queries.breakdown(s, cond)
                assert cube.median_durations(s, user, filters) == queries.median_durations(s, cond)
                assert cube.funnel(s, user, filters) == queries.funnel(s, cond)
                assert cube.funnel(s, user, filters, THIS_YEAR) == queries.funnel(s, cond, THIS_YEAR)

    run()
    with Session(engine) as s:
        assert s.scalar(select(ReportFact.proposal_id).limit(1)) is not None  # the runs did write facts
        assert len(set(s.scalars(select(ReportCube.state)))) > 1  # and moved proposals between cells
        assert s.scalar(select(ReportStayDays.stay_id).where(ReportStayDays.days.is_not(None)).limit(1))
        assert s.scalar(select(func.sum(ReportStayBucket.n))) == s.scalar(  # and counted the finished stays
            select(func.count()).where(ReportStayDays.days.is_not(None)))


def test_differences_lists_a_cell_that_disagrees(engine: Engine) -> None:
    with Session(engine) as s:
        org = seed_places(s)
        p = new_proposal(s, org, requested_support=70 * M)
        s.commit()
        assert cube.differences(s) == []
        s.execute(update(ReportCube).values(requested=ReportCube.requested + 1))  # as a broken trigger would
        cell = (PROVINCE, DISTRICT, COMMUNE, "draft", "machinery", "local", 2024)
        reached = (1,) + (0,) * 8  # created, nothing later
        assert [(d.cell, d.expected, d.found) for d in cube.differences(s)] == [
            (cell, (1, 70 * M, 0, 0, *reached), (1, 70 * M + 1, 0, 0, *reached))]
        assert p.wf_state == "draft"
        s.execute(update(ReportStayDays).values(days=3.5))
        assert cube.stay_differences(s) == [s.scalar(select(ReportStayDays.stay_id))]


def test_a_draft_is_outside_every_officers_counts(engine: Engine) -> None:
    """scope_clause shows an officer submitted proposals only; the cube's scope agrees."""
    with Session(engine) as s:
        org = seed_places(s)
        new_proposal(s, org)
        s.commit()
        for user in VIEWERS:
            totals, _, _ = cube.breakdown(s, user, queries.Filters())
            assert totals.count == 0


def test_the_migrations_funnel_stages_are_the_dashboards() -> None:
    """0016_report_cube's triggers mark the stages of queries.FUNNEL as it was; a change to FUNNEL needs a new
    migration that rebuilds the reached_* columns."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0016_report_cube.py"
    spec = importlib.util.spec_from_file_location("report_cube_migration", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert tuple((key, states) for key, _, states in queries.FUNNEL) == migration.FUNNEL
    assert migration.REACHED == cube.REACHED


def test_check_cube_command(app: Any, sample: Any, db: Any) -> None:
    """``flask reports check-cube``: silent agreement on the sample, then the broken cell and exit status 1."""
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reports", "check-cube"])
    assert (result.exit_code, result.output) == (0, "The report cube agrees with the base tables.\n")
    db.execute(update(ReportCube).where(ReportCube.state == "rejected").values(n=2))
    db.commit()
    result = runner.invoke(args=["reports", "check-cube"])
    assert result.exit_code == 1
    assert result.output.startswith("cell ('19', '171', '05785', 'rejected', 'craft_village', 'local', 2018): "
                                    "expected (1, 60000000, 20000000, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0), found (2, ")


def _rows_written(s: Session) -> tuple[int, int]:
    """(deleted, inserted) rows of report_stay_days so far in this transaction (counted by the database)."""
    if s.get_bind().dialect.name == "postgresql":
        row = s.execute(text("SELECT pg_stat_get_xact_tuples_deleted('report_stay_days'::regclass), "
                             "pg_stat_get_xact_tuples_inserted('report_stay_days'::regclass)")).one()
        return int(row[0]), int(row[1])
    row = s.execute(text("SELECT coalesce(sum(kind = 'delete'), 0), coalesce(sum(kind = 'insert'), 0) "
                         "FROM temp.stay_rows_written")).one()
    return int(row[0]), int(row[1])


def test_a_new_stay_adds_its_own_row_and_leaves_the_others(engine: Engine) -> None:
    """0021_fire_writes: a transition's state change restamps the proposal's stay rows (its state is a dimension)
    once, and the stay it opens adds its one row; the other stays are not deleted and inserted a second time."""
    with Session(engine) as s:
        org = seed_places(s)
        people = actors(org.id)
        p = new_proposal(s, org)
        for trigger in ("submit", "return_for_revision", "submit"):  # draft, district_review, returned, …
            operations.fire(s, p, trigger, fitting(people, trigger), FULL_INPUTS)
        s.commit()
        if s.get_bind().dialect.name == "sqlite":
            s.execute(text("CREATE TEMP TABLE stay_rows_written (kind TEXT)"))
            for kind in ("delete", "insert"):
                s.execute(text(f"CREATE TEMP TRIGGER stay_rows_{kind} AFTER {kind.upper()} ON report_stay_days "
                               f"BEGIN INSERT INTO stay_rows_written VALUES ('{kind}'); END"))
            s.commit()
        stays = s.scalar(select(func.count()).select_from(ReportStayDays).where(ReportStayDays.proposal_id == p.id))
        assert p.wf_state == "district_review" and stays == 4
        before = _rows_written(s)
        operations.fire(s, p, "forward", fitting(people, "forward"), FULL_INPUTS)
        after = _rows_written(s)
        assert (after[0] - before[0], after[1] - before[1]) == (stays, stays + 1)
        s.commit()
        assert cube.stay_differences(s) == [] and cube.differences(s) == []
