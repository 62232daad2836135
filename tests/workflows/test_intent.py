"""A workflow saved from an editor opened on an older version answers 409 with the stored document;
the admin's text is kept, nothing is overwritten."""

from __future__ import annotations

from nous.extensions import db
from nous.workflows import service

DOC = "name: Tidy\ntrigger: manual\nsteps:\n  - id: wait\n    uses: delay\n    with: {seconds: 1}\n"


def test_a_save_on_an_older_version_is_refused_with_the_stored_document(admin_client, ctx) -> None:
    wf = service.create(DOC, "test")
    service.update_workflow(wf.id, DOC.replace("seconds: 1", "seconds: 2"), "other@nous.test")
    mine = DOC.replace("seconds: 1", "seconds: 9")
    resp = admin_client.post(f"/admin/workflows/{wf.id}", data={"document": mine, "version": "1"})
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert "changed by other@nous.test since you opened it (version 1 → 2)" in html
    assert "seconds: 9" in html and "seconds: 2" in html  # the admin's text and the stored one
    assert 'name="version" value="2"' in html  # saving again, knowingly, overwrites version 2
    db.session.rollback()
    assert service.get(wf.id).version == 2 and "seconds: 2" in service.get(wf.id).source
    ok = admin_client.post(f"/admin/workflows/{wf.id}", data={"document": mine, "version": "2"})
    assert ok.status_code == 303
    db.session.rollback()
    assert service.get(wf.id).version == 3 and "seconds: 9" in service.get(wf.id).source
