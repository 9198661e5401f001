import pytest

from api.world import build_world


@pytest.fixture
def world(db, make_user, make_org, make_proposal):
    return build_world(db, make_user, make_org, make_proposal)
