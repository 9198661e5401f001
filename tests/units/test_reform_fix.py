"""The reform page's orphans (issue 9): each proposal a migration would strand has a button that opens the grant
form pre-filled with the user, role and successor commune; one confirm grants it, audited, and the separation
rules still apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import csrf_token, login

from app.legacy import import_file
from app.models import User
from workflow.audit import events_for

# a file filed in March 2025 in xã Thịnh Đức (05497, abolished on 1 July 2025; now xã Tân Cương, 05503)
OLD_FILE = ("ref,event,date,year,title,category,sector,commune_code,organisation_tax_code,organisation_name,"
            "organisation_kind,total_cost,requested_support\n"
            "HS-01,created,01/03/2025,2025,Máy sao chè,machinery,agro_processing,05497,4600999001,"
            "Hợp tác xã chè Thịnh Đức,cooperative,400000000,180000000\n"
            "HS-01,submitted,05/03/2025,,,,,,,,,,\n")


def test_an_orphan_is_fixed_by_one_prefilled_grant(app: Any, db: Any, make_user: Any, tmp_path: Path) -> None:
    admin = make_user("quantri", "admin", "19")
    officer = make_user("can_bo_cu", "commune_officer", "05497")  # still on the abolished commune
    admin_id, officer_id = admin.id, officer.id  # read now: a later read would open a (locking) SQLite transaction
    path = tmp_path / "cu.csv"
    path.write_text(OLD_FILE, encoding="utf-8")
    import_file(db, path, db.get(User, admin_id), province_code="19")
    db.commit()
    client = app.test_client()
    login(client, "quantri")

    page = client.get("/admin/reform").get_data(as_text=True)
    orphans = page.split('id="orphans"', 1)[1].split("</section>", 1)[0]
    assert 'class="orphan"' in orphans
    link = orphans.split('class="button fix-grant" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert link == f"/admin/users/{officer_id}?role=commune_officer&unit=05503#grant-form"

    form = client.get(link.split("#")[0]).get_data(as_text=True).split('id="grant-form"', 1)[1].split("</form>")[0]
    assert '<option selected value="commune_officer">' in form and '<option selected value="05503">' in form
    token = csrf_token(client, link.split("#")[0])
    granted = client.post(f"/admin/users/{officer_id}/grants",
                          data={"role": "commune_officer", "unit_code": "05503", "csrf_token": token})
    assert granted.status_code == 303
    db.expire_all()
    assert events_for(db, "user", officer_id)[-1].inputs == {"role": "commune_officer", "unit_code": "05503"}
    db.commit()
    after = client.get("/admin/reform").get_data(as_text=True).split('id="orphans"', 1)[1].split("</section>")[0]
    assert 'class="orphan"' not in after  # someone can act on it now

    # the same pre-filled grant to oneself is refused: an administrator never grants themselves a role
    refused = client.post(f"/admin/users/{admin_id}/grants", data={
        "role": "commune_officer", "unit_code": "05503", "csrf_token": csrf_token(client, f"/admin/users/{admin_id}")})
    assert refused.status_code == 422
