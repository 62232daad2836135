"""Segments: shared constraints, kept while a flag uses them."""

from __future__ import annotations

import pytest

from nous.flags import service
from tests.flags.conftest import constraint

ACTOR = "admin@nous.test"


def test_segments_in_use_cannot_be_deleted(ctx, make_flag) -> None:
    seg = service.save_segment(None, "staff", [constraint("email", "STR_ENDS_WITH", ["@nous.test"])], actor=ACTOR)
    make_flag("internal", enabled=True, strategies=[{"name": "default", "segments": [seg.id]}])
    with pytest.raises(service.FlagError, match="internal"):
        service.delete_segment(seg.id, actor=ACTOR)
    with pytest.raises(service.FlagError) as err:
        service.save_segment(None, "bad", [constraint("n", "NUM_GT", "many")], actor=ACTOR)
    assert "not a number" in err.value.errors["constraints[0].value"]
    service.archive_flag("internal", actor=ACTOR)
    service.delete_segment(seg.id, actor=ACTOR)
    assert service.list_segments() == []
