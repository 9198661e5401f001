""""Việc của tôi" lists the stage tasks that wait on the user: council scoring, change requests to decide,
advances that may be paid, completed progress to accept."""

from __future__ import annotations

from conftest import PASSWORD, login

from app.implementation import services as implementation
from app.models import User
from app.notifications import waiting
from tests.stages.conftest import actor


def user(db, person):
    return db.get(User, person.id)


def test_council_members_see_their_unscored_tasks_only(db, people, walk, make_proposal):
    proposal = walk.to_appraisal(make_proposal(people.applicant))
    walk.assign(proposal, people.members[:2])
    assert waiting.council_scoring(db, user(db, people.members[0])) == [proposal]
    assert waiting.council_scoring(db, user(db, people.members[2])) == []  # not assigned
    walk.score(proposal, people.members[0])
    assert waiting.council_scoring(db, user(db, people.members[0])) == []  # scored
    assert waiting.council_scoring(db, user(db, people.members[1])) == [proposal]
    db.commit()


def test_stage_tasks_for_director_and_officer_and_on_the_page(app, db, people, walk, make_proposal):
    proposal = walk.to_implementing(make_proposal(people.applicant, category="training"))
    officer, director = user(db, people.officer), user(db, people.director)
    assert waiting.advances_to_pay(db, officer) == [proposal]  # not machinery: no progress threshold
    assert waiting.advances_to_pay(db, director) == []  # not their action
    assert waiting.changes_to_decide(db, director) == []
    implementation.request_change(db, proposal, actor(db, people.applicant),
                                  {"kind": "extension", "value": "2027-06-30", "reason": "Mưa lũ"})
    db.commit()
    assert waiting.changes_to_decide(db, director) == [proposal]
    assert waiting.progress_to_confirm(db, officer) == []
    walk.progress(proposal, 100, "2026-06")
    assert waiting.progress_to_confirm(db, officer) == [proposal]
    walk.advance(proposal, proposal.requested_support * 70 // 100)  # the whole advance allowance
    assert waiting.advances_to_pay(db, officer) == []
    db.commit()

    client = app.test_client()
    login(client, "giam_doc", PASSWORD)
    page = client.get("/my-work").get_data(as_text=True)
    assert f'id="waiting-change_to_decide-{proposal.id}"' in page


def test_advances_for_machinery_wait_for_the_progress_threshold(db, people, walk, make_proposal):
    proposal = walk.to_implementing(make_proposal(people.applicant))  # machinery
    officer = user(db, people.officer)
    assert waiting.advances_to_pay(db, officer) == []
    walk.progress(proposal, 75, "2026-05")
    assert waiting.advances_to_pay(db, officer) == [proposal]
    db.commit()


def test_each_kind_is_one_query(db, people, walk, make_proposal):
    """Set-based: the number of statements does not grow with the number of proposals."""
    from sqlalchemy import event

    proposals = [walk.to_appraisal(make_proposal(people.applicant)) for _ in range(3)]
    for p in proposals:
        walk.assign(p, people.members[:1])
    member = user(db, people.members[0])
    db.commit()
    statements: list[str] = []
    engine = db.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        found = waiting.council_scoring(db, member)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert sorted(p.id for p in found) == sorted(p.id for p in proposals)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
